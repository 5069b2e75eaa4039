variable "name_prefix" {
  description = "Prefix of the topic, metric filter and alarm names."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{3,40}$", var.name_prefix))
    error_message = "name_prefix must be 3 to 40 lower case letters, digits or hyphens."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the alarm topic (its policy must let cloudwatch.amazonaws.com use it)."
  type        = string
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic; empty for none."
  type        = string
  default     = ""

  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address or empty."
  }
}

variable "function_names" {
  description = "Deployed function names by function; each gets an Errors and a Throttles alarm."
  type        = map(string)
}

variable "failure_queue_names" {
  description = "Queues that should stay empty (dead-letter and failure queues) by role; each gets an alarm on visible messages."
  type        = map(string)
}

variable "ingest_log_group_name" {
  description = "Log group of the ingest function, where held imports are logged."
  type        = string
}

variable "ingest_queue_name" {
  description = "Name of the ingest queue, whose oldest message's age is alarmed on."
  type        = string
}

variable "ingest_queue_age_alarm_seconds" {
  description = "Age in seconds of the ingest queue's oldest message above which the alarm fires; at least 960, the queue's visibility timeout."
  type        = number
  default     = 3600

  validation {
    condition     = var.ingest_queue_age_alarm_seconds >= 960
    error_message = "ingest_queue_age_alarm_seconds must be at least 960 (the ingest queue's visibility timeout)."
  }
}

variable "serialized_functions" {
  description = "Functions (base names) that run one at a time by design; they get no throttles alarm."
  type        = list(string)
  default     = []
}
