# The Lambda functions, one per entry of functions.json (the list the Go code and tests read
# too): its limits, the environment variables its code reads, and the AWS actions it calls on
# which resources. Each function gets its own role whose only policy is built from that entry,
# plus writing its own logs and sending failed asynchronous invocations to the async-failures
# queue.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  functions = jsondecode(file(var.functions_file))["functions"]

  reach_function_name = "${var.name_prefix}-reach"
  sync_function_name  = "${var.name_prefix}-sync"

  # The values of the environment variables the functions may ask for (see the README,
  # "pthv local"). A name in functions.json that is missing here fails the plan.
  env_values = {
    TABLE_NAME               = var.table_name
    DROPS_BUCKET             = var.drops_bucket_name
    REPORTS_BUCKET           = var.reports_bucket_name
    INGEST_QUEUE_URL         = var.ingest_queue_url
    REACH_FUNCTION           = local.reach_function_name
    SYNC_FUNCTION            = local.sync_function_name
    ROLE_PREFIX              = var.name_prefix
    IMPORT_CHECKPOINT_MARGIN = var.import_checkpoint_margin
    IMPORT_MAX_RUN           = var.import_max_run
    IMPORT_CHUNK_OPS         = tostring(var.import_chunk_ops)
    LOG_LEVEL                = var.log_level
  }

  # The symbolic resources of functions.json, as ARNs. The reach function's ARN is spelled out
  # rather than read from aws_lambda_function.this["reach"]: the ingest function's role names
  # it, and a reference would make the roles depend on the functions they belong to.
  arns = {
    table           = var.table_arn
    table_indexes   = "${var.table_arn}/index/*"
    drops_bucket    = var.drops_bucket_arn
    drops_objects   = "${var.drops_bucket_arn}/drops/*"
    reports_objects = "${var.reports_bucket_arn}/*"
    ingest_queue    = var.ingest_queue_arn
    reach_function  = "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:function:${local.reach_function_name}"
    sync_function   = "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:function:${local.sync_function_name}"
    # The SIS connections' client secrets, and nothing else in Secrets Manager.
    sis_secrets = "arn:${data.aws_partition.current.partition}:secretsmanager:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:secret:${var.name_prefix}/sis/*"
    kms_key     = var.kms_key_arn
  }
}

# ---------------------------------------------------------------------------------------------
# Failed asynchronous invocations (the reach function invoked by ingest and by the nightly
# schedule) land here after their retries.
# ---------------------------------------------------------------------------------------------

resource "aws_sqs_queue" "async_failures" {
  name                      = "${var.name_prefix}-async-failures"
  message_retention_seconds = 1209600 # 14 days
  # Encrypted with SQS managed keys rather than the KMS key: Lambda sends the failure records
  # with each function's own role, and the roles hold only the KMS actions functions.json lists
  # (the api function's role cannot generate data keys). The records hold the invocation's
  # event (district ids, school years), no personal data.
  sqs_managed_sse_enabled = true
}

# ---------------------------------------------------------------------------------------------
# Logs: one group per function, created before the function so Lambda never creates one
# without a retention.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  for_each          = local.functions
  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
}

# ---------------------------------------------------------------------------------------------
# Roles: assumable by Lambda; one inline policy each, nothing else.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each           = local.functions
  name               = "${var.name_prefix}-${each.key}"
  description        = "PTHV Reach ${each.key} function"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  # One statement per permission of the function's entry in functions.json.
  dynamic "statement" {
    for_each = each.value.permissions

    content {
      sid       = "Permission${statement.key}"
      effect    = "Allow"
      actions   = statement.value.actions
      resources = [for r in statement.value.resources : local.arns[r]]
    }
  }

  # Its own log group only.
  statement {
    sid       = "Logs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[each.key].arn}:*"]
  }

  # Records of failed asynchronous invocations (aws_lambda_function_event_invoke_config).
  statement {
    sid       = "OnFailureDestination"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.async_failures.arn]
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = local.functions
  name     = "${var.name_prefix}-${each.key}"
  role     = aws_iam_role.this[each.key].id
  policy   = data.aws_iam_policy_document.function[each.key].json
}

# ---------------------------------------------------------------------------------------------
# Functions: Go binaries named bootstrap, zipped by `make package` into
# <package_dir>/<name>.zip.
# ---------------------------------------------------------------------------------------------

resource "aws_lambda_function" "this" {
  for_each = local.functions

  function_name    = "${var.name_prefix}-${each.key}"
  description      = "PTHV Reach ${each.key}"
  role             = aws_iam_role.this[each.key].arn
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  handler          = "bootstrap"
  filename         = "${var.package_dir}/${each.key}.zip"
  source_code_hash = filebase64sha256("${var.package_dir}/${each.key}.zip")

  timeout     = each.value.timeout
  memory_size = each.value.memory
  # 0 in functions.json means no reservation (-1 for Lambda). The reach function runs one at a
  # time so that two recomputations of one district-year never interleave.
  reserved_concurrent_executions = each.value.reserved_concurrency > 0 ? each.value.reserved_concurrency : -1

  environment {
    # Exactly the names the function's entry lists.
    variables = { for k in each.value.env : k => local.env_values[k] }
  }

  # The role may write logs before the first invocation, and the group has its retention.
  depends_on = [
    aws_iam_role_policy.this,
    aws_cloudwatch_log_group.this,
  ]
}

# Asynchronous invocations: two retries, then a record on the async-failures queue.
resource "aws_lambda_function_event_invoke_config" "this" {
  for_each = local.functions

  function_name          = aws_lambda_function.this[each.key].function_name
  maximum_retry_attempts = 2

  destination_config {
    on_failure {
      destination = aws_sqs_queue.async_failures.arn
    }
  }
}

# The ingest function reads the ingest queue. Batches of 10 with partial batch responses (a
# failed message stays on the queue, the others are deleted); at most var.ingest_max_concurrency
# invocations at once, which keeps the table's write rate and the district locks calm.
resource "aws_lambda_event_source_mapping" "ingest" {
  event_source_arn        = var.ingest_queue_arn
  function_name           = aws_lambda_function.this["ingest"].arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.ingest_max_concurrency
  }

  # The role must be able to read the queue before the mapping is enabled.
  depends_on = [aws_iam_role_policy.this]
}
