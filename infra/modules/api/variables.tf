variable "name_prefix" {
  description = "Prefix of the API and role names: the API is \"<prefix>-reach-api\", the national staff role \"<prefix>-national\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{3,40}$", var.name_prefix))
    error_message = "name_prefix must be 3 to 40 lower case letters, digits or hyphens."
  }
}

variable "function_name" {
  description = "Name of the api function the routes invoke."
  type        = string
}

variable "function_invoke_arn" {
  description = "Invoke ARN of the api function."
  type        = string
}

variable "national_principals" {
  description = "ARNs of the IAM principals (users, roles, accounts) that may assume the national staff role. Empty: the account, through IAM policies that grant sts:AssumeRole on it."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.national_principals : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:.+$", p))])
    error_message = "national_principals must be IAM or STS ARNs such as arn:aws:iam::123456789012:role/Name."
  }
}

variable "log_retention_days" {
  description = "Days the API access logs are kept."
  type        = number
  default     = 90

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs allows: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second the API accepts across all callers."
  type        = number
  default     = 20

  validation {
    condition     = var.throttling_rate_limit > 0
    error_message = "throttling_rate_limit must be greater than 0."
  }
}

variable "throttling_burst_limit" {
  description = "Burst of requests the API accepts above the steady rate."
  type        = number
  default     = 40

  validation {
    condition     = var.throttling_burst_limit > 0 && floor(var.throttling_burst_limit) == var.throttling_burst_limit
    error_message = "throttling_burst_limit must be a whole number greater than 0."
  }
}
