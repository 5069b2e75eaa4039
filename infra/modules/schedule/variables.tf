variable "name_prefix" {
  description = "Prefix of the schedule, role and DLQ names."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{3,40}$", var.name_prefix))
    error_message = "name_prefix must be 3 to 40 lower case letters, digits or hyphens."
  }
}

variable "reach_function_arn" {
  description = "ARN of the reach function the schedule invokes."
  type        = string
}

variable "ingest_queue_arn" {
  description = "ARN of the ingest queue the sweep message goes to."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key the ingest queue is encrypted with."
  type        = string
}

variable "sweep_rate" {
  description = "Schedule expression of the import sweep (EventBridge Scheduler syntax); keep it shorter than a few leases."
  type        = string
  default     = "rate(10 minutes)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.sweep_rate))
    error_message = "sweep_rate must be a cron(...) or rate(...) expression."
  }
}

variable "nightly_cron" {
  description = "Schedule expression of the nightly full recomputation (EventBridge Scheduler syntax), in var.timezone."
  type        = string
  default     = "cron(15 3 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.nightly_cron))
    error_message = "nightly_cron must be a cron(...) or rate(...) expression."
  }
}

variable "timezone" {
  description = "IANA time zone of the schedule expression."
  type        = string
  default     = "America/Los_Angeles"

  validation {
    condition     = can(regex("^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", var.timezone))
    error_message = "timezone must be an IANA time zone name such as America/Los_Angeles or UTC."
  }
}
