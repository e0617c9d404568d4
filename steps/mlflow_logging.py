"""MLflow calls shared by the steps that run under the stack's experiment tracker."""

import ast
import importlib.util
import io
import pickle
import sys
import types
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import metadata
from pathlib import Path

import mlflow
import pandas as pd
import skops.io
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import AnyType, ColSpec, Schema
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from ml import names
from ml.features import FeatureSchema
from ml.training import as_model_input

INTEGER_SCHEMA_HINT = "Hint: Inferred schema contains integer column"


@contextmanager
def integer_schema_hint_silenced() -> Iterator[None]:
    """MLflow hints, on every schema it infers with an integer column, that integers cannot hold missing
    values. The model's numeric inputs are declared ``any`` (``model_signature``); what is left is the
    dataset record (not enforced) and the predicted labels (never missing), so the hint only adds noise
    to a training run."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=INTEGER_SCHEMA_HINT, category=UserWarning)
        yield


def log_dataset(frame: pd.DataFrame, name: str, target: str, context: str) -> None:
    with integer_schema_hint_silenced():  # the schema is inferred when the input is logged
        mlflow.log_input(mlflow.data.from_pandas(frame, name=name, targets=target), context=context)


def log_trained_model(model: Pipeline, frame: pd.DataFrame, schema: FeatureSchema) -> str:
    """Log a pipeline of ``ml.training.train_model`` (which reads ``as_model_input`` rows: its
    categories as text) with a few rows of ``frame`` as it reads them as the example. Given raw
    rows, a boolean category failed MLflow's check of the example ("y contains previously unseen
    labels: np.True_") and the signature typed it boolean."""
    return log_sklearn_model(model, as_model_input(frame.head(5), schema))


def log_sklearn_model(model: BaseEstimator, example: pd.DataFrame, name: str = "model") -> str:
    """Log with skops (safe loading), trusting exactly the types this model is made of.

    Models skops cannot represent (Fairlearn's ThresholdOptimizer holds Cython state) are logged
    with cloudpickle and tagged so, since loading those runs code: load them only from a registry
    you trust. The served LightGBM model never goes this way (see bentos/).
    """
    try:
        trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
        how = {"skops_trusted_types": trusted}
        serializer = "skops"
    except TypeError:
        how = {"serialization_format": "cloudpickle"}
        serializer = "cloudpickle"
    requirements, code_paths = model_dependencies(model, serializer)
    with integer_schema_hint_silenced():
        info = mlflow.sklearn.log_model(
            model,
            name=name,
            input_example=example,
            signature=model_signature(model, example),
            pip_requirements=requirements,
            code_paths=code_paths or None,
            **how,
        )
    mlflow.set_tag(f"{name}.serialization", serializer)
    return info.model_uri


def model_signature(model: BaseEstimator, example: pd.DataFrame) -> ModelSignature:
    """The signature MLflow infers from ``example`` and the model's predictions, with every numeric
    input column declared ``any``: MLflow has no "number" type, and its checks on a pyfunc's input
    refuse an int64 column where the signature says double ("Can not safely convert int64 to
    float64": an income column without decimals, an age read from a CSV) and missing values where it
    says long (a column without gaps in the example). The model takes integers, floats and NaN alike;
    the column names and the text columns' type are still enforced."""
    inferred = infer_signature(example, model.predict(example))
    numeric = set(example.select_dtypes("number").columns)
    inputs = [
        ColSpec(AnyType(), spec.name, required=spec.required) if spec.name in numeric else spec
        for spec in inferred.inputs.inputs
    ]
    return ModelSignature(inputs=Schema(inputs), outputs=inferred.outputs)


def model_dependencies(model: BaseEstimator, serializer: str) -> tuple[list[str], list[str]]:
    """What loading ``model`` needs: its pip requirements, pinned to the installed versions, and the
    project code it holds (MLflow's ``code_paths``).

    Found by pickling it once and recording the module of every object written (the estimator, its
    pipelines' steps, fitted wrappers such as Fairlearn's ThresholdOptimizer, numpy arrays):
    installed distributions are required, plus the ``serializer`` that writes it. A module of the
    project (the mitigated model is ``ml.fairness.MitigatedClassifier``, which holds settings and a
    schema of ``ml``) is no distribution: its package is shipped with the model, and what that
    package imports is required too, so the registered model loads outside the project.
    MLflow's own inference (a subprocess that loads the model and lists what got imported) took ~7 s
    a model, and listed what those imports pull in optionally (pytest, dask, rich)."""
    modules: set[str] = set()

    class Recorder(pickle.Pickler):
        def reducer_override(self, obj):
            owner = obj if isinstance(obj, type | types.FunctionType) else type(obj)
            modules.add(getattr(owner, "__module__", None) or "")
            return NotImplemented

    Recorder(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL).dump(model)
    tops, code = _project_imports(modules - {""})
    found = {dist for top in sorted(tops) for dist in _distributions().get(top, [])}
    requirements = sorted(
        f"{dist}=={metadata.version(dist)}" for dist in found | {"scikit-learn", serializer}
    )
    return requirements, sorted(code)


def _project_imports(modules: set[str]) -> tuple[set[str], set[str]]:
    """The top-level modules of ``modules`` and of every module a project module among them imports
    (read from its source, recursively; the standard library left out), and the project packages'
    directories. Project = neither an installed distribution nor the standard library."""
    found, code, seen = set(), set(), set()
    pending = list(modules)
    while pending:
        name = pending.pop()
        top = name.partition(".")[0]
        if name in seen or top in sys.stdlib_module_names or top in sys.builtin_module_names:
            continue
        seen.add(name)
        found.add(top)
        if top in _distributions():
            continue
        spec = _spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        root = _spec(top)
        code.add(
            str(Path(root.submodule_search_locations[0] if root.submodule_search_locations else root.origin))
        )
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]  # ml for ml.x
        pending += parents + _imported_by(
            Path(spec.origin), name, spec.submodule_search_locations is not None
        )
    return found, code


def _imported_by(source: Path, module: str, package: bool) -> list[str]:
    """The modules ``source`` (module ``module``) imports when it is imported: outside functions and
    ``if TYPE_CHECKING:`` blocks, relative imports resolved; ``from a import b`` gives ``a.b`` too
    when that is a module."""
    base = module if package else module.rpartition(".")[0]
    out, pending = [], list(ast.parse(source.read_text(), str(source)).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            parent = base.rsplit(".", node.level - 1)[0] if node.level else ""
            head = ".".join(part for part in (parent, node.module or "") if part)
            out.append(head)
            if head.partition(".")[0] == module.partition(".")[0]:  # ``from ml import names``
                out += [f"{head}.{alias.name}" for alias in node.names if _spec(f"{head}.{alias.name}")]
        elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending += node.orelse
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            pending += [
                child
                for child in ast.iter_child_nodes(node)
                if isinstance(child, ast.stmt | ast.excepthandler)
            ]
    return out


def _spec(name: str):
    """``name``'s module spec, or None for no module (or a pseudo-module such as Cython's
    ``_cython_3_1_4``, which Cython functions name as theirs)."""
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None


@cache
def _distributions() -> dict[str, list[str]]:
    """Top-level module -> the installed distributions providing it."""
    return metadata.packages_distributions()


def carry_over_cached_steps(cached: dict[str, dict]) -> str | None:
    """A training resumed from the step cache: its cached steps (``cached``: their metadata by name)
    logged nothing into this MLflow run, which held only the promotion tag, so comparing the
    experiment's runs showed a version without its figures. Copy the params and metrics of the run
    that computed them (the evaluate step's recorded MLflow run) into the active run, except any this
    run logged itself, and tag where they came from (``cached_from_run``, ``cached_steps``). Returns
    that run's name (its id when this tracker does not hold it), None when nothing was cached or no
    run is known."""
    source = next((m[names.MLFLOW_RUN_ID] for m in cached.values() if m.get(names.MLFLOW_RUN_ID)), None)
    active = mlflow.active_run()
    if not cached or source is None or active is None or source == active.info.run_id:
        return None
    mlflow.set_tags({"cached_from_run": source, "cached_steps": ",".join(sorted(cached))})
    client = mlflow.MlflowClient()
    try:
        found = client.get_run(source)
    except MlflowException:  # not in this stack's tracker: the tags say where to look
        return source
    own = client.get_run(active.info.run_id).data
    mlflow.log_params({k: v for k, v in found.data.params.items() if k not in own.params})
    mlflow.log_metrics({k: v for k, v in found.data.metrics.items() if k not in own.metrics})
    return found.info.run_name or source
