variable "region" {
  description = "AWS region of every resource (e.g. eu-west-1)."
  type        = string
}

variable "name" {
  description = "Prefix of the resource names (lowercase letters, digits, dashes)."
  type        = string
  default     = "zenml"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,20}$", var.name))
    error_message = "name must be 3-21 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = { managed-by = "terraform", project = "andamio" }
}

variable "mlflow_tracking_uri" {
  description = "URL of the team's MLflow tracking server (artifacts proxied to the bucket's mlflow/ prefix)."
  type        = string
}

variable "slack_channel_id" {
  description = "Slack channel the alerter posts to (its token goes into a ZenML secret, never here)."
  type        = string
}
