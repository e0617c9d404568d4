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
