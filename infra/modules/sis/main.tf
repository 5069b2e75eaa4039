# Nightly SIS syncs: per connection, a Secrets Manager secret for its client secret (the value
# is set by `pthv sync add`, never by Terraform, so it is in no state file) and an EventBridge
# Scheduler schedule that invokes the sync function with the connection and the scheduled time
# (which names the run, so a duplicate delivery finds its run). The sync function's role may
# read only secrets under "<prefix>/sis/" (infra/functions.json, symbol sis_secrets).

locals {
  connections = {
    for k, c in var.connections : k => merge(c, {
      district   = split("/", k)[0]
      connection = split("/", k)[1]
      # Schedule names: at most 64 characters of [0-9A-Za-z_.-].
      schedule_name = substr("${var.name_prefix}-sync-${replace(k, "/", "-")}", 0, 64)
    })
  }
}

resource "aws_secretsmanager_secret" "connection" {
  for_each    = local.connections
  name        = "${var.name_prefix}/sis/${each.value.district}/${each.value.connection}"
  description = each.value.provider == "clever" ? "PTHV Reach: Clever district-app token of the connection ${each.key}; set with pthv sync add --token-file" : "PTHV Reach: client secret of the SIS connection ${each.key}; set with pthv sync add"
  # The value is written by `pthv sync add` (--client-secret-file, or --token-file for clever).
  recovery_window_in_days = 7
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name_prefix}-sync-scheduler-dlq"
  message_retention_seconds = 1209600 # 14 days
  # The messages carry the schedule's input (district and connection ids), no personal data.
  sqs_managed_sse_enabled = true
}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name_prefix}-sync-scheduler"
  description        = "EventBridge Scheduler: nightly SIS syncs"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeSync"
    actions   = ["lambda:InvokeFunction"]
    resources = [var.sync_function_arn]
  }

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "${var.name_prefix}-sync-scheduler"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "connection" {
  for_each    = local.connections
  name        = each.value.schedule_name
  description = "PTHV Reach: nightly SIS sync of ${each.key}"

  schedule_expression          = each.value.schedule
  schedule_expression_timezone = each.value.timezone

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.sync_function_arn
    role_arn = aws_iam_role.scheduler.arn
    input = jsonencode({
      districtId    = each.value.district
      connectionId  = each.value.connection
      scheduledTime = "<aws.scheduler.scheduled-time>"
    })

    retry_policy {
      maximum_retry_attempts = 3
    }

    dead_letter_config {
      arn = aws_sqs_queue.dlq.arn
    }
  }

  depends_on = [aws_iam_role_policy.scheduler]
}

# Runs that were held or failed: the sync function logs one JSON line per decision.
resource "aws_cloudwatch_log_metric_filter" "runs_not_applied" {
  name           = "${var.name_prefix}-sync-runs-not-applied"
  log_group_name = var.sync_log_group_name
  pattern        = "{ ($.decision = \"held\") || ($.decision = \"failed\") }"

  metric_transformation {
    name      = "SyncRunsNotApplied"
    namespace = "PTHVReach"
    value     = "1"
  }
}

resource "aws_cloudwatch_metric_alarm" "runs_not_applied" {
  alarm_name          = "${var.name_prefix}-sync-runs-not-applied"
  alarm_description   = "A SIS sync run was held or failed: `pthv sync runs` and `pthv sync show` say why; approve a held import with `pthv imports approve`."
  namespace           = "PTHVReach"
  metric_name         = "SyncRunsNotApplied"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  alarm_name          = "${var.name_prefix}-sync-scheduler-dlq-not-empty"
  alarm_description   = "A scheduled SIS sync could not be started (see ${aws_sqs_queue.dlq.name})."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
}
