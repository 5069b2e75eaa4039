# Storage: the customer managed KMS key, the DynamoDB table and the two S3 buckets.
#
# Names follow internal/deploy (NamesFor): table "${name_prefix}", buckets
# "${name_prefix}-drops" and "${name_prefix}-reports". The Go contract tests in infra/ compare
# them, so change both together.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  table_name     = var.name_prefix
  drops_bucket   = "${var.name_prefix}-drops"
  reports_bucket = "${var.name_prefix}-reports"

  production = var.environment == "production"

  # Both buckets get the same public access block, ownership, encryption and TLS-only policy.
  buckets = {
    drops   = aws_s3_bucket.drops
    reports = aws_s3_bucket.reports
  }
}

# ---------------------------------------------------------------------------------------------
# KMS key: encrypts the table, both buckets, the ingest queues and the alarm topic.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "key" {
  # Statements other modules need (the dashboard's distribution decrypts public/).
  source_policy_documents = var.key_policy_documents

  # The account administers the key through IAM (without this statement, IAM policies that
  # name the key, such as the functions' roles, would have no effect).
  statement {
    sid       = "AccountAdministersThroughIAM"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # S3 sends object-created notifications of the drops bucket to the ingest queue, which is
  # encrypted with this key: S3 has to create and read the queue's data keys. (No source
  # condition, as in AWS's documented policy: the queue policy already admits only the drops
  # bucket.)
  statement {
    sid       = "S3NotificationsToEncryptedQueue"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
  }

  # CloudWatch alarms publish to the alarm topic, which is encrypted with this key (the topic
  # policy decides who may publish; the AWS managed SNS key would not admit CloudWatch).
  statement {
    sid       = "CloudWatchAlarmsToEncryptedTopic"
    actions   = ["kms:GenerateDataKey*", "kms:Decrypt"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "PTHV Reach (${var.name_prefix}): table, buckets, queues and alarm topic"
  enable_key_rotation     = true
  deletion_window_in_days = local.production ? 30 : 7
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.this.key_id
}

# ---------------------------------------------------------------------------------------------
# DynamoDB: one table, string keys pk and sk, and the "school" index (sch, sk). The access
# patterns are documented in internal/store/store.go and the README ("Storage").
# ---------------------------------------------------------------------------------------------

resource "aws_dynamodb_table" "this" {
  name         = local.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "sch"
    type = "S"
  }

  # Roster records that name a school (roles, classes, enrollments), by "{district}#{school}".
  global_secondary_index {
    name            = "school"
    hash_key        = "sch"
    range_key       = "sk"
    projection_type = "ALL"
  }

  # Rollback of bad writes: restore to a point in time (the last 35 days) into a new table.
  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.this.arn
  }

  deletion_protection_enabled = local.production
}

# ---------------------------------------------------------------------------------------------
# S3: the drops bucket (versioned: nothing a district sends is lost, and an overwritten drop
# can be read back) and the reports bucket (import reports, cohort CSVs, published reach views).
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "drops" {
  bucket = local.drops_bucket
  # Outside production a destroy may empty the bucket; in production it never does.
  force_destroy = !local.production
}

resource "aws_s3_bucket" "reports" {
  bucket        = local.reports_bucket
  force_destroy = !local.production
}

resource "aws_s3_bucket_versioning" "drops" {
  bucket = aws_s3_bucket.drops.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets
  bucket   = each.value.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets
  bucket   = each.value.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets
  bucket   = each.value.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    # One data key per bucket rather than a KMS call per object.
    bucket_key_enabled = true
  }
}

# TLS only: deny every request made over plain HTTP.
data "aws_iam_policy_document" "tls_only" {
  for_each = local.buckets

  # Statements other modules need on the reports bucket (the dashboard's distribution reads
  # public/).
  source_policy_documents = each.key == "reports" ? var.reports_policy_documents : []

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets
  bucket   = each.value.id
  policy   = data.aws_iam_policy_document.tls_only[each.key].json

  # Put the public access block in place first (both change the bucket's policy state).
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# Drops: old versions of a drop are kept var.noncurrent_drop_days after being replaced.
resource "aws_s3_bucket_lifecycle_configuration" "drops" {
  bucket = aws_s3_bucket.drops.id

  rule {
    id     = "expire-noncurrent-drops"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_drop_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Lifecycle rules on a versioned bucket need versioning configured first.
  depends_on = [aws_s3_bucket_versioning.drops]
}

# Reports: import reports and cohort CSVs under "reports/" expire after var.report_days, plans
# under "plans/" after var.plan_days and roster snapshots under "state/" after var.state_days.
# The reach views under "public/" and "published/" are never expired (the API serves them).
resource "aws_s3_bucket_lifecycle_configuration" "reports" {
  bucket = aws_s3_bucket.reports.id

  rule {
    id     = "expire-reports"
    status = "Enabled"

    filter {
      prefix = "reports/"
    }

    expiration {
      days = var.report_days
    }
  }

  # Plans of imports: kept for the approval window of a held import (internal/importer Approve
  # refuses one whose plan is gone, and it stays held).
  rule {
    id     = "expire-plans"
    status = "Enabled"

    filter {
      prefix = "plans/"
    }

    expiration {
      days = var.plan_days
    }
  }

  # Roster snapshots: only the last applied import's is read, and without it the importer
  # reads the table (internal/importer loadState).
  rule {
    id     = "expire-state"
    status = "Enabled"

    filter {
      prefix = "state/"
    }

    expiration {
      days = var.state_days
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}
