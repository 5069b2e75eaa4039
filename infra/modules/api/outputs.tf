output "api_id" {
  description = "ID of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "api_endpoint" {
  description = "Base URL of the API (REACH_API_URL), e.g. https://abc123.execute-api.us-west-2.amazonaws.com."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "execution_arn" {
  description = "Execution ARN of the API, the prefix of its execute-api:Invoke resources."
  value       = aws_apigatewayv2_api.this.execution_arn
}

output "routes" {
  description = "The API's route keys."
  value       = local.routes
}

output "national_role_arn" {
  description = "ARN of the national staff role."
  value       = aws_iam_role.national.arn
}

output "access_log_group_name" {
  description = "Name of the API's access log group."
  value       = aws_cloudwatch_log_group.access.name
}
