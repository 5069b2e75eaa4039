output "topic_arn" {
  description = "ARN of the alarm topic."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of every alarm."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.errors : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.throttles : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.queue_not_empty : a.alarm_name],
    [aws_cloudwatch_metric_alarm.imports_held.alarm_name],
    [aws_cloudwatch_metric_alarm.ingest_queue_age.alarm_name],
  )
}

output "ingest_queue_age_alarm" {
  description = "The alarm on the ingest queue's oldest message: its name, queue, metric and threshold in seconds."
  value = {
    name      = aws_cloudwatch_metric_alarm.ingest_queue_age.alarm_name
    queue     = aws_cloudwatch_metric_alarm.ingest_queue_age.dimensions.QueueName
    metric    = aws_cloudwatch_metric_alarm.ingest_queue_age.metric_name
    threshold = aws_cloudwatch_metric_alarm.ingest_queue_age.threshold
  }
}
