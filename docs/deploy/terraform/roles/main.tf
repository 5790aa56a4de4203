# IAM roles for liver-gh in the Security Hub administrator (audit) account, assumed by
# GitHub Actions through OIDC. The central role may suppress findings; the service role,
# used by per-repository and issue-event runs in service repositories, cannot.

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
data "aws_partition" "current" {}

locals {
  provider_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/token.actions.githubusercontent.com"
  ref          = "refs/heads/${var.branch}"
  # The OIDC subject with job_workflow_ref included (see docs/deploy/README.md): repository,
  # branch and workflow file are all pinned.
  central_subjects = [
    for w in var.central_workflows :
    "repo:${var.github_org}/${var.central_repository}:ref:${local.ref}:job_workflow_ref:${var.github_org}/${var.central_repository}/.github/workflows/${w}@${local.ref}"
  ]
  service_subjects = flatten([
    for repo, workflows in var.service_workflows : [
      for w in workflows :
      "repo:${var.github_org}/${repo}:ref:${local.ref}:job_workflow_ref:${var.github_org}/${repo}/.github/workflows/${w}@${local.ref}"
    ]
  ])
}

resource "aws_iam_openid_connect_provider" "github" {
  count          = var.create_oidc_provider ? 1 : 0
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

# One trust policy per role; each pins its own list of subjects.
data "aws_iam_policy_document" "trust" {
  for_each = { central = local.central_subjects, service = local.service_subjects }
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = each.value
    }
  }
}

data "aws_iam_policy_document" "central" {
  # GetFindingsV2 and BatchUpdateFindingsV2 are authorised by these same two actions.
  statement {
    sid       = "LiverReadAndUpdateFindings"
    effect    = "Allow"
    actions   = ["securityhub:BatchUpdateFindings", "securityhub:GetFindings"]
    resources = ["*"]
  }
  statement {
    sid       = "LiverDoctorChecksTheAggregator"
    effect    = "Allow"
    actions   = ["securityhub:ListAggregatorsV2", "securityhub:ListFindingAggregators"]
    resources = ["*"]
  }
  # liver changes only Workflow/StatusId, Note/Comment and UserDefinedFields.
  statement {
    sid       = "LiverNeverChangesSeverity"
    effect    = "Deny"
    actions   = ["securityhub:BatchUpdateFindings"]
    resources = ["*"]
    condition {
      test     = "Null"
      variable = "securityhub:ASFFSyntaxPath/Severity.Label"
      values   = ["false"]
    }
  }
  statement {
    sid       = "LiverNeverChangesSeverityV2"
    effect    = "Deny"
    actions   = ["securityhub:BatchUpdateFindings"]
    resources = ["*"]
    condition {
      test     = "Null"
      variable = "securityhub:OCSFSyntaxPath/SeverityId"
      values   = ["false"]
    }
  }
}

# The service role: the central policy plus two denials, so a service repository's run can
# never suppress a finding, whatever its liver.yml says.
data "aws_iam_policy_document" "service" {
  source_policy_documents = [data.aws_iam_policy_document.central.json]
  statement {
    sid       = "NoSuppression"
    effect    = "Deny"
    actions   = ["securityhub:BatchUpdateFindings"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "securityhub:ASFFSyntaxPath/Workflow.Status"
      values   = ["SUPPRESSED"]
    }
  }
  statement {
    sid       = "NoSuppressionV2"
    effect    = "Deny"
    actions   = ["securityhub:BatchUpdateFindings"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "securityhub:OCSFSyntaxPath/StatusId"
      values   = ["3"]
    }
  }
}

resource "aws_iam_role" "central" {
  name                 = "liver-gh-central"
  description          = "liver-gh central sync (may suppress on an approver's label)"
  assume_role_policy   = data.aws_iam_policy_document.trust["central"].json
  max_session_duration = 3600
  depends_on           = [aws_iam_openid_connect_provider.github]
}

resource "aws_iam_role_policy" "central" {
  name   = "liver-central"
  role   = aws_iam_role.central.id
  policy = data.aws_iam_policy_document.central.json
}

resource "aws_iam_role" "service" {
  count                = length(local.service_subjects) > 0 ? 1 : 0
  name                 = "liver-gh-service"
  description          = "liver-gh service-repository runs (never suppress)"
  assume_role_policy   = data.aws_iam_policy_document.trust["service"].json
  max_session_duration = 3600
  depends_on           = [aws_iam_openid_connect_provider.github]
}

resource "aws_iam_role_policy" "service" {
  count  = length(aws_iam_role.service)
  name   = "liver-service"
  role   = aws_iam_role.service[0].id
  policy = data.aws_iam_policy_document.service.json
}
