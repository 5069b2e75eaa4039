# ---------------------------------------------------------------------------------------------
# Identity of the deployment
# ---------------------------------------------------------------------------------------------

variable "name_prefix" {
  description = "Prefix of every resource name (internal/deploy.NamesFor): table \"<prefix>\", buckets \"<prefix>-drops\" and \"<prefix>-reports\", queues \"<prefix>-ingest\" and \"<prefix>-ingest-dlq\", functions \"<prefix>-<name>\", roles \"<prefix>-national\" and \"<prefix>-district-<id>\". Bucket names are global: pick a prefix no one else uses."
  type        = string
  default     = "pthv-reach"

  validation {
    condition     = can(regex("^[a-z0-9-]{3,40}$", var.name_prefix))
    error_message = "name_prefix must be 3 to 40 lower case letters, digits or hyphens (valid for S3, SQS, DynamoDB and IAM names)."
  }

  validation {
    condition     = can(regex("^[a-z0-9]", var.name_prefix))
    error_message = "name_prefix must start with a letter or digit (S3 bucket names do)."
  }
}

variable "environment" {
  description = "dev, staging or production. Production turns on the table's deletion protection, never force-destroys a bucket and gives the KMS key a 30-day deletion window."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "production"], var.environment)
    error_message = "environment must be one of dev, staging, production."
  }
}

# ---------------------------------------------------------------------------------------------
# Code
# ---------------------------------------------------------------------------------------------

variable "functions_file" {
  description = "Path of functions.json (limits, environment variable names and permissions per function). Null: the functions.json next to this module."
  type        = string
  default     = null
}

variable "package_dir" {
  description = "Folder with one <name>.zip per function, as `make package` writes them (bin/package). Null: bin/package of the repository this module is in."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------------------------

variable "noncurrent_drop_days" {
  description = "Days an overwritten (noncurrent) version of a drop is kept in the drops bucket."
  type        = number
  default     = 365

  validation {
    condition     = var.noncurrent_drop_days > 0 && floor(var.noncurrent_drop_days) == var.noncurrent_drop_days
    error_message = "noncurrent_drop_days must be a whole number of days greater than 0."
  }
}

variable "report_days" {
  description = "Days import reports and cohort CSVs (reports/ in the reports bucket) are kept. The published reach views (public/, published/) never expire."
  type        = number
  default     = 730

  validation {
    condition     = var.report_days > 0 && floor(var.report_days) == var.report_days
    error_message = "report_days must be a whole number of days greater than 0."
  }
}

variable "plan_days" {
  description = "Days an import's plan (plans/ in the reports bucket) is kept: the approval window of a held import. At least 30."
  type        = number
  default     = 90

  validation {
    condition     = var.plan_days >= 30 && floor(var.plan_days) == var.plan_days
    error_message = "plan_days must be a whole number of days, at least 30: a held import must stay approvable for a month."
  }
}

variable "state_days" {
  description = "Days a roster snapshot (state/ in the reports bucket) is kept; without one the importer reads the table."
  type        = number
  default     = 35

  validation {
    condition     = var.state_days > 0 && floor(var.state_days) == var.state_days
    error_message = "state_days must be a whole number of days greater than 0."
  }
}

variable "ingest_queue_age_alarm_seconds" {
  description = "Age in seconds of the oldest message on the ingest queue above which an alarm fires (drops or continuations not taken up). At least 960, the queue's visibility timeout: a message redelivered once after a run died is that old and healthy."
  type        = number
  default     = 3600

  validation {
    condition     = var.ingest_queue_age_alarm_seconds >= 960 && floor(var.ingest_queue_age_alarm_seconds) == var.ingest_queue_age_alarm_seconds
    error_message = "ingest_queue_age_alarm_seconds must be a whole number of seconds, at least 960 (the ingest queue's visibility timeout): under it the alarm fires on healthy redeliveries."
  }
}

variable "log_retention_days" {
  description = "Days the functions' logs and the API's access logs are kept in CloudWatch Logs."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs allows: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

# ---------------------------------------------------------------------------------------------
# Function settings (environment variables; see the README, "pthv local")
# ---------------------------------------------------------------------------------------------

variable "import_checkpoint_margin" {
  description = "IMPORT_CHECKPOINT_MARGIN: how long before an invocation's deadline an import checkpoints and continues in a new invocation (a Go duration)."
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
  description = "IMPORT_CHUNK_OPS: writes an import applies between two checkpoints."
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
  description = "LOG_LEVEL of the functions: debug, info, warn or error."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be one of debug, info, warn, error."
  }
}

variable "ingest_max_concurrency" {
  description = "Most ingest invocations the SQS event source mapping runs at once (2 to 1000). Low values protect the table's write capacity."
  type        = number
  default     = 2

  validation {
    condition     = var.ingest_max_concurrency >= 2 && var.ingest_max_concurrency <= 1000 && floor(var.ingest_max_concurrency) == var.ingest_max_concurrency
    error_message = "ingest_max_concurrency must be a whole number from 2 to 1000 (the limits of SQS event source mappings)."
  }
}

# ---------------------------------------------------------------------------------------------
# Nightly recomputation
# ---------------------------------------------------------------------------------------------

variable "sweep_rate" {
  description = "Schedule expression of the import sweep, which takes over stranded imports and imports waiting drops."
  type        = string
  default     = "rate(10 minutes)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.sweep_rate))
    error_message = "sweep_rate must be a cron(...) or rate(...) expression."
  }
}

variable "nightly_cron" {
  description = "EventBridge Scheduler expression of the nightly full reach recomputation, in var.timezone."
  type        = string
  default     = "cron(15 3 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.nightly_cron))
    error_message = "nightly_cron must be a cron(...) or rate(...) expression."
  }
}

variable "timezone" {
  description = "IANA time zone of var.nightly_cron."
  type        = string
  default     = "America/Los_Angeles"

  validation {
    condition     = can(regex("^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", var.timezone))
    error_message = "timezone must be an IANA time zone name such as America/Los_Angeles or UTC."
  }
}

# ---------------------------------------------------------------------------------------------
# Who may call the API and upload drops
# ---------------------------------------------------------------------------------------------

variable "national_principals" {
  description = "ARNs of the IAM principals that may assume the national staff role (\"<prefix>-national\"). Empty: principals of this account granted sts:AssumeRole on it by their own IAM policies."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.national_principals : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:.+$", p))])
    error_message = "national_principals must be IAM or STS ARNs such as arn:aws:iam::123456789012:role/Name."
  }
}

variable "districts" {
  description = "Districts given upload and API access: district id (as in `pthv districts add --id`) => ARNs of the principals that may assume its role \"<prefix>-district-<id>\" (empty list: principals of this account granted sts:AssumeRole by their own IAM policies)."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for id in keys(var.districts) : length(id) <= 64 && can(regex("^[0-9A-Za-z][0-9A-Za-z_-]*(\\.[0-9A-Za-z_-]+)*$", id))])
    error_message = "Each district id must be 1 to 64 letters, digits, dots, underscores or hyphens, starting with a letter or digit, with no two dots in a row and none at the end."
  }

  validation {
    condition     = alltrue(flatten([for ps in values(var.districts) : [for p in ps : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:.+$", p))]]))
    error_message = "District principals must be IAM or STS ARNs such as arn:aws:iam::123456789012:role/Name."
  }
}

# ---------------------------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------------------------

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (it must confirm the subscription); empty for none."
  type        = string
  default     = ""

  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address or empty."
  }
}

variable "dashboard_price_class" {
  description = "CloudFront price class of the dashboard's distribution (PriceClass_100: North America and Europe)."
  type        = string
  default     = "PriceClass_100"
}

# ---------------------------------------------------------------------------------------------
# SIS connections
# ---------------------------------------------------------------------------------------------

variable "sis_connections" {
  description = "SIS connections keyed \"<districtId>/<connectionId>\" (register each with `pthv sync add`, which also stores its client secret or, for clever, its district-app token): the provider (oneroster-1.1, oneroster-1.2 or clever), the nightly schedule expression and IANA time zone. Each gets a Secrets Manager secret and an EventBridge Scheduler schedule that starts the sync function."
  type = map(object({
    provider = optional(string, "oneroster-1.2")
    schedule = optional(string, "cron(30 2 * * ? *)")
    timezone = optional(string, "America/Los_Angeles")
  }))
  default = {}

  validation {
    condition     = alltrue([for c in values(var.sis_connections) : contains(["oneroster-1.1", "oneroster-1.2", "clever"], c.provider)])
    error_message = "each sis_connections provider must be oneroster-1.1, oneroster-1.2 or clever (internal/sis: the providers a connection may name)."
  }

  validation {
    condition     = alltrue([for k in keys(var.sis_connections) : can(regex("^[0-9A-Za-z._-]{1,64}/[0-9A-Za-z._-]{1,64}$", k))])
    error_message = "each key of sis_connections must be \"<districtId>/<connectionId>\"."
  }

  # Terraform names a connection's schedule <prefix>-sync-<districtId>-<connectionId>, so
  # "demo-usd/sis" and "demo/usd-sis" would be one schedule (the CLI's names carry a hash).
  validation {
    condition     = length(distinct([for k in keys(var.sis_connections) : replace(k, "/", "-")])) == length(var.sis_connections)
    error_message = "two sis_connections keys name the same schedule once '/' becomes '-' (e.g. \"demo-usd/sis\" and \"demo/usd-sis\"): rename a connection."
  }
}
