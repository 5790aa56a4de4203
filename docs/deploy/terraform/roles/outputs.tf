output "central_role_arn" {
  description = "role-to-assume for the central and dispatch workflows (repository variable LIVER_AWS_ROLE_ARN)"
  value       = aws_iam_role.central.arn
}

output "service_role_arn" {
  description = "role-to-assume for service repositories' per-repo and issue-event workflows"
  value       = one(aws_iam_role.service[*].arn)
}
