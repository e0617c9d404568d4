"""The served model, stored without pickle: LightGBM's own text format (or a linear model's
numbers) plus a JSON spec of the inputs (feature order, category codes, ranges), the release's
decision threshold and, for a fairness-mitigated release, its group thresholds. Plain code: no
BentoML, no ZenML, no training; decisions come from ``ml.decision``, shared with batch scoring."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

BOOSTER_FILE = "booster.txt"
SPEC_FILE = "spec.json"


class BundleError(ValueError):
    """A model cannot be exported for serving, or a bundle is incomplete."""


def _linear_spec(prep: Any, clf: Any) -> dict:
    """A fitted one-hot + impute/scale ColumnTransformer and a binary linear classifier as numbers:
    one entry per transformed column, in the preprocessor's output order, and the coefficients."""
    columns: list[dict] = []
    for name, transformer, sources in prep.transformers_:
        if name == "cat" and len(sources):  # no categorical feature: an unfitted encoder
            for source, values in zip(sources, transformer.categories_, strict=True):
                for value in values:
                    missing = isinstance(value, float) and math.isnan(value)
                    columns.append({"source": str(source), "onehot": None if missing else str(value)})
        elif name == "num" and len(sources):
            impute, scale = transformer.named_steps["impute"], transformer.named_steps["scale"]
            for j, source in enumerate(sources):
                columns.append(
                    {
                        "source": str(source),
                        "fill": float(impute.statistics_[j]),
                        "mean": float(scale.mean_[j]),
                        "scale": float(scale.scale_[j]),
                    }
                )
    coef = clf.coef_.ravel()
    if len(coef) != len(columns):
        raise BundleError(f"the linear model has {len(coef)} coefficients for {len(columns)} inputs")
    return {"columns": columns, "coef": [float(c) for c in coef], "intercept": float(clf.intercept_[0])}


def unservable(model: Any) -> str | None:
    """Why the served bundle cannot hold ``model`` (a training pipeline or its fairness-mitigated
    wrapper), None when it can: LightGBM and binary linear classifiers only."""
    from sklearn.pipeline import Pipeline

    if hasattr(model, "serving_spec") and hasattr(model, "model"):  # ml.fairness.MitigatedClassifier
        model = model.model
    if not isinstance(model, Pipeline) or "clf" not in model.named_steps:
        return (
            f"only training pipelines (or their fairness-mitigated wrappers) can be served, got "
            f"{type(model).__name__}"
        )
    clf = model.named_steps["clf"]
    if hasattr(clf, "booster_") or (hasattr(clf, "coef_") and np.shape(clf.coef_)[0] == 1):
        return None
    return (
        f"the served bundle holds LightGBM or linear models (model.kind: lightgbm or "
        f"logistic_regression), got {type(clf).__name__}: train one of those to deploy it"
    )


def export_bundle(model: Any, schema: dict, threshold: float, directory: Path, info: dict) -> dict:
    """Write a released model into ``directory`` as plain files: a LightGBM pipeline (ordinal-coded
    categoricals + numerics) as ``booster.txt``, a linear one (one-hot + imputed, scaled numerics)
    as numbers in ``spec.json``; a fairness-mitigated release adds its group thresholds
    (``MitigatedClassifier.serving_spec``). Return the spec."""
    why = unservable(model)
    if why is not None:
        raise BundleError(why)
    mitigation = None
    if hasattr(model, "serving_spec") and hasattr(model, "model"):  # ml.fairness.MitigatedClassifier
        mitigation, model = model.serving_spec(), model.model
    clf = model.named_steps["clf"]
    spec: dict[str, Any] = {"format": 2, "schema": schema, "threshold": threshold, "info": info}
    spec["mitigation"] = mitigation
    if hasattr(clf, "booster_"):
        from ml.training import booster_layout

        order, categories = booster_layout(model)
        spec["estimator"] = "lightgbm"
        spec["order"] = order
        spec["categories"] = {
            column: [str(value) for value in values] for column, values in categories.items()
        }
    else:  # a binary linear classifier (unservable said so otherwise)
        spec["estimator"] = "linear"
        spec["linear"] = _linear_spec(model.named_steps["prep"], clf)
    directory.mkdir(parents=True, exist_ok=True)
    if spec["estimator"] == "lightgbm":
        clf.booster_.save_model(str(directory / BOOSTER_FILE))
    (directory / SPEC_FILE).write_text(json.dumps(spec, indent=1, default=str))
    return spec


def load_model(directory: Path) -> ServedModel:
    """The served model of a bundle written by ``export_bundle``."""
    spec_path = directory / SPEC_FILE
    if not spec_path.is_file():
        raise BundleError(f"model bundle {directory} lacks {SPEC_FILE}; export it again (run.py deploy)")
    spec = json.loads(spec_path.read_text())
    if spec.get("estimator", "lightgbm") == "linear":
        return LinearModel(spec)
    return NativeModel.load(directory)


class ServedModel:
    """What the service asks of a bundle: probabilities, contributions and decisions of records
    (dicts keyed by feature name, as the API validated them)."""

    spec: dict

    @property
    def threshold(self) -> float:
        return float(self.spec["threshold"])

    def predict_proba(self, records: list[dict]) -> np.ndarray:
        raise NotImplementedError

    def contributions(self, records: list[dict]) -> list[dict[str, float]]:
        raise NotImplementedError

    def decisions(self, records: list[dict], proba: np.ndarray) -> np.ndarray:
        """1 for the positive label: the release's threshold, or a mitigated release's group
        thresholds (``ml.decision``, exactly as batch scoring decides)."""
        mitigation = self.spec.get("mitigation")
        if not mitigation:
            return (np.asarray(proba) >= self.threshold).astype(int)
        from ml.decision import group_of, mitigated_decisions, row_draws

        known, fallback = set(mitigation["groups"]), mitigation["fallback_group"]
        features, edges = mitigation["sensitive_features"], mitigation["edges"]
        groups = [group_of(record, features, edges) for record in records]
        groups = [group if group in known else fallback for group in groups]
        columns = mitigation["draw_columns"]
        draws = row_draws(([record.get(c) for c in columns] for record in records), mitigation["seed"])
        return mitigated_decisions(proba, groups, mitigation["rules"], draws)


@dataclass
class LinearModel(ServedModel):
    """Scores records with a linear model's numbers: one-hot categories (unknown -> all zeros),
    numerics imputed and scaled as in training, then the logistic function."""

    spec: dict

    def __post_init__(self) -> None:
        linear = self.spec["linear"]
        self.columns = linear["columns"]
        self.coef = np.asarray(linear["coef"], dtype=float)
        self.intercept = float(linear["intercept"])

    def matrix(self, records: list[dict]) -> np.ndarray:
        out = np.zeros((len(records), len(self.columns)))
        for j, column in enumerate(self.columns):
            values = [record.get(column["source"]) for record in records]
            if "onehot" in column:
                want = column["onehot"]
                out[:, j] = [
                    (value is None if want is None else value is not None and str(value) == want)
                    for value in values
                ]
            else:
                raw = np.asarray([math.nan if v is None else float(v) for v in values], dtype=float)
                raw = np.where(np.isnan(raw), column["fill"], raw)
                out[:, j] = (raw - column["mean"]) / column["scale"]
        return out

    def predict_proba(self, records: list[dict]) -> np.ndarray:
        from scipy.special import expit

        return expit(self.matrix(records) @ self.coef + self.intercept)

    def contributions(self, records: list[dict]) -> list[dict[str, float]]:
        """Per-feature contributions (log-odds: coefficient × input, one-hot columns summed per
        feature) plus the ``baseline`` (the intercept)."""
        terms = self.matrix(records) * self.coef
        sources = [column["source"] for column in self.columns]
        out = []
        for row in terms:
            contributions: dict[str, float] = dict.fromkeys(sources, 0.0)
            for source, term in zip(sources, row, strict=True):
                contributions[source] += float(term)
            out.append({**contributions, "baseline": self.intercept})
        return out


@dataclass
class NativeModel(ServedModel):
    """Scores records (dicts keyed by feature name) with the booster alone; one thread."""

    booster: Any
    spec: dict

    @classmethod
    def load(cls, directory: Path) -> NativeModel:
        import lightgbm

        booster_path, spec_path = directory / BOOSTER_FILE, directory / SPEC_FILE
        missing = [p.name for p in (booster_path, spec_path) if not p.is_file()]
        if missing:
            raise BundleError(f"model bundle {directory} lacks {missing}; export it again (run.py deploy)")
        booster = lightgbm.Booster(model_file=str(booster_path))
        return cls(booster, json.loads(spec_path.read_text()))

    def __post_init__(self) -> None:
        self.order: list[str] = self.spec["order"]
        self.codes = {
            column: {value: float(i) for i, value in enumerate(values)}
            for column, values in self.spec["categories"].items()
        }

    def matrix(self, records: list[dict]) -> np.ndarray:
        """Features in the booster's column order; unknown or missing categories -> NaN."""
        out = np.empty((len(records), len(self.order)))
        nan = math.nan
        for j, column in enumerate(self.order):
            codes = self.codes.get(column)
            values = [record.get(column) for record in records]
            if codes is None:
                out[:, j] = [nan if value is None else float(value) for value in values]
            else:  # NaN and None are no category: str(nan) == "nan" is not a code
                out[:, j] = [nan if value is None else codes.get(str(value), nan) for value in values]
        return out

    def predict_proba(self, records: list[dict]) -> np.ndarray:
        # One thread: for a few rows, OpenMP's thread start-up costs more than the trees.
        return self.booster.predict(self.matrix(records), num_threads=1)

    def contributions(self, records: list[dict]) -> list[dict[str, float]]:
        """Per-feature contributions (log-odds, TreeSHAP) plus the ``baseline`` (expected value)."""
        raw = self.booster.predict(self.matrix(records), pred_contrib=True, num_threads=1)
        names = [*self.order, "baseline"]
        return [dict(zip(names, map(float, row), strict=True)) for row in raw]
