"""Model lifecycle on the active stack: ZenML Model Control Plane stages mirrored as aliases in the
stack's MLflow model registry (production -> champion, staging -> staging)."""
