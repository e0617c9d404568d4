"""MLflow calls shared by the steps that run under the stack's experiment tracker."""

import io
import pickle
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import metadata

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
        serializer = "skops"
    except TypeError:
        how = {"serialization_format": "cloudpickle"}
        serializer = "cloudpickle"
    requirements = model_requirements(model, serializer)
    with integer_schema_hint_silenced():
        info = mlflow.sklearn.log_model(
            model, name=name, input_example=example, pip_requirements=requirements, **how
        )
    mlflow.set_tag(f"{name}.serialization", serializer)
    return info.model_uri


def model_requirements(model: BaseEstimator, serializer: str) -> list[str]:
    """What loading ``model`` needs, pinned to the installed versions: the distributions of every
    object it is made of (found by pickling it once: the estimator, its pipelines' steps, fitted
    wrappers such as Fairlearn's ThresholdOptimizer, numpy arrays) and the ``serializer`` that writes
    it. Given to MLflow as the model's pip_requirements: MLflow's own inference (a subprocess that
    loads the model and lists what got imported) takes ~7 s a model, and listed what those imports
    pull in optionally (pytest, dask, rich), which the model does not need. The project's own
    classes (``ml.…``) are no distribution: load such a model where the project is installed."""
    modules: set[str] = set()

    class Recorder(pickle.Pickler):
        def reducer_override(self, obj):
            modules.add(getattr(obj if isinstance(obj, type) else type(obj), "__module__", None) or "")
            return NotImplemented

    Recorder(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL).dump(model)
    tops = {module.partition(".")[0] for module in modules}
    found = {dist for top in sorted(tops) for dist in _distributions().get(top, [])}
    return sorted(f"{dist}=={metadata.version(dist)}" for dist in found | {"scikit-learn", serializer})


@cache
def _distributions() -> dict[str, list[str]]:
    """Top-level module -> the installed distributions providing it."""
    return metadata.packages_distributions()
