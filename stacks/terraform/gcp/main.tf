# What stacks/gcp.yaml needs: a GCS bucket, an Artifact Registry Docker repository, the APIs of
# Vertex AI and Cloud Build, and the service account Vertex AI runs the pipeline and step jobs as
# (least privilege: the bucket, the repository, Vertex AI jobs). `spec_env` (outputs.tf) exports the
# spec's variables. ZenML's zenml-io/zenml-stack/gcp module provisions similar resources and registers
# its own stack; here stacks/gcp.yaml stays the one source of truth for components and settings.

resource "google_project_service" "apis" {
  for_each = toset([
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "storage.googleapis.com",
  ])
  service            = each.value
  disable_on_destroy = false
}

resource "google_storage_bucket" "artifacts" {
  #checkov:skip=CKV_GCP_62: access logs would need a second bucket; Cloud Audit Logs record data access
  name                        = "${var.name}-${var.project_id}-artifacts"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  versioning {
    enabled = true
  }
  lifecycle_rule {
    condition {
      num_newer_versions = 5
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
  depends_on = [google_project_service.apis]
}

resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84: Google-managed encryption; customer keys need a KMS key ring and rotation owned by the team
  location      = var.region
  repository_id = "${var.name}-pipelines"
  description   = "ZenML pipeline images (built by Cloud Build)"
  format        = "DOCKER"
  docker_config {
    immutable_tags = true
  }
  depends_on = [google_project_service.apis]
}

resource "google_service_account" "workloads" {
  account_id   = "${var.name}-workloads"
  display_name = "Runs the ZenML pipelines on Vertex AI"
}

resource "google_storage_bucket_iam_member" "workloads_objects" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.workloads.email}"
}

resource "google_artifact_registry_repository_iam_member" "workloads_pull" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.workloads.email}"
}

resource "google_project_iam_member" "workloads_vertex" {
  project = var.project_id
  role    = "roles/aiplatform.user"
  member  = "serviceAccount:${google_service_account.workloads.email}"
}

# Cloud Build (ZenML's gcp image builder) reads the build context from the bucket and pushes images.
data "google_project" "this" {}

locals {
  cloud_build = "serviceAccount:${data.google_project.this.number}@cloudbuild.gserviceaccount.com"
}

resource "google_storage_bucket_iam_member" "builds_context" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectViewer"
  member = local.cloud_build
}

resource "google_artifact_registry_repository_iam_member" "builds_push" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = local.cloud_build
}
