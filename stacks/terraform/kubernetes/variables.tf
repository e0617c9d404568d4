variable "kubeconfig" {
  description = "Path of the kubeconfig file."
  type        = string
  default     = "~/.kube/config"
}

variable "context" {
  description = "Kube context of the cluster (also what the orchestrator and Kaniko use)."
  type        = string
}

variable "namespace" {
  description = "Namespace of the pipeline pods, step pods and image builds."
  type        = string
  default     = "zenml"
}

variable "s3_bucket" {
  description = "Bucket of the S3-compatible store (MinIO, Ceph, S3...) that holds the artifacts."
  type        = string
}

variable "s3_endpoint_url" {
  description = "Endpoint URL of that store as the pods reach it (e.g. http://minio.minio.svc:9000)."
  type        = string
}

variable "registry_uri" {
  description = "OCI registry (and path) the images are pushed to and pulled from."
  type        = string
}

variable "mlflow_tracking_uri" {
  description = "URL of the team's MLflow tracking server."
  type        = string
}

variable "slack_channel_id" {
  description = "Slack channel the alerter posts to (its token goes into a ZenML secret, never here)."
  type        = string
}
