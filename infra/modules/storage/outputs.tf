output "kms_key_arn" {
  description = "ARN of the customer managed KMS key."
  value       = aws_kms_key.this.arn
}

output "kms_key_alias" {
  description = "Alias of the KMS key."
  value       = aws_kms_alias.this.name
}

output "table_name" {
  description = "Name of the DynamoDB table."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the DynamoDB table."
  value       = aws_dynamodb_table.this.arn
}

output "drops_bucket_name" {
  description = "Name of the drops bucket."
  value       = aws_s3_bucket.drops.id
}

output "drops_bucket_arn" {
  description = "ARN of the drops bucket."
  value       = aws_s3_bucket.drops.arn
}

output "reports_bucket_name" {
  description = "Name of the reports bucket."
  value       = aws_s3_bucket.reports.id
}

output "reports_bucket_arn" {
  description = "ARN of the reports bucket."
  value       = aws_s3_bucket.reports.arn
}

output "reports_bucket_regional_domain_name" {
  description = "Regional domain name of the reports bucket (the dashboard's origin)."
  value       = aws_s3_bucket.reports.bucket_regional_domain_name
}
