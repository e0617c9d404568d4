# What stacks/azure.yaml needs: a storage account + container (artifacts), a container registry, an
# Azure Machine Learning workspace (pipelines and step jobs) with the key vault and Application
# Insights it requires, and a small AKS cluster where Kaniko builds the images. `spec_env`
# (outputs.tf) exports the spec's variables. ZenML's zenml-io/zenml-stack/azure module provisions
# similar resources and registers its own stack; here stacks/azure.yaml stays the source of truth.

data "azurerm_client_config" "current" {}

resource "azurerm_resource_group" "zenml" {
  name     = "${var.name}-zenml"
  location = var.location
}

resource "azurerm_storage_account" "artifacts" {
  #checkov:skip=CKV_AZURE_33: queue service unused (blobs only), so no queue logging
  #checkov:skip=CKV_AZURE_59: AzureML and AKS reach the account over the public endpoint with Entra ID auth; a private endpoint needs a VNet this module does not own
  #checkov:skip=CKV_AZURE_206: artifacts are reproducible; GRS replication is enough without RA-GRS/GZRS
  #checkov:skip=CKV2_AZURE_1: Microsoft-managed keys; customer-managed keys need a key-rotation process first
  #checkov:skip=CKV2_AZURE_33: see CKV_AZURE_59 (no private endpoint)
  #checkov:skip=CKV2_AZURE_38: soft delete is on for blobs and containers (blob_properties)
  #checkov:skip=CKV2_AZURE_40: shared keys stay on for the AzureML workspace's own data store
  #checkov:skip=CKV2_AZURE_41: no SAS tokens are issued by this module
  name                            = "${var.name}artifacts"
  resource_group_name             = azurerm_resource_group.zenml.name
  location                        = azurerm_resource_group.zenml.location
  account_tier                    = "Standard"
  account_replication_type        = "GRS"
  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  allow_nested_items_to_be_public = false
  blob_properties {
    versioning_enabled = true
    delete_retention_policy {
      days = 30
    }
    container_delete_retention_policy {
      days = 30
    }
  }
}

resource "azurerm_storage_container" "artifacts" {
  #checkov:skip=CKV2_AZURE_21: blob read logging goes to the team's diagnostic settings, not created here
  name                  = "zenml"
  storage_account_id    = azurerm_storage_account.artifacts.id
  container_access_type = "private"
}

resource "azurerm_container_registry" "images" {
  #checkov:skip=CKV_AZURE_164: image signing (content trust) is not part of this pipeline yet
  #checkov:skip=CKV_AZURE_165: single-region registry; geo-replication is a cost decision per team
  #checkov:skip=CKV_AZURE_166: quarantine needs a scanner wired to release images; not used
  #checkov:skip=CKV_AZURE_167: untagged manifests are few (immutable, tagged builds); no retention policy
  #checkov:skip=CKV_AZURE_233: zone redundancy is a cost decision per team
  #checkov:skip=CKV_AZURE_237: no dedicated data endpoints without private networking
  #checkov:skip=CKV_AZURE_139: AKS and AzureML pull over the public endpoint with Entra ID auth (no VNet owned here)
  name                   = "${var.name}images"
  resource_group_name    = azurerm_resource_group.zenml.name
  location               = azurerm_resource_group.zenml.location
  sku                    = "Premium"
  admin_enabled          = false
  anonymous_pull_enabled = false
}

resource "azurerm_application_insights" "ml" {
  name                = "${var.name}-ml-insights"
  resource_group_name = azurerm_resource_group.zenml.name
  location            = azurerm_resource_group.zenml.location
  application_type    = "other"
}

resource "azurerm_key_vault" "ml" {
  #checkov:skip=CKV_AZURE_109: AzureML reaches its key vault over the public endpoint (no VNet owned here)
  #checkov:skip=CKV_AZURE_189: same as CKV_AZURE_109
  #checkov:skip=CKV2_AZURE_32: no private endpoint (no VNet owned here)
  name                       = "${var.name}-ml-vault"
  resource_group_name        = azurerm_resource_group.zenml.name
  location                   = azurerm_resource_group.zenml.location
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  purge_protection_enabled   = true
  soft_delete_retention_days = 30
  rbac_authorization_enabled = true
}

resource "azurerm_machine_learning_workspace" "zenml" {
  #checkov:skip=CKV_AZURE_144: the ZenML client submits jobs from outside Azure; public access stays on
  #checkov:skip=CKV_AZURE_236: Microsoft-managed keys (see the storage account)
  #checkov:skip=CKV2_AZURE_50: the storage account is reached over its public endpoint with Entra ID auth only (no anonymous access); a private endpoint needs a VNet not owned here
  name                    = "${var.name}-ml"
  resource_group_name     = azurerm_resource_group.zenml.name
  location                = azurerm_resource_group.zenml.location
  application_insights_id = azurerm_application_insights.ml.id
  key_vault_id            = azurerm_key_vault.ml.id
  storage_account_id      = azurerm_storage_account.artifacts.id
  container_registry_id   = azurerm_container_registry.images.id
  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_kubernetes_cluster" "builds" {
  #checkov:skip=CKV_AZURE_6: the API server is reached from developer machines and CI; restrict with authorized ranges per team
  #checkov:skip=CKV_AZURE_115: a private cluster needs a VNet and a jump host this module does not own
  #checkov:skip=CKV_AZURE_117: OS disks use platform-managed keys (no disk encryption set owned here)
  #checkov:skip=CKV_AZURE_226: ephemeral OS disks depend on the VM size chosen per team
  #checkov:skip=CKV_AZURE_227: host encryption needs the subscription feature EncryptionAtHost registered first
  #checkov:skip=CKV_AZURE_232: one small system pool runs the Kaniko build pods
  #checkov:skip=CKV_AZURE_168: the build pool's default max pods suffices for Kaniko jobs
  #checkov:skip=CKV_AZURE_170: free tier: builds are not latency-critical, no uptime SLA needed
  #checkov:skip=CKV_AZURE_171: automatic upgrades are scheduled by the team (node_os_upgrade_channel)
  #checkov:skip=CKV_AZURE_172: Key Vault secrets are not mounted in build pods
  #checkov:skip=CKV_AZURE_4: Azure Monitor agent wiring is left to the team's observability setup
  #checkov:skip=CKV_AZURE_141: local accounts disabled below; this check predates the attribute
  #checkov:skip=CKV_AZURE_116: Azure Policy add-on is managed at subscription level
  name                              = "${var.name}-builds"
  resource_group_name               = azurerm_resource_group.zenml.name
  location                          = azurerm_resource_group.zenml.location
  dns_prefix                        = "${var.name}-builds"
  local_account_disabled            = true
  role_based_access_control_enabled = true
  azure_policy_enabled              = true
  automatic_upgrade_channel         = "patch"
  node_os_upgrade_channel           = "NodeImage"
  default_node_pool {
    name       = "system"
    vm_size    = "Standard_D4s_v5"
    node_count = 1
  }
  azure_active_directory_role_based_access_control {
    azure_rbac_enabled = true
  }
  network_profile {
    network_plugin = "azure"
    network_policy = "azure"
  }
  identity {
    type = "SystemAssigned"
  }
}

# The cluster's kubelet pushes the images Kaniko builds; AzureML pulls them.
resource "azurerm_role_assignment" "builds_push" {
  scope                = azurerm_container_registry.images.id
  role_definition_name = "AcrPush"
  principal_id         = azurerm_kubernetes_cluster.builds.kubelet_identity[0].object_id
}

resource "azurerm_role_assignment" "ml_blobs" {
  scope                = azurerm_storage_account.artifacts.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_machine_learning_workspace.zenml.identity[0].principal_id
}
