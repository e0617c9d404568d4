# What stacks/aws.yaml needs: an S3 bucket (artifacts + MLflow artifacts), an ECR repository, a
# CodeBuild project that builds the pipeline images, and the IAM role SageMaker runs the pipeline
# and step jobs with. Outputs: `spec_env` (outputs.tf) exports the spec's variables.
# ZenML also publishes zenml-io/zenml-stack/aws, which provisions similar resources AND registers its
# own stack through the ZenML API; here the spec registers the stack (`python run.py stack apply aws`)
# so one declarative file stays the source of truth for components, secrets and run settings.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
  bucket  = "${var.name}-${local.account}-${var.region}"
}

resource "aws_kms_key" "zenml" {
  description         = "Encrypts the ${var.name} artifact bucket, image repository and build logs"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${data.aws_partition.current.partition}:iam::${local.account}:root" }
        Action    = "kms:*"
        Resource  = "*"
      }
    ]
  })
}

resource "aws_s3_bucket" "artifacts" {
  #checkov:skip=CKV_AWS_18: access logs would need a second bucket; CloudTrail data events cover audits
  #checkov:skip=CKV_AWS_144: artifacts are reproducible from code + data; no cross-region replica
  #checkov:skip=CKV2_AWS_62: nothing consumes bucket events
  bucket = local.bucket
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.zenml.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  bucket                  = aws_s3_bucket.artifacts.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    id     = "tidy"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
  }
}

resource "aws_ecr_repository" "images" {
  name                 = "${var.name}-pipelines"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.zenml.arn
  }
}

resource "aws_cloudwatch_log_group" "builds" {
  name              = "/codebuild/${var.name}-images"
  retention_in_days = 365
  kms_key_id        = aws_kms_key.zenml.arn
}

data "aws_iam_policy_document" "assume_sagemaker" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "assume_codebuild" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["codebuild.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "artifacts" {
  statement {
    sid       = "Bucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.artifacts.arn]
  }
  statement {
    sid       = "Objects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.artifacts.arn}/*"]
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.zenml.arn]
  }
  statement {
    sid       = "PullImages"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [aws_ecr_repository.images.arn]
  }
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # the action has no resource-level permission
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${data.aws_partition.current.partition}:logs:${var.region}:${local.account}:log-group:/aws/sagemaker/*"]
  }
}

resource "aws_iam_role" "sagemaker" {
  name               = "${var.name}-sagemaker"
  assume_role_policy = data.aws_iam_policy_document.assume_sagemaker.json
}

resource "aws_iam_role_policy" "sagemaker" {
  name   = "artifacts-images-logs"
  role   = aws_iam_role.sagemaker.id
  policy = data.aws_iam_policy_document.artifacts.json
}

data "aws_iam_policy_document" "builds" {
  statement {
    sid       = "BuildContext"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.artifacts.arn}/*"]
  }
  statement {
    sid       = "Key"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.zenml.arn]
  }
  statement {
    sid = "PushImages"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
    ]
    resources = [aws_ecr_repository.images.arn]
  }
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # the action has no resource-level permission
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.builds.arn}:*"]
  }
}

resource "aws_iam_role" "builds" {
  name               = "${var.name}-codebuild"
  assume_role_policy = data.aws_iam_policy_document.assume_codebuild.json
}

resource "aws_iam_role_policy" "builds" {
  name   = "context-images-logs"
  role   = aws_iam_role.builds.id
  policy = data.aws_iam_policy_document.builds.json
}

resource "aws_codebuild_project" "images" {
  #checkov:skip=CKV_AWS_316: building Docker images inside CodeBuild needs privileged mode
  name           = "${var.name}-images"
  description    = "Builds the ZenML pipeline images (ZenML's aws image builder starts the builds)"
  service_role   = aws_iam_role.builds.arn
  encryption_key = aws_kms_key.zenml.arn
  build_timeout  = 60
  artifacts {
    type = "NO_ARTIFACTS"
  }
  environment {
    compute_type    = "BUILD_GENERAL1_MEDIUM"
    image           = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"
    type            = "LINUX_CONTAINER"
    privileged_mode = true
  }
  source {
    type     = "S3"
    location = "${aws_s3_bucket.artifacts.bucket}/codebuild"
  }
  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.builds.name
    }
  }
}
