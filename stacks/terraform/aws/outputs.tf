# `eval "$(terraform -chdir=stacks/terraform/aws output -raw spec_env)"` exports what stacks/aws.yaml
# reads; then `python run.py stack apply aws`. Credentials (MLflow, Slack) are not outputs: export
# MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD and SLACK_BOT_TOKEN yourself.
output "spec_env" {
  description = "Shell exports of the variables stacks/aws.yaml needs."
  value       = <<-EOT
    export AWS_REGION=${var.region}
    export AWS_S3_BUCKET=${aws_s3_bucket.artifacts.bucket}
    export AWS_ECR_REGISTRY_URI=${split("/", aws_ecr_repository.images.repository_url)[0]}
    export AWS_CODEBUILD_PROJECT=${aws_codebuild_project.images.name}
    export AWS_SAGEMAKER_ROLE_ARN=${aws_iam_role.sagemaker.arn}
    export MLFLOW_TRACKING_URI=${var.mlflow_tracking_uri}
    export SLACK_CHANNEL_ID=${var.slack_channel_id}
  EOT
}
