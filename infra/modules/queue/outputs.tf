output "queue_name" {
  description = "Name of the ingest queue."
  value       = aws_sqs_queue.ingest.name
}

output "queue_url" {
  description = "URL of the ingest queue (INGEST_QUEUE_URL)."
  value       = aws_sqs_queue.ingest.id
}

output "queue_arn" {
  description = "ARN of the ingest queue."
  value       = aws_sqs_queue.ingest.arn
}

output "dlq_name" {
  description = "Name of the ingest dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "dlq_url" {
  description = "URL of the ingest dead-letter queue."
  value       = aws_sqs_queue.dlq.id
}

output "dlq_arn" {
  description = "ARN of the ingest dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}
