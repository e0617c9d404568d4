"""MLflow calls shared by the steps that run under the stack's experiment tracker."""

import mlflow
import pandas as pd
import skops.io
from sklearn.base import BaseEstimator


def log_dataset(frame: pd.DataFrame, name: str, target: str, context: str) -> None:
    mlflow.log_input(mlflow.data.from_pandas(frame, name=name, targets=target), context=context)


def log_sklearn_model(model: BaseEstimator, example: pd.DataFrame, name: str = "model") -> str:
    """Log with skops (safe loading), trusting exactly the types this model is made of.

    Models skops cannot represent (Fairlearn's ThresholdOptimizer holds Cython state) are logged
    with cloudpickle and tagged so, since loading those runs code: load them only from a registry
    you trust. The served LightGBM model never goes this way (see bentos/).
    """
    # Integer columns in a signature refuse missing values at inference time: declare them float.
    ints = example.select_dtypes("integer").columns
    example = example.astype(dict.fromkeys(ints, "float64"))
    try:
        trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    except TypeError:
        info = mlflow.sklearn.log_model(
            model, name=name, serialization_format="cloudpickle", input_example=example
        )
        mlflow.set_tag(f"{name}.serialization", "cloudpickle")
        return info.model_uri
    info = mlflow.sklearn.log_model(model, name=name, skops_trusted_types=trusted, input_example=example)
    mlflow.set_tag(f"{name}.serialization", "skops")
    return info.model_uri
