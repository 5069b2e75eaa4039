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

output "reports_expiry_days" {
  description = "Days after which objects expire in the reports bucket, by prefix (reports/, plans/, state/); public/ and published/ never expire."
  value = {
    for r in aws_s3_bucket_lifecycle_configuration.reports.rule : r.filter[0].prefix => r.expiration[0].days
    if length(r.expiration) > 0
  }
}
