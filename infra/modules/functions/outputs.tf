output "function_names" {
  description = "Deployed function names by function (api, cohort, ingest, reach)."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "function_arns" {
  description = "Function ARNs by function."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "invoke_arns" {
  description = "Function invoke ARNs (for API Gateway integrations) by function."
  value       = { for k, f in aws_lambda_function.this : k => f.invoke_arn }
}

output "role_arns" {
  description = "Execution role ARNs by function."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}

output "log_group_names" {
  description = "CloudWatch log group names by function."
  value       = { for k, g in aws_cloudwatch_log_group.this : k => g.name }
}

output "async_failures_queue_name" {
  description = "Name of the queue that receives failed asynchronous invocations."
  value       = aws_sqs_queue.async_failures.name
}

output "async_failures_queue_url" {
  description = "URL of the queue that receives failed asynchronous invocations."
  value       = aws_sqs_queue.async_failures.id
}

output "async_failures_queue_arn" {
  description = "ARN of the queue that receives failed asynchronous invocations."
  value       = aws_sqs_queue.async_failures.arn
}
