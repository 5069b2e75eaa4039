output "secret_names" {
  description = "Secrets Manager names of the connections' client secrets, by connection."
  value       = { for k, s in aws_secretsmanager_secret.connection : k => s.name }
}

output "schedule_names" {
  description = "Schedule names, by connection."
  value       = { for k, s in aws_scheduler_schedule.connection : k => s.name }
}

output "alarm_names" {
  description = "The sync alarms."
  value       = [aws_cloudwatch_metric_alarm.runs_not_applied.alarm_name, aws_cloudwatch_metric_alarm.dlq_not_empty.alarm_name]
}

output "schedule_targets" {
  description = "Per connection: the input the schedule sends the sync function, and its time zone."
  value = { for k, s in aws_scheduler_schedule.connection : k => {
    input    = jsondecode(s.target[0].input)
    timezone = s.schedule_expression_timezone
  } }
}
