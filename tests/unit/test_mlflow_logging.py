"""What a training run resumed from the step cache leaves in MLflow (steps/mlflow_logging.py)."""

import mlflow
import mlflow.tracking._tracking_service.utils as tracking_utils
import pytest

from ml import names
from steps.mlflow_logging import carry_over_cached_steps


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    monkeypatch.setattr(tracking_utils, "_tracking_uri", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)  # a database store keeps artifacts in ./mlruns: not in the working tree
    return mlflow.MlflowClient()


def test_a_cached_training_run_gets_the_figures_of_the_run_that_computed_them_and_says_so(tracking):
    """The second `run.py train` on unchanged data and code: select_model, evaluate and check_fairness
    come from the cache and logged nothing into the new run, which showed a version with no precision
    where runbook 2 compares the runs. Their params and metrics are copied from the first run (the
    evaluate step's recorded run), tagged with where from; what the new run logged itself is kept."""
    with mlflow.start_run() as first:
        mlflow.log_params({"model_kind": "lightgbm", "seed": 42})
        mlflow.log_metrics({"precision": 0.7564, "recall": 0.81, "fairness_score": 0.924})
    cached = {
        "select_model": {names.MLFLOW_MODEL_URI: "models:/m-1"},
        "evaluate": {names.MLFLOW_RUN_ID: first.info.run_id, names.METRICS: {"precision": 0.7564}},
    }
    with mlflow.start_run() as second:
        mlflow.log_metric("fairness_score", 0.93)  # check_fairness ran again in this run
        assert carry_over_cached_steps(cached) == first.info.run_name, "the run it reused, by name"
    data = tracking.get_run(second.info.run_id).data
    assert data.params == {"model_kind": "lightgbm", "seed": "42"}
    assert data.metrics == {"precision": 0.7564, "recall": 0.81, "fairness_score": 0.93}
    assert data.tags["cached_from_run"] == first.info.run_id
    assert data.tags["cached_steps"] == "evaluate,select_model"


def test_a_run_with_nothing_cached_or_a_source_the_tracker_does_not_hold_copies_nothing(tracking):
    with mlflow.start_run() as run:
        assert carry_over_cached_steps({}) is None
        assert carry_over_cached_steps({"evaluate": {}}) is None, "no recorded run: nothing to copy"
        gone = {"evaluate": {names.MLFLOW_RUN_ID: "0123456789abcdef0123456789abcdef"}}
        assert carry_over_cached_steps(gone) == gone["evaluate"][names.MLFLOW_RUN_ID]
    data = tracking.get_run(run.info.run_id).data
    assert not data.metrics and not data.params
    assert data.tags["cached_from_run"] == "0123456789abcdef0123456789abcdef", "the tag still says where"
