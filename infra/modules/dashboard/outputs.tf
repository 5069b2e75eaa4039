output "url" {
  description = "The dashboard's address (DASHBOARD_URL): the public page, and staff.html for `pthv reach dashboard`."
  value       = "https://${aws_cloudfront_distribution.this.domain_name}"
}

output "distribution_arn" {
  description = "ARN of the distribution."
  value       = aws_cloudfront_distribution.this.arn
}

output "bucket_policy_json" {
  description = "Statements the reports bucket's policy must include: reads of public/ by this distribution only."
  value       = local.bucket_policy_json
}

output "key_policy_json" {
  description = "Statements the KMS key's policy must include: decryption for this distribution."
  value       = local.key_policy_json
}

output "content_security_policy" {
  description = "The Content-Security-Policy of every response."
  value       = local.content_security_policy
}
