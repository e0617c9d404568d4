"""Shared test setup: no test touches the user's ZenML, MLflow or BentoML state."""

import os
import tempfile

# Before anything imports zenml/mlflow/bentoml: no telemetry from tests.
os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

# MLflow calls made by the test process itself never write into the working tree.
os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{tempfile.mkdtemp(prefix='mlflow-')}/mlflow.db")
