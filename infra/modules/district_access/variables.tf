variable "name_prefix" {
  description = "Prefix of the deployment's names: the role is \"<prefix>-district-<district_id>\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{3,40}$", var.name_prefix))
    error_message = "name_prefix must be 3 to 40 lower case letters, digits or hyphens."
  }
}

variable "district_id" {
  description = "The district's id: the {districtId} of drops/{districtId}/ and of `pthv districts add --id` (letters, digits, dot, underscore, hyphen)."
  type        = string

  validation {
    condition     = length(var.district_id) <= 64 && can(regex("^[0-9A-Za-z][0-9A-Za-z_-]*(\\.[0-9A-Za-z_-]+)*$", var.district_id))
    error_message = "district_id must be 1 to 64 letters, digits, dots, underscores or hyphens, starting with a letter or digit, with no two dots in a row and none at the end."
  }
}

variable "principals" {
  description = "ARNs of the IAM principals (district IT users or roles, or a district's AWS account) that may assume the district's role. Empty: the account, through IAM policies that grant sts:AssumeRole on it."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.principals : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:.+$", p))])
    error_message = "principals must be IAM or STS ARNs such as arn:aws:iam::123456789012:role/Name."
  }
}

variable "drops_bucket_arn" {
  description = "ARN of the drops bucket."
  type        = string
}

variable "reports_bucket_arn" {
  description = "ARN of the reports bucket (the district reads its own import reports)."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the drops bucket."
  type        = string
}

variable "api_execution_arn" {
  description = "Execution ARN of the reach API."
  type        = string
}
