variable "name_prefix" {
  description = "Prefix of every resource name: the table is named after it, the buckets are \"<prefix>-drops\" and \"<prefix>-reports\"."
  type        = string

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
  description = "Deployment environment. In production the table has deletion protection, the buckets are never force-destroyed and the key has a 30-day deletion window."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "production"], var.environment)
    error_message = "environment must be one of dev, staging, production."
  }
}

variable "noncurrent_drop_days" {
  description = "Days an overwritten (noncurrent) version of a drop is kept before it expires."
  type        = number
  default     = 365

  validation {
    condition     = var.noncurrent_drop_days > 0 && floor(var.noncurrent_drop_days) == var.noncurrent_drop_days
    error_message = "noncurrent_drop_days must be a whole number of days greater than 0."
  }
}

variable "report_days" {
  description = "Days an object under reports/ in the reports bucket (import reports, cohort CSVs) is kept. public/ and published/ never expire."
  type        = number
  default     = 730

  validation {
    condition     = var.report_days > 0 && floor(var.report_days) == var.report_days
    error_message = "report_days must be a whole number of days greater than 0."
  }
}

variable "plan_days" {
  description = "Days a planned import's writes (plans/ in the reports bucket) are kept: the approval window of a held import. Approving a held import whose plan has expired is refused and it stays held."
  type        = number
  default     = 90

  validation {
    condition     = var.plan_days >= 30 && floor(var.plan_days) == var.plan_days
    error_message = "plan_days must be a whole number of days, at least 30: a held import must stay approvable for a month."
  }
}

variable "state_days" {
  description = "Days a roster snapshot (state/ in the reports bucket) is kept. The importer reads the district's roster from the table when its snapshot is gone, so any length is safe; a snapshot older than the last import is never read."
  type        = number
  default     = 35

  validation {
    condition     = var.state_days > 0 && floor(var.state_days) == var.state_days
    error_message = "state_days must be a whole number of days greater than 0."
  }
}

variable "reports_policy_documents" {
  description = "IAM policy documents (JSON) whose statements the reports bucket's policy includes besides its own (the dashboard module's bucket_policy_json)."
  type        = list(string)
  default     = []
}

variable "key_policy_documents" {
  description = "IAM policy documents (JSON) whose statements the KMS key's policy includes besides its own (the dashboard module's key_policy_json)."
  type        = list(string)
  default     = []
}
