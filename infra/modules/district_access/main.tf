# One district's access: a role "${name_prefix}-district-${district_id}" that district IT (and
# the district's PTHV staff) assume to upload drops under drops/${district_id}/ and to read the
# district's own reach figures through the API and the staff dashboard. The api function recognises the district by
# this role name (ROLE_PREFIX + "-district-" + id), and the ingest function only lets a drop
# under drops/{district}/ touch that district's records.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  role_name = "${var.name_prefix}-district-${var.district_id}"
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type = "AWS"
      # Without named principals the account itself is trusted: then only IAM users and roles
      # of this account that are granted sts:AssumeRole on the role can assume it.
      identifiers = length(var.principals) > 0 ? var.principals : ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_iam_role" "district" {
  name                 = local.role_name
  description          = "PTHV Reach district ${var.district_id}: upload drops, read the district's reach"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 3600

  lifecycle {
    precondition {
      condition     = length(local.role_name) <= 64
      error_message = "The role name ${local.role_name} is longer than IAM's 64 characters: use a shorter name_prefix or district id."
    }
  }
}

data "aws_iam_policy_document" "district" {
  # Uploads under the district's own prefix only; no reading, listing or deleting of drops.
  statement {
    sid       = "UploadDrops"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${var.drops_bucket_arn}/drops/${var.district_id}/*"]
  }

  # The reports of the district's own imports (reports/{district}/imports/*.json), so that
  # district IT see what became of each drop: added, changed, rejected, with file, line and
  # rule. Never the district's cohort CSVs, which hold families' contacts.
  statement {
    sid       = "ReadImportReports"
    actions   = ["s3:GetObject"]
    resources = ["${var.reports_bucket_arn}/reports/${var.district_id}/imports/*"]
  }

  # The drops bucket encrypts with the KMS key (SSE-KMS): an upload needs a data key, and a
  # multipart upload (aws s3 cp of a file over 8 MB) also needs kms:Decrypt to complete, as
  # does reading an import report. Only through S3 in this region, so the role can decrypt
  # nothing it could not read from S3, and it reads only its import reports.
  statement {
    sid       = "EncryptDrops"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
    }
  }

  # The district's own figures, nothing national.
  statement {
    sid       = "DistrictReach"
    actions   = ["execute-api:Invoke"]
    resources = ["${var.api_execution_arn}/*/GET/v1/districts/${var.district_id}/reach"]
  }

  # The staff dashboard: the district's own part of the suppressed view
  # (published/reach/districts/{id}/{year}.json, internal/reachsvc), read through links that
  # `pthv reach dashboard` presigns with this role. Nothing national.
  statement {
    sid       = "DistrictDashboard"
    actions   = ["s3:GetObject"]
    resources = ["${var.reports_bucket_arn}/published/reach/districts/${var.district_id}/*"]
  }
}

resource "aws_iam_role_policy" "district" {
  name   = local.role_name
  role   = aws_iam_role.district.id
  policy = data.aws_iam_policy_document.district.json
}
