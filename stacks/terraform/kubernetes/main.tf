# What stacks/kubernetes.yaml needs inside any cluster: a namespace, the service account the
# orchestrator and step pods run as, and the least RBAC that lets the orchestrator pod start and
# watch step pods/jobs. The bucket, the registry and the MLflow server are the team's (inputs).

resource "kubernetes_namespace_v1" "zenml" {
  metadata {
    name = var.namespace
    labels = {
      "app.kubernetes.io/managed-by"       = "terraform"
      "pod-security.kubernetes.io/enforce" = "baseline"
    }
  }
}

resource "kubernetes_service_account_v1" "runner" {
  metadata {
    name      = "zenml-runner"
    namespace = kubernetes_namespace_v1.zenml.metadata[0].name
  }
  automount_service_account_token = true # the orchestrator pod talks to the API server
}

resource "kubernetes_role_v1" "runner" {
  metadata {
    name      = "zenml-runner"
    namespace = kubernetes_namespace_v1.zenml.metadata[0].name
  }
  rule {
    api_groups = [""]
    resources  = ["pods", "pods/log"]
    verbs      = ["get", "list", "watch", "create", "delete"]
  }
  rule {
    api_groups = ["batch"]
    resources  = ["jobs", "cronjobs"]
    verbs      = ["get", "list", "watch", "create", "delete", "patch"]
  }
  rule {
    api_groups = [""]
    resources  = ["secrets"]
    verbs      = ["get", "create", "delete"]
  }
}

resource "kubernetes_role_binding_v1" "runner" {
  metadata {
    name      = "zenml-runner"
    namespace = kubernetes_namespace_v1.zenml.metadata[0].name
  }
  role_ref {
    api_group = "rbac.authorization.k8s.io"
    kind      = "Role"
    name      = kubernetes_role_v1.runner.metadata[0].name
  }
  subject {
    kind      = "ServiceAccount"
    name      = kubernetes_service_account_v1.runner.metadata[0].name
    namespace = kubernetes_namespace_v1.zenml.metadata[0].name
  }
}
