variable "name_prefix" {
  description = "Prefix of the function, role, log group and queue names: functions are \"<prefix>-<name>\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{3,40}$", var.name_prefix))
    error_message = "name_prefix must be 3 to 40 lower case letters, digits or hyphens."
  }
}

variable "functions_file" {
  description = "Path of functions.json: per function its timeout, memory, reserved concurrency, environment variable names and permissions."
  type        = string
}

variable "package_dir" {
  description = "Folder holding one <name>.zip per function (each with a linux/arm64 bootstrap), as written by `make package`."
  type        = string
}

variable "table_name" {
  description = "Name of the DynamoDB table (TABLE_NAME)."
  type        = string
}

variable "table_arn" {
  description = "ARN of the DynamoDB table (symbols table and table_indexes)."
  type        = string
}

variable "drops_bucket_name" {
  description = "Name of the drops bucket (DROPS_BUCKET)."
  type        = string
}

variable "drops_bucket_arn" {
  description = "ARN of the drops bucket (symbols drops_bucket and drops_objects)."
  type        = string
}

variable "reports_bucket_name" {
  description = "Name of the reports bucket (REPORTS_BUCKET)."
  type        = string
}

variable "reports_bucket_arn" {
  description = "ARN of the reports bucket (symbol reports_objects)."
  type        = string
}

variable "ingest_queue_url" {
  description = "URL of the ingest queue (INGEST_QUEUE_URL)."
  type        = string
}

variable "ingest_queue_arn" {
  description = "ARN of the ingest queue (symbol ingest_queue, and the event source of the ingest function)."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key (symbol kms_key)."
  type        = string
}

variable "import_checkpoint_margin" {
  description = "IMPORT_CHECKPOINT_MARGIN: how long before an invocation's deadline an import checkpoints (a Go duration)."
  type        = string
  default     = "90s"

  validation {
    condition     = can(regex("^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$", var.import_checkpoint_margin))
    error_message = "import_checkpoint_margin must be a Go duration such as 90s or 2m."
  }
}

variable "import_max_run" {
  description = "IMPORT_MAX_RUN: the longest one invocation works on an import (a Go duration); 0s means until the checkpoint margin."
  type        = string
  default     = "0s"

  validation {
    condition     = can(regex("^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$", var.import_max_run))
    error_message = "import_max_run must be a Go duration such as 0s or 10m."
  }
}

variable "import_chunk_ops" {
  description = "IMPORT_CHUNK_OPS: writes applied between two checkpoints of an import."
  type        = number
  default     = 5000

  validation {
    condition     = var.import_chunk_ops >= 1 && floor(var.import_chunk_ops) == var.import_chunk_ops
    error_message = "import_chunk_ops must be a whole number of at least 1."
  }
}

variable "import_lease" {
  description = "IMPORT_LEASE: how long an import run's heartbeat lasts (a Go duration); an import whose heartbeat is older is taken over by the next event, drop or sweep."
  type        = string
  default     = "5m"

  validation {
    condition     = can(regex("^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$", var.import_lease))
    error_message = "import_lease must be a Go duration such as 5m."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the functions."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be one of debug, info, warn, error."
  }
}

variable "log_retention_days" {
  description = "Days the functions' CloudWatch logs are kept."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs allows: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "ingest_max_concurrency" {
  description = "Most concurrent ingest invocations the SQS event source mapping starts (2 to 1000)."
  type        = number
  default     = 2

  validation {
    condition     = var.ingest_max_concurrency >= 2 && var.ingest_max_concurrency <= 1000 && floor(var.ingest_max_concurrency) == var.ingest_max_concurrency
    error_message = "ingest_max_concurrency must be a whole number from 2 to 1000 (the limits of SQS event source mappings)."
  }
}
