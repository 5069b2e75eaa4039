output "table_name" {
  description = "DynamoDB table (TABLE_NAME)."
  value       = module.pthv_reach.table_name
}

output "drops_bucket" {
  description = "Drops bucket (DROPS_BUCKET)."
  value       = module.pthv_reach.drops_bucket
}

output "reports_bucket" {
  description = "Reports bucket (REPORTS_BUCKET)."
  value       = module.pthv_reach.reports_bucket
}

output "ingest_queue_url" {
  description = "Ingest queue URL (INGEST_QUEUE_URL)."
  value       = module.pthv_reach.ingest_queue_url
}

output "api_endpoint" {
  description = "Base URL of the reach API (REACH_API_URL)."
  value       = module.pthv_reach.api_endpoint
}

output "function_names" {
  description = "Lambda function names by function."
  value       = module.pthv_reach.function_names
}

output "national_role_arn" {
  description = "ARN of the national staff role."
  value       = module.pthv_reach.national_role_arn
}

output "district_role_arns" {
  description = "ARN of each district's role, by district id."
  value       = module.pthv_reach.district_role_arns
}

output "alarm_topic_arn" {
  description = "ARN of the alarm topic."
  value       = module.pthv_reach.alarm_topic_arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key."
  value       = module.pthv_reach.kms_key_arn
}

output "cli_environment" {
  description = "Environment variables for `pthv` against this deployment."
  value       = module.pthv_reach.cli_environment
}

output "dashboard_url" {
  description = "The dashboard (DASHBOARD_URL)."
  value       = module.pthv_reach.dashboard_url
}
