output "schedule_name" {
  description = "Name of the nightly schedule."
  value       = aws_scheduler_schedule.reach_nightly.name
}

output "sweep_schedule_name" {
  description = "Name of the import sweep schedule."
  value       = aws_scheduler_schedule.import_sweep.name
}

output "role_arn" {
  description = "ARN of the scheduler's role."
  value       = aws_iam_role.scheduler.arn
}

output "dlq_name" {
  description = "Name of the scheduler's dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_url" {
  description = "URL of the scheduler's dead-letter queue."
  value       = aws_sqs_queue.dlq.id
}

output "dlq_arn" {
  description = "ARN of the scheduler's dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}
