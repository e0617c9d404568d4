"""Shared test setup: no test touches the user's ZenML, MLflow or BentoML state."""

import os

# Before anything imports zenml/mlflow/bentoml: no telemetry from tests.
os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
