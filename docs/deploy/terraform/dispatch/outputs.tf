output "dead_letter_queue_url" {
  description = "Dispatches that failed after retries (inspect, then let the schedule handle them)"
  value       = aws_sqs_queue.dead_letters.id
}

output "rule_arn" {
  value = aws_cloudwatch_event_rule.findings.arn
}
