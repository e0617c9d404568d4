variable "subscription_id" {
  description = "Azure subscription that holds every resource."
  type        = string
}

variable "location" {
  description = "Azure region (e.g. westeurope)."
  type        = string
}

variable "name" {
  description = "Prefix of the resource names (lowercase letters and digits: storage and registry names allow no dash)."
  type        = string
  default     = "zenml"
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,15}$", var.name))
    error_message = "name must be 3-16 lowercase letters or digits, starting with a letter."
  }
}

variable "mlflow_tracking_uri" {
  description = "URL of the team's MLflow tracking server."
  type        = string
}

variable "slack_channel_id" {
  description = "Slack channel the alerter posts to (its token goes into a ZenML secret, never here)."
  type        = string
}
