variable "name_prefix" {
  description = "Prefix of the resource names."
  type        = string
}

variable "reports_bucket_arn" {
  description = "ARN of the reports bucket."
  type        = string
}

variable "reports_bucket_regional_domain_name" {
  description = "Regional domain name of the reports bucket (bucket.s3.region.amazonaws.com): the origin, and the host that `pthv reach dashboard` presigns for."
  type        = string
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the reports bucket."
  type        = string
}

variable "national_role_name" {
  description = "Name of the national staff role, which may read the whole suppressed view."
  type        = string
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "cache_seconds" {
  description = "How long CloudFront keeps the public pages and figures (seconds)."
  type        = number
  default     = 300

  validation {
    condition     = var.cache_seconds >= 0 && var.cache_seconds <= 86400
    error_message = "cache_seconds must be between 0 and 86400."
  }
}
