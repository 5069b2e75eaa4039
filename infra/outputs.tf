output "table_name" {
  description = "DynamoDB table (TABLE_NAME)."
  value       = module.storage.table_name
}

output "drops_bucket" {
  description = "Drops bucket (DROPS_BUCKET): districts upload to drops/<district>/…"
  value       = module.storage.drops_bucket_name
}

output "reports_bucket" {
  description = "Reports bucket (REPORTS_BUCKET): import reports, cohort CSVs, published reach views."
  value       = module.storage.reports_bucket_name
}

output "ingest_queue_url" {
  description = "Ingest queue URL (INGEST_QUEUE_URL)."
  value       = module.queue.queue_url
}

output "api_endpoint" {
  description = "Base URL of the reach API (REACH_API_URL)."
  value       = module.api.api_endpoint
}

output "function_names" {
  description = "Deployed Lambda function names by function (COHORT_FUNCTION is function_names[\"cohort\"], REACH_FUNCTION function_names[\"reach\"])."
  value       = module.functions.function_names
}

output "national_role_arn" {
  description = "ARN of the national staff role (every API route)."
  value       = module.api.national_role_arn
}

output "district_role_arns" {
  description = "ARN of each district's role, by district id."
  value       = { for id, d in module.district_access : id => d.role_arn }
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic every alarm notifies."
  value       = module.monitoring.topic_arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the table, buckets, ingest queues and alarm topic."
  value       = module.storage.kms_key_arn
}

output "cli_environment" {
  description = "The environment variables `pthv` needs to work against this deployment (besides AWS credentials and region)."
  value = {
    TABLE_NAME       = module.storage.table_name
    DROPS_BUCKET     = module.storage.drops_bucket_name
    REPORTS_BUCKET   = module.storage.reports_bucket_name
    INGEST_QUEUE_URL = module.queue.queue_url
    COHORT_FUNCTION  = module.functions.function_names["cohort"]
    REACH_FUNCTION   = module.functions.function_names["reach"]
    ROLE_PREFIX      = var.name_prefix
    REACH_API_URL    = module.api.api_endpoint
    DASHBOARD_URL    = module.dashboard.url
  }
}

output "dashboard_url" {
  description = "The dashboard (DASHBOARD_URL): the public page; staff get a signed link to staff.html from `pthv reach dashboard`."
  value       = module.dashboard.url
}

output "sis_secret_names" {
  description = "Secrets Manager names of the SIS connections' client secrets (values set by `pthv sync add`)."
  value       = module.sis.secret_names
}

output "sync_schedule_names" {
  description = "EventBridge Scheduler schedules of the SIS connections."
  value       = module.sis.schedule_names
}
