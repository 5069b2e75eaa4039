variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-west-2"
}

variable "name_prefix" {
  description = "Prefix of every resource name (bucket names are global: pick one no one else uses)."
  type        = string
  default     = "pthv-reach"
}

variable "environment" {
  description = "dev, staging or production."
  type        = string
  default     = "production"
}

variable "national_principals" {
  description = "ARNs of the principals that may assume the national staff role."
  type        = list(string)
  default     = []
}

variable "districts" {
  description = "District id => ARNs of the principals that may assume the district's role."
  type        = map(list(string))
  default     = {}
}

variable "alarm_email" {
  description = "E-mail address for alarms; empty for none."
  type        = string
  default     = ""
}

variable "log_level" {
  description = "LOG_LEVEL of the functions."
  type        = string
  default     = "info"
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the functions' and the API's logs."
  type        = number
  default     = 90
}

variable "nightly_cron" {
  description = "Schedule expression of the nightly reach recomputation."
  type        = string
  default     = "cron(15 3 * * ? *)"
}

variable "timezone" {
  description = "Time zone of nightly_cron."
  type        = string
  default     = "America/Los_Angeles"
}

variable "tags" {
  description = "Tags on every resource (provider default_tags)."
  type        = map(string)
  default = {
    project = "pthv-reach"
  }
}
