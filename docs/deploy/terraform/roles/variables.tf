variable "github_org" {
  description = "The GitHub organisation (or user) that owns the repositories."
  type        = string
}

variable "central_repository" {
  description = "Name of the security team's repository that runs the central sync (without the owner)."
  type        = string
}

variable "branch" {
  description = "The branch whose workflows may assume the roles."
  type        = string
  default     = "main"
}

variable "central_workflows" {
  description = "Workflow files in the central repository's .github/workflows that may assume the central role."
  type        = list(string)
  default     = ["liver.yml", "liver-dispatch.yml"]
}

variable "service_workflows" {
  description = "Service repository name => workflow files that may assume the service role (empty: no service role)."
  type        = map(list(string))
  default     = {}
}

variable "create_oidc_provider" {
  description = "false if the account already has the token.actions.githubusercontent.com provider."
  type        = bool
  default     = true
}
