# The nightly full recomputation of the reach figures: EventBridge Scheduler invokes the reach
# function with {"full": true}. (The invocation is asynchronous: the function's own retries and
# on-failure destination then apply; this schedule's retries and DLQ cover failures to invoke.)
#
# The import sweep: every sweep_rate the scheduler puts {"pthv":"sweep"} on the ingest queue;
# the ingest function then queues a drain for every district with an import no run is working
# on (its heartbeat older than IMPORT_LEASE), a queued drop, or a drop no import has claimed.

data "aws_caller_identity" "current" {}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name_prefix}-scheduler-dlq"
  message_retention_seconds = 1209600 # 14 days
  # SQS managed encryption: the scheduler sends with its role, which holds no KMS permission.
  # The messages carry the schedule's input ({"full": true}) and the error, no personal data.
  sqs_managed_sse_enabled = true
}

# ---------------------------------------------------------------------------------------------
# The scheduler's role: invoke the reach function, and write to the DLQ. Nothing else.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    # Only schedules of this account may use the role.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name_prefix}-scheduler"
  description        = "EventBridge Scheduler: nightly reach recomputation and the import sweep"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeReach"
    actions   = ["lambda:InvokeFunction"]
    resources = [var.reach_function_arn]
  }

  statement {
    sid       = "SweepMessage"
    actions   = ["sqs:SendMessage"]
    resources = [var.ingest_queue_arn]
  }

  # The ingest queue is encrypted with the service's key.
  statement {
    sid       = "SweepMessageKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "${var.name_prefix}-scheduler"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

# ---------------------------------------------------------------------------------------------
# The schedule.
# ---------------------------------------------------------------------------------------------

resource "aws_scheduler_schedule" "reach_nightly" {
  name        = "${var.name_prefix}-reach-nightly"
  description = "PTHV Reach: recompute every reach figure from the records"

  schedule_expression          = var.nightly_cron
  schedule_expression_timezone = var.timezone

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.reach_function_arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ full = true })

    retry_policy {
      maximum_retry_attempts = 3
    }

    dead_letter_config {
      arn = aws_sqs_queue.dlq.arn
    }
  }

  # The role must hold its policy before the first run.
  depends_on = [aws_iam_role_policy.scheduler]
}

# The sweep: stranded imports are taken over, waiting drops imported (see internal/importer,
# Service.Sweep). At least once, like every schedule: a second sweep finds nothing to do.
resource "aws_scheduler_schedule" "import_sweep" {
  name        = "${var.name_prefix}-import-sweep"
  description = "PTHV Reach: take over stranded imports and import waiting drops"

  schedule_expression = var.sweep_rate

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.ingest_queue_arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ pthv = "sweep" })

    retry_policy {
      maximum_retry_attempts = 3
    }

    dead_letter_config {
      arn = aws_sqs_queue.dlq.arn
    }
  }

  depends_on = [aws_iam_role_policy.scheduler]
}
