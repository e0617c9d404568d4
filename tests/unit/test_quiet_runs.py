"""Warnings a user can do nothing about are not printed; every other warning still is."""

import logging
import warnings

import mlflow
import mlflow.tracking._tracking_service.utils as tracking_utils
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

import steps
from steps.mlflow_logging import log_dataset, log_sklearn_model


def test_only_the_removed_fastai_flavor_warning_is_dropped(caplog):
    logger = logging.getLogger(steps.MLFLOW_TRACKER_LOGGER)
    with caplog.at_level(logging.WARNING, logger=steps.MLFLOW_TRACKER_LOGGER):
        logger.warning(steps.REMOVED_FLAVOR_WARNING)
        logger.warning("Failed to disable MLflow autologging for the following frameworks: ['sklearn'].")
    shown = [r.getMessage() for r in caplog.records]
    assert shown == ["Failed to disable MLflow autologging for the following frameworks: ['sklearn']."], (
        f"the fastai line must be dropped and any other failure kept: {shown}"
    )


def test_logging_a_dataset_and_a_model_with_integer_columns_gives_no_schema_hint(tmp_path, monkeypatch):
    # mlflow.set_tracking_uri's global, restored after the test: set_tracking_uri("") left "" there,
    # which hid the MLFLOW_TRACKING_URI variable from every later test of this process
    monkeypatch.setattr(tracking_utils, "_tracking_uri", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)  # a database store keeps artifacts in ./mlruns: not in the working tree
    frame = pd.DataFrame({"visits": np.arange(40), "spend": np.linspace(0, 1, 40)})
    target = (frame["spend"] > 0.5).astype(int)
    model = LogisticRegression().fit(frame, target)
    with mlflow.start_run(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        log_dataset(frame.assign(target=target), "train", "target", "training")
        uri = log_sklearn_model(model, frame.head(5))
        warnings.warn("another warning", UserWarning, stacklevel=1)
    loaded = mlflow.sklearn.load_model(uri)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "Inferred schema contains integer" in m], messages
    assert "another warning" in messages, "only MLflow's integer hint is silenced, not every warning"
    assert (loaded.predict(frame) == model.predict(frame)).all(), "the logged model is the trained one"
