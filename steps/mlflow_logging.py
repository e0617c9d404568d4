"""MLflow calls shared by the steps that run under the stack's experiment tracker."""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import mlflow
import pandas as pd
import skops.io
from sklearn.base import BaseEstimator

INTEGER_SCHEMA_HINT = "Hint: Inferred schema contains integer column"


@contextmanager
def integer_schema_hint_silenced() -> Iterator[None]:
    """MLflow hints, on every schema it infers with an integer column, that integers cannot hold missing
    values. The model's inputs are declared float below; what is left is the dataset record (not
    enforced) and the predicted labels (never missing), so the hint only adds noise to a training run."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=INTEGER_SCHEMA_HINT, category=UserWarning)
        yield


def log_dataset(frame: pd.DataFrame, name: str, target: str, context: str) -> None:
    with integer_schema_hint_silenced():  # the schema is inferred when the input is logged
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
        how = {"skops_trusted_types": trusted}
    except TypeError:
        how = {"serialization_format": "cloudpickle"}
    with integer_schema_hint_silenced():
        info = mlflow.sklearn.log_model(model, name=name, input_example=example, **how)
    mlflow.set_tag(f"{name}.serialization", "skops" if "skops_trusted_types" in how else "cloudpickle")
    return info.model_uri
