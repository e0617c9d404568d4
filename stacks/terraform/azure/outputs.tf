# `eval "$(terraform -chdir=stacks/terraform/azure output -raw spec_env)"` exports what
# stacks/azure.yaml reads; `az aks get-credentials -g <group> -n <cluster>` creates the kube
# context; then `python run.py stack apply azure`. Credentials are not outputs: export
# AZURE_STORAGE_ACCOUNT_KEY (`az storage account keys list`), MLflow's and Slack's yourself.
output "spec_env" {
  description = "Shell exports of the variables stacks/azure.yaml needs."
  value       = <<-EOT
    export AZURE_SUBSCRIPTION_ID=${var.subscription_id}
    export AZURE_RESOURCE_GROUP=${azurerm_resource_group.zenml.name}
    export AZURE_ML_WORKSPACE=${azurerm_machine_learning_workspace.zenml.name}
    export AZURE_STORAGE_ACCOUNT=${azurerm_storage_account.artifacts.name}
    export AZURE_STORAGE_CONTAINER=${azurerm_storage_container.artifacts.name}
    export AZURE_REGISTRY_URI=${azurerm_container_registry.images.login_server}
    export AZURE_AKS_CONTEXT=${azurerm_kubernetes_cluster.builds.name}
    export MLFLOW_TRACKING_URI=${var.mlflow_tracking_uri}
    export SLACK_CHANNEL_ID=${var.slack_channel_id}
  EOT
}
