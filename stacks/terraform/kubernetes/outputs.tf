# `eval "$(terraform -chdir=stacks/terraform/kubernetes output -raw spec_env)"` exports what
# stacks/kubernetes.yaml reads; then `python run.py stack apply kubernetes`. Credentials (S3 keys,
# MLflow, Slack) are not outputs: export K8S_S3_ACCESS_KEY_ID, K8S_S3_SECRET_ACCESS_KEY,
# MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD and SLACK_BOT_TOKEN yourself.
output "spec_env" {
  description = "Shell exports of the variables stacks/kubernetes.yaml needs."
  value       = <<-EOT
    export K8S_CONTEXT=${var.context}
    export K8S_NAMESPACE=${kubernetes_namespace_v1.zenml.metadata[0].name}
    export K8S_S3_BUCKET=${var.s3_bucket}
    export K8S_S3_ENDPOINT_URL=${var.s3_endpoint_url}
    export K8S_REGISTRY_URI=${var.registry_uri}
    export MLFLOW_TRACKING_URI=${var.mlflow_tracking_uri}
    export SLACK_CHANNEL_ID=${var.slack_channel_id}
  EOT
}
