variable "name_prefix" {
  description = "Prefix of the secret, schedule, role, queue and alarm names."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{3,40}$", var.name_prefix))
    error_message = "name_prefix must be 3 to 40 lower case letters, digits or hyphens."
  }
}

variable "sync_function_arn" {
  description = "ARN of the sync function the schedules invoke."
  type        = string
}

variable "sync_log_group_name" {
  description = "Log group of the sync function (for the held/failed runs alarm)."
  type        = string
}

variable "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  type        = string
}

variable "connections" {
  description = "SIS connections, keyed \"<districtId>/<connectionId>\" (as `pthv sync add` names them): the schedule expression of each nightly run (EventBridge Scheduler syntax, in the district's off-peak window) and its IANA time zone. Each gets a Secrets Manager secret \"<prefix>/sis/<districtId>/<connectionId>\" whose value `pthv sync add` sets (never Terraform) and a schedule."
  type = map(object({
    provider = optional(string, "oneroster-1.2")
    schedule = optional(string, "cron(30 2 * * ? *)")
    timezone = optional(string, "America/Los_Angeles")
  }))
  default = {}

  validation {
    condition     = alltrue([for c in values(var.connections) : contains(["oneroster-1.1", "oneroster-1.2", "clever"], c.provider)])
    error_message = "each provider must be oneroster-1.1, oneroster-1.2 or clever."
  }

  validation {
    condition     = alltrue([for k in keys(var.connections) : can(regex("^[0-9A-Za-z._-]{1,64}/[0-9A-Za-z._-]{1,64}$", k))])
    error_message = "each key must be \"<districtId>/<connectionId>\", both 1-64 characters of A-Z a-z 0-9 . _ -."
  }

  validation {
    condition     = alltrue([for c in values(var.connections) : can(regex("^(cron|rate)\\(.+\\)$", c.schedule))])
    error_message = "each schedule must be a cron(...) or rate(...) expression."
  }
}
