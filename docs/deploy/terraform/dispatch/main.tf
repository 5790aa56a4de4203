# liver-gh dispatch mode: an EventBridge rule on new Security Hub findings calls GitHub's
# POST /repos/{owner}/{repo}/dispatches through an API destination, so the central
# repository's workflow handles each finding within a minute. No Lambda, no server. The
# scheduled sync stays the source of truth and catches anything the events missed.
# Apply it in the Security Hub administrator account's home (aggregation) Region.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

data "aws_caller_identity" "current" {}

locals {
  # ASFF Severity.Normalized lower bounds and OCSF severity_id values per label.
  normalized = { CRITICAL = 90, HIGH = 70, MEDIUM = 40, LOW = 1 }
  ocsf_id    = { CRITICAL = 5, HIGH = 4, MEDIUM = 3, LOW = 2 }

  asff_pattern = {
    source      = ["aws.securityhub"]
    detail-type = ["Security Hub Findings - Imported"]
    detail = {
      findings = {
        RecordState = ["ACTIVE"]
        Workflow    = { Status = ["NEW"] }
        Severity    = { Normalized = [{ numeric = [">=", local.normalized[var.minimum_severity]] }] }
      }
    }
  }
  ocsf_pattern = {
    source      = ["aws.securityhub"]
    detail-type = ["Findings Imported V2"]
    detail = {
      findings = {
        status_id   = [1]
        severity_id = [{ numeric = [">=", local.ocsf_id[var.minimum_severity]] }]
      }
    }
  }
  # Each Imported event carries exactly one finding. Only its identity is sent: liver reads
  # the finding itself from Security Hub and trusts nothing else in the payload.
  input_paths = var.api == "asff" ? {
    id      = "$.detail.findings[0].Id"
    product = "$.detail.findings[0].ProductArn"
    } : {
    id      = "$.detail.findings[0].finding_info.uid"
    product = "$.detail.findings[0].metadata.product.uid"
  }
}

resource "aws_cloudwatch_event_connection" "github" {
  name               = "liver-gh-github"
  description        = "GitHub API, as the central repository's dispatch token"
  authorization_type = "API_KEY"
  auth_parameters {
    api_key {
      key   = "Authorization"
      value = "Bearer ${var.github_token}"
    }
    invocation_http_parameters {
      header {
        key   = "Accept"
        value = "application/vnd.github+json"
      }
      header {
        key   = "X-GitHub-Api-Version"
        value = "2022-11-28"
      }
    }
  }
}

resource "aws_cloudwatch_event_api_destination" "dispatch" {
  name                             = "liver-gh-dispatch"
  description                      = "POST /repos/{owner}/{repo}/dispatches on the central repository"
  connection_arn                   = aws_cloudwatch_event_connection.github.arn
  http_method                      = "POST"
  invocation_endpoint              = "${var.github_api_url}/repos/${var.github_owner}/${var.central_repository}/dispatches"
  invocation_rate_limit_per_second = var.invocations_per_second
}

resource "aws_sqs_queue" "dead_letters" {
  name                      = "liver-gh-dispatch-dead-letters"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

data "aws_iam_policy_document" "dead_letters" {
  statement {
    sid       = "EventBridgeDeadLetters"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.findings.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "dead_letters" {
  queue_url = aws_sqs_queue.dead_letters.id
  policy    = data.aws_iam_policy_document.dead_letters.json
}

data "aws_iam_policy_document" "invoke_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "invoke" {
  statement {
    effect    = "Allow"
    actions   = ["events:InvokeApiDestination"]
    resources = [aws_cloudwatch_event_api_destination.dispatch.arn]
  }
}

resource "aws_iam_role" "invoke" {
  name               = "liver-gh-dispatch-invoke"
  description        = "Lets the liver-gh rule call the GitHub API destination"
  assume_role_policy = data.aws_iam_policy_document.invoke_trust.json
}

resource "aws_iam_role_policy" "invoke" {
  name   = "invoke-github-dispatch"
  role   = aws_iam_role.invoke.id
  policy = data.aws_iam_policy_document.invoke.json
}

resource "aws_cloudwatch_event_rule" "findings" {
  name          = "liver-gh-new-findings"
  description   = "New Security Hub findings at or above ${var.minimum_severity} -> liver"
  event_pattern = var.api == "asff" ? jsonencode(local.asff_pattern) : jsonencode(local.ocsf_pattern)
}

resource "aws_cloudwatch_event_target" "dispatch" {
  rule      = aws_cloudwatch_event_rule.findings.name
  target_id = "github-dispatch"
  arn       = aws_cloudwatch_event_api_destination.dispatch.arn
  role_arn  = aws_iam_role.invoke.arn

  input_transformer {
    input_paths    = local.input_paths
    input_template = "{\"event_type\": \"security-hub-finding\", \"client_payload\": {\"finding_id\": \"<id>\", \"product_arn\": \"<product>\"}}"
  }
  retry_policy {
    maximum_retry_attempts       = 24
    maximum_event_age_in_seconds = 3600
  }
  dead_letter_config {
    arn = aws_sqs_queue.dead_letters.arn
  }
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "liver-gh-dispatch-dead-letters"
  alarm_description   = "liver-gh dispatches GitHub did not take (the scheduled sync still handles these findings)"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letters.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]
}
