# The dashboard (internal/dashboard): a CloudFront distribution in front of the reports
# bucket. The reach function writes the pages and the public data under public/; CloudFront
# reads them with origin access control (the bucket policy admits this distribution only, and
# only under public/). The staff page reads the suppressed view under published/ with links
# that `pthv reach dashboard` presigns with the viewer's own credentials: CloudFront passes
# those requests to S3 unsigned and unchanged, and S3 checks the signature and the viewer's
# IAM permissions (the national staff role here, a district's role in district_access).
# Every response carries a strict Content-Security-Policy and HSTS.

data "aws_region" "current" {}

locals {
  # internal/dashboard.ContentSecurityPolicy (the infra tests compare them).
  content_security_policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'; require-trusted-types-for 'script'; trusted-types 'none'"
  # internal/dashboard.HSTSMaxAge: two years.
  hsts_max_age = 63072000

  # AWS managed policies: no caching (the staff views), and every query string but no
  # header or cookie to the origin (the presigned query).
  caching_disabled_policy_id = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
}

resource "aws_cloudfront_origin_access_control" "this" {
  name                              = "${var.name_prefix}-dashboard"
  description                       = "PTHV Reach dashboard: reads public/ of the reports bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_response_headers_policy" "this" {
  name    = "${var.name_prefix}-dashboard"
  comment = "PTHV Reach dashboard: strict CSP, HSTS"

  security_headers_config {
    content_security_policy {
      content_security_policy = local.content_security_policy
      override                = true
    }
    strict_transport_security {
      access_control_max_age_sec = local.hsts_max_age
      include_subdomains         = true
      override                   = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "no-referrer"
      override        = true
    }
  }
}

# The public pages and data: cached briefly (the reach function republishes after imports and
# nightly), compressed, nothing of the viewer's request forwarded.
resource "aws_cloudfront_cache_policy" "public" {
  name        = "${var.name_prefix}-dashboard-public"
  comment     = "PTHV Reach dashboard: public pages and figures"
  min_ttl     = 0
  default_ttl = var.cache_seconds
  max_ttl     = var.cache_seconds

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = true
    enable_accept_encoding_gzip   = true

    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# The staff views: the presigned query goes to S3 as it came; no header, no cookie.
resource "aws_cloudfront_origin_request_policy" "staff" {
  name    = "${var.name_prefix}-dashboard-staff"
  comment = "PTHV Reach dashboard: presigned reads of the suppressed view"

  cookies_config {
    cookie_behavior = "none"
  }
  headers_config {
    header_behavior = "none"
  }
  query_strings_config {
    query_string_behavior = "all"
  }
}

resource "aws_cloudfront_distribution" "this" {
  enabled             = true
  comment             = "PTHV Reach dashboard (${var.name_prefix})"
  default_root_object = "index.html"
  is_ipv6_enabled     = true
  http_version        = "http2and3"
  price_class         = var.price_class

  # public/ with origin access control: CloudFront signs its reads.
  origin {
    origin_id                = "public"
    domain_name              = var.reports_bucket_regional_domain_name
    origin_path              = "/public"
    origin_access_control_id = aws_cloudfront_origin_access_control.this.id
  }

  # published/ without: the viewer's presigned query is the authorisation.
  origin {
    origin_id   = "staff"
    domain_name = var.reports_bucket_regional_domain_name

    s3_origin_config {
      origin_access_identity = ""
    }
  }

  default_cache_behavior {
    target_origin_id           = "public"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.public.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id
  }

  ordered_cache_behavior {
    path_pattern               = "/published/reach/*"
    target_origin_id           = "staff"
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = local.caching_disabled_policy_id
    origin_request_policy_id   = aws_cloudfront_origin_request_policy.staff.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}

# For the storage module (as JSON, so that it is known at plan): the reports bucket admits this
# distribution, under public/ only, and the KMS key decrypts for it (the bucket is SSE-KMS).
locals {
  from_this_distribution = { StringEquals = { "AWS:SourceArn" = aws_cloudfront_distribution.this.arn } }

  bucket_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DashboardReadsPublic"
      Effect    = "Allow"
      Action    = "s3:GetObject"
      Resource  = "${var.reports_bucket_arn}/public/*"
      Principal = { Service = "cloudfront.amazonaws.com" }
      Condition = local.from_this_distribution
    }]
  })

  key_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DashboardDecryptsPublic"
      Effect    = "Allow"
      Action    = "kms:Decrypt"
      Resource  = "*"
      Principal = { Service = "cloudfront.amazonaws.com" }
      Condition = local.from_this_distribution
    }]
  })
}

# National staff read the whole suppressed view (through presigned links).
data "aws_iam_policy_document" "national" {
  statement {
    sid       = "StaffDashboard"
    actions   = ["s3:GetObject"]
    resources = ["${var.reports_bucket_arn}/published/reach/*"]
  }

  statement {
    sid       = "StaffDashboardDecrypt"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "national" {
  name   = "${var.name_prefix}-national-dashboard"
  role   = var.national_role_name
  policy = data.aws_iam_policy_document.national.json
}
