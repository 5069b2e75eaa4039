# Alarms: every function's errors and throttles, anything in a dead-letter or failure queue,
# and imports held for approval. All of them notify one SNS topic.

data "aws_caller_identity" "current" {}

resource "aws_sns_topic" "alarms" {
  name = "${var.name_prefix}-alarms"
  # The key's policy lets CloudWatch use it (module storage).
  kms_master_key_id = var.kms_key_arn
}

# CloudWatch alarms of this account publish to the topic. (Within the account, IAM policies
# decide who else may use it.)
data "aws_iam_policy_document" "alarms" {
  statement {
    sid       = "CloudWatchAlarms"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms.json
}

# Optional e-mail subscription (the address has to confirm it).
resource "aws_sns_topic_subscription" "email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  alarm_actions = [aws_sns_topic.alarms.arn]

  # The metric of held imports (the namespace is the one the reach function's EMF metrics use).
  held_namespace = "PTHVReach"
  held_metric    = "ImportsHeld"
}

# ---------------------------------------------------------------------------------------------
# Functions: any error, any throttle.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "errors" {
  for_each = var.function_names

  alarm_name        = "${each.value}-errors"
  alarm_description = "The ${each.key} function reported errors (see its log group /aws/lambda/${each.value})."
  namespace         = "AWS/Lambda"
  metric_name       = "Errors"
  dimensions = {
    FunctionName = each.value
  }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# A function that runs one at a time (reserved concurrency 1, like reach) is throttled by
# design whenever invocations queue up: Lambda retries its asynchronous invocations, and
# those that still fail land in the async-failures queue, which has its own alarm.
resource "aws_cloudwatch_metric_alarm" "throttles" {
  for_each = { for k, v in var.function_names : k => v if !contains(var.serialized_functions, k) }

  alarm_name        = "${each.value}-throttles"
  alarm_description = "The ${each.key} function was throttled (account concurrency, or its reserved concurrency)."
  namespace         = "AWS/Lambda"
  metric_name       = "Throttles"
  dimensions = {
    FunctionName = each.value
  }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# ---------------------------------------------------------------------------------------------
# Queues that should stay empty: the ingest DLQ (a drop event failed 5 times), the scheduler
# DLQ (the nightly run could not be started) and the async-failures queue (an asynchronous
# invocation failed after its retries).
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "queue_not_empty" {
  for_each = var.failure_queue_names

  alarm_name        = "${each.value}-not-empty"
  alarm_description = "Messages are waiting in ${each.value} (${each.key}): something failed after its retries. Read them, fix the cause, then redrive or delete them."
  namespace         = "AWS/SQS"
  metric_name       = "ApproximateNumberOfMessagesVisible"
  dimensions = {
    QueueName = each.value
  }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# ---------------------------------------------------------------------------------------------
# The ingest queue's oldest message: drops and continuations are taken up within the visibility
# timeout (960 s) even when a run dies; older than var.ingest_queue_age_alarm_seconds means the
# ingest function is not consuming (throttled, failing before it deletes, or its event source
# mapping is off) and imports wait.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "ingest_queue_age" {
  alarm_name          = "${var.ingest_queue_name}-oldest-message-age"
  alarm_description   = "The oldest message on ${var.ingest_queue_name} is older than ${var.ingest_queue_age_alarm_seconds} s: the ingest function is not taking up drops. Check its errors and throttles and its SQS event source mapping."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = var.ingest_queue_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.ingest_queue_age_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# ---------------------------------------------------------------------------------------------
# Imports held for approval: the ingest function logs one JSON line per decision; a held import
# (too many students would be deactivated) waits for `pthv imports approve`.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_metric_filter" "imports_held" {
  name           = "${var.name_prefix}-imports-held"
  log_group_name = var.ingest_log_group_name
  pattern        = "{ $.decision = \"held\" }"

  metric_transformation {
    name      = local.held_metric
    namespace = local.held_namespace
    value     = "1"
  }
}

resource "aws_cloudwatch_metric_alarm" "imports_held" {
  alarm_name          = "${var.name_prefix}-imports-held"
  alarm_description   = "An import was held for approval: review it with `pthv imports show`, then `pthv imports approve` or send a corrected export."
  namespace           = local.held_namespace
  metric_name         = local.held_metric
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
}
