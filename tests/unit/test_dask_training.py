"""`training.engine`: validated (dask trains LightGBM only), and the hook through which the estimator
is fitted elsewhere gives the same pipeline as fitting it in place (the fit on a LocalCluster with
lightgbm.dask: tests/e2e/test_dask_scoring.py)."""

import numpy as np
import pytest
from lightgbm import LGBMClassifier

from ml import names
from ml.data.demo import generate_demo
from ml.features import build_customer_features, feature_columns, infer_schema
from ml.settings import (
    ConfigError,
    DataSettings,
    FeatureSettings,
    ModelSettings,
    TrainingSettings,
    load_settings,
)
from ml.training import predict_proba, train_model


@pytest.mark.parametrize("kind", ["logistic_regression", "random_forest"])
def test_engine_dask_with_a_model_that_is_not_lightgbm_is_refused_naming_field_value_and_fix(tmp_path, kind):
    path = tmp_path / "training.yaml"
    path.write_text(f"engine: dask\nmodel: {{kind: {kind}}}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, TrainingSettings)
    message = str(caught.value)
    for part in ("engine", "'dask'", f"model.kind is '{kind}'", "engine: pandas", "model.kind: lightgbm"):
        assert part in message, message
    assert TrainingSettings(engine="dask").dask.workers == 2, "lightgbm with dask: a LocalCluster of 2"
    with pytest.raises(ValueError, match="pandas"):
        TrainingSettings(engine="spark")


def test_an_estimator_fitted_elsewhere_gives_the_pipeline_fitted_in_place():
    tables = generate_demo(customers=800, seed=5)
    frame = build_customer_features(tables.customers, tables.sales)
    data = DataSettings()
    schema = infer_schema(frame, feature_columns(frame, data, FeatureSettings()), data, names.BAD)
    settings = ModelSettings(params={"n_estimators": 30})
    calls = []

    def fit(estimator, X, y, **params):
        calls.append((type(estimator), list(X.columns), sorted(params)))
        return estimator.fit(X, y, **params)

    here, elsewhere = (
        train_model(frame, schema, settings, 0),
        train_model(frame, schema, settings, 0, fit=fit),
    )
    assert calls == [(LGBMClassifier, list(here[:-1].get_feature_names_out()), ["categorical_feature"])]
    np.testing.assert_array_equal(predict_proba(elsewhere, frame, schema), predict_proba(here, frame, schema))
    with pytest.raises(TypeError, match="not the LGBMClassifier"):
        train_model(frame, schema, settings, 0, fit=lambda estimator, X, y, **params: "a model")
