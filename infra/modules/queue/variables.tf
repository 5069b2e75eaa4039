variable "name_prefix" {
  description = "Prefix of the queue names: \"<prefix>-ingest\" and \"<prefix>-ingest-dlq\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{3,40}$", var.name_prefix))
    error_message = "name_prefix must be 3 to 40 lower case letters, digits or hyphens."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts both queues (its policy must let s3.amazonaws.com use it)."
  type        = string
}

variable "drops_bucket_name" {
  description = "Name of the drops bucket whose object-created events go to the ingest queue."
  type        = string
}

variable "drops_bucket_arn" {
  description = "ARN of the drops bucket (the only source the queue policy admits)."
  type        = string
}
