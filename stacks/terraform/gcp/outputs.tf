# `eval "$(terraform -chdir=stacks/terraform/gcp output -raw spec_env)"` exports what stacks/gcp.yaml
# reads; then `python run.py stack apply gcp`. Credentials (MLflow, Slack) are not outputs: export
# MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD and SLACK_BOT_TOKEN yourself.
output "spec_env" {
  description = "Shell exports of the variables stacks/gcp.yaml needs."
  value       = <<-EOT
    export GCP_PROJECT_ID=${var.project_id}
    export GCP_REGION=${var.region}
    export GCP_BUCKET=${google_storage_bucket.artifacts.name}
    export GCP_REGISTRY_URI=${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}
    export GCP_SERVICE_ACCOUNT=${google_service_account.workloads.email}
    export MLFLOW_TRACKING_URI=${var.mlflow_tracking_uri}
    export SLACK_CHANNEL_ID=${var.slack_channel_id}
  EOT
}
