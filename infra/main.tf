# PTHV Reach: the whole service in one root module.
#
#   storage          KMS key, DynamoDB table, drops and reports buckets
#   queue            ingest queue and its DLQ, S3 notification drops/ -> queue
#   functions        api, cohort, ingest, reach, sync (from functions.json), roles, logs, SQS mapping
#   api              HTTP API with IAM auth, the national staff role
#   schedule         nightly full reach recomputation
#   district_access  one role per district (var.districts)
#   monitoring       alarm topic and alarms
#   dashboard        CloudFront in front of the reports bucket's public/ (the dashboard)
#   sis              per SIS connection (var.sis_connections): its secret and nightly schedule; sync alarms
#
# Resource names follow internal/deploy; the Go contract tests in this folder compare them.

locals {
  # Defaults that depend on this module's location (a variable default cannot).
  functions_file = coalesce(var.functions_file, "${path.module}/functions.json")
  package_dir    = coalesce(var.package_dir, "${path.module}/../bin/package")
}

module "storage" {
  source = "./modules/storage"

  name_prefix          = var.name_prefix
  environment          = var.environment
  noncurrent_drop_days = var.noncurrent_drop_days
  report_days          = var.report_days
  plan_days            = var.plan_days
  state_days           = var.state_days

  # The dashboard's distribution reads public/ (origin access control) and decrypts it.
  reports_policy_documents = [module.dashboard.bucket_policy_json]
  key_policy_documents     = [module.dashboard.key_policy_json]
}

module "queue" {
  source = "./modules/queue"

  name_prefix       = var.name_prefix
  kms_key_arn       = module.storage.kms_key_arn
  drops_bucket_name = module.storage.drops_bucket_name
  drops_bucket_arn  = module.storage.drops_bucket_arn
}

module "functions" {
  source = "./modules/functions"

  name_prefix    = var.name_prefix
  functions_file = local.functions_file
  package_dir    = local.package_dir

  table_name          = module.storage.table_name
  table_arn           = module.storage.table_arn
  drops_bucket_name   = module.storage.drops_bucket_name
  drops_bucket_arn    = module.storage.drops_bucket_arn
  reports_bucket_name = module.storage.reports_bucket_name
  reports_bucket_arn  = module.storage.reports_bucket_arn
  ingest_queue_url    = module.queue.queue_url
  ingest_queue_arn    = module.queue.queue_arn
  kms_key_arn         = module.storage.kms_key_arn

  import_checkpoint_margin = var.import_checkpoint_margin
  import_max_run           = var.import_max_run
  import_chunk_ops         = var.import_chunk_ops
  import_lease             = var.import_lease
  log_level                = var.log_level
  log_retention_days       = var.log_retention_days
  ingest_max_concurrency   = var.ingest_max_concurrency
}

module "api" {
  source = "./modules/api"

  name_prefix         = var.name_prefix
  function_name       = module.functions.function_names["api"]
  function_invoke_arn = module.functions.invoke_arns["api"]
  national_principals = var.national_principals
  log_retention_days  = var.log_retention_days
}

module "schedule" {
  source = "./modules/schedule"

  name_prefix        = var.name_prefix
  reach_function_arn = module.functions.function_arns["reach"]
  ingest_queue_arn   = module.queue.queue_arn
  kms_key_arn        = module.storage.kms_key_arn
  sweep_rate         = var.sweep_rate
  nightly_cron       = var.nightly_cron
  timezone           = var.timezone
}

# One role per district: upload under drops/<id>/, read GET /v1/districts/<id>/reach.
module "district_access" {
  source   = "./modules/district_access"
  for_each = var.districts

  name_prefix        = var.name_prefix
  district_id        = each.key
  principals         = each.value
  drops_bucket_arn   = module.storage.drops_bucket_arn
  reports_bucket_arn = module.storage.reports_bucket_arn
  kms_key_arn        = module.storage.kms_key_arn
  api_execution_arn  = module.api.execution_arn
}

module "monitoring" {
  source = "./modules/monitoring"

  name_prefix    = var.name_prefix
  kms_key_arn    = module.storage.kms_key_arn
  alarm_email    = var.alarm_email
  function_names = module.functions.function_names
  serialized_functions = [
    for k, f in jsondecode(file(local.functions_file)).functions : k if f.reserved_concurrency == 1
  ]
  failure_queue_names = {
    ingest_dlq     = module.queue.dlq_name
    scheduler_dlq  = module.schedule.dlq_name
    async_failures = module.functions.async_failures_queue_name
  }
  ingest_log_group_name          = module.functions.log_group_names["ingest"]
  ingest_queue_name              = module.queue.queue_name
  ingest_queue_age_alarm_seconds = var.ingest_queue_age_alarm_seconds
}

# The dashboard: CloudFront in front of public/ of the reports bucket, which the reach function
# writes; staff read the suppressed view through presigned links (pthv reach dashboard).
module "dashboard" {
  source = "./modules/dashboard"

  name_prefix                         = var.name_prefix
  reports_bucket_arn                  = module.storage.reports_bucket_arn
  reports_bucket_regional_domain_name = module.storage.reports_bucket_regional_domain_name
  kms_key_arn                         = module.storage.kms_key_arn
  national_role_name                  = element(split("/", module.api.national_role_arn), 1)
  price_class                         = var.dashboard_price_class
}

module "sis" {
  source = "./modules/sis"

  name_prefix         = var.name_prefix
  sync_function_arn   = module.functions.function_arns["sync"]
  sync_log_group_name = module.functions.log_group_names["sync"]
  alarm_topic_arn     = module.monitoring.topic_arn
  connections         = var.sis_connections
}
