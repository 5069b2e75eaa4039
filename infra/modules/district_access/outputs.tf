output "role_name" {
  description = "Name of the district's role."
  value       = aws_iam_role.district.name
}

output "role_arn" {
  description = "ARN of the district's role: give it to district IT (aws sts assume-role, or a profile with role_arn)."
  value       = aws_iam_role.district.arn
}

output "policy_json" {
  description = "The district role's policy document."
  value       = data.aws_iam_policy_document.district.json
}
