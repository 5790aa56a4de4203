variable "github_owner" {
  description = "Owner of the central repository."
  type        = string
}

variable "central_repository" {
  description = "Name of the central repository whose workflow runs liver on repository_dispatch."
  type        = string
}

variable "github_token" {
  description = "A fine-grained token with Contents read & write on the central repository only (required by repository_dispatch)."
  type        = string
  sensitive   = true
}

variable "github_api_url" {
  description = "GitHub's API (GitHub Enterprise Server: https://HOST/api/v3)."
  type        = string
  default     = "https://api.github.com"
}

variable "api" {
  description = "asff: Security Hub CSPM events; ocsf: the new Security Hub's Findings Imported V2 events."
  type        = string
  default     = "asff"
  validation {
    condition     = contains(["asff", "ocsf"], var.api)
    error_message = "api must be asff or ocsf."
  }
}

variable "minimum_severity" {
  description = "Only findings at or above this severity are dispatched; the schedule handles the rest."
  type        = string
  default     = "HIGH"
  validation {
    condition     = contains(["CRITICAL", "HIGH", "MEDIUM", "LOW"], var.minimum_severity)
    error_message = "minimum_severity must be CRITICAL, HIGH, MEDIUM or LOW."
  }
}

variable "invocations_per_second" {
  description = "At most this many dispatches per second, well inside GitHub's secondary rate limits."
  type        = number
  default     = 1
}

variable "alarm_topic_arn" {
  description = "An SNS topic told when a dispatch lands in the dead-letter queue (null: no notification)."
  type        = string
  default     = null
}
