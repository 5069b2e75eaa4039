# The reach API: an HTTP API with IAM authorisation in front of the api function. Callers sign
# with SigV4 as the national staff role ("${name_prefix}-national", created here) or as a
# district's role ("${name_prefix}-district-<id>", module district_access); the function scopes
# each answer by the caller's role name (internal/api).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # The API's routes, in one place (internal/api: RouteReach, RouteYears, RouteDistrict).
  routes = [
    "GET /v1/reach",
    "GET /v1/reach/years",
    "GET /v1/districts/{id}/reach",
  ]

  # "GET /v1/districts/{id}/reach" -> "GET/v1/districts/*/reach": the resource part of an
  # execute-api ARN ("<api>/<stage>/<method>/<path>"), with path parameters as wildcards.
  route_resources = [for r in local.routes : replace(replace(r, " ", ""), "/\\{[^}]+\\}/", "*")]
}

resource "aws_apigatewayv2_api" "this" {
  name          = "${var.name_prefix}-reach-api"
  description   = "PTHV Reach: aggregate reach figures for national staff and districts"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "api" {
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = var.function_invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "this" {
  for_each = toset(local.routes)

  api_id             = aws_apigatewayv2_api.this.id
  route_key          = each.value
  authorization_type = "AWS_IAM"
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
}

# Access logs: who asked for which route and how it went. No query string (the route key names
# the route without it), no caller identity beyond the source address.
resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/${var.name_prefix}-reach-api"
  retention_in_days = var.log_retention_days
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.throttling_burst_limit
    throttling_rate_limit  = var.throttling_rate_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId        = "$context.requestId"
      ip               = "$context.identity.sourceIp"
      requestTime      = "$context.requestTime"
      httpMethod       = "$context.httpMethod"
      routeKey         = "$context.routeKey"
      status           = "$context.status"
      responseLength   = "$context.responseLength"
      integrationError = "$context.integrationErrorMessage"
    })
  }
}

# API Gateway may invoke the api function, from this API only.
resource "aws_lambda_permission" "api" {
  statement_id  = "AllowReachAPIInvoke"
  action        = "lambda:InvokeFunction"
  function_name = var.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/*"
}

# ---------------------------------------------------------------------------------------------
# The national staff role: every route.
# ---------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "national_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type = "AWS"
      # Without named principals the account itself is trusted: then only IAM users and roles
      # of this account that are granted sts:AssumeRole on the role can assume it.
      identifiers = length(var.national_principals) > 0 ? var.national_principals : ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_iam_role" "national" {
  # The api function recognises national staff by this name (ROLE_PREFIX + "-national").
  name               = "${var.name_prefix}-national"
  description        = "PTHV Reach national staff: read every reach figure through the API"
  assume_role_policy = data.aws_iam_policy_document.national_assume.json
}

data "aws_iam_policy_document" "national" {
  statement {
    sid       = "ReachAPI"
    actions   = ["execute-api:Invoke"]
    resources = [for r in local.route_resources : "${aws_apigatewayv2_api.this.execution_arn}/*/${r}"]
  }
}

resource "aws_iam_role_policy" "national" {
  name   = "${var.name_prefix}-national"
  role   = aws_iam_role.national.id
  policy = data.aws_iam_policy_document.national.json
}
