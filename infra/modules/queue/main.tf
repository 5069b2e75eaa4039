# The ingest queue: S3 object-created events of the drops bucket (under "drops/") and the
# ingest function's own continuation messages. Names and settings follow internal/deploy
# (Resources): "${name_prefix}-ingest" with visibility 960 s and a dead-letter queue
# "${name_prefix}-ingest-dlq" after 5 receives.

data "aws_caller_identity" "current" {}

locals {
  queue_name = "${var.name_prefix}-ingest"
  dlq_name   = "${var.name_prefix}-ingest-dlq"
}

resource "aws_sqs_queue" "dlq" {
  name                      = local.dlq_name
  message_retention_seconds = 1209600 # 14 days, the SQS maximum
  kms_master_key_id         = var.kms_key_arn
}

resource "aws_sqs_queue" "ingest" {
  name = local.queue_name
  # Longer than the ingest function's 15-minute limit, as an event source mapping requires.
  visibility_timeout_seconds = 960
  # As long as the DLQ keeps messages, so a message never expires before it could move there.
  message_retention_seconds = 1209600
  kms_master_key_id         = var.kms_key_arn

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = 5
  })
}

# Only the ingest queue may use the DLQ as its dead-letter queue.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.ingest.arn]
  })
}

# S3 may send messages to the ingest queue, from the drops bucket of this account only.
data "aws_iam_policy_document" "ingest" {
  statement {
    sid       = "DropsBucketNotifications"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.ingest.arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [var.drops_bucket_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_sqs_queue_policy" "ingest" {
  queue_url = aws_sqs_queue.ingest.id
  policy    = data.aws_iam_policy_document.ingest.json
}

# Every object created under drops/ is announced on the ingest queue. (A bucket has exactly one
# notification configuration: add other destinations here, not in another resource.)
resource "aws_s3_bucket_notification" "drops" {
  bucket = var.drops_bucket_name

  queue {
    id            = "drops-to-ingest"
    queue_arn     = aws_sqs_queue.ingest.arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = "drops/"
  }

  # S3 checks that it may send to the queue when the configuration is put.
  depends_on = [aws_sqs_queue_policy.ingest]
}
