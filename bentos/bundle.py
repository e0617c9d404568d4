"""The served model, stored without pickle: LightGBM's own text format plus a JSON spec of the
inputs (feature order, category codes, ranges). Plain code: no BentoML, no ZenML, no training."""

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


def export_bundle(model: Any, schema: dict, threshold: float, directory: Path, info: dict) -> dict:
    """Write a fitted LightGBM pipeline (prep = ordinal-encoded categoricals + numerics) as
    ``booster.txt`` + ``spec.json`` into ``directory``; return the spec."""
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline) or "clf" not in model.named_steps:
        raise BundleError(
            f"only plain training pipelines can be served natively, got {type(model).__name__}; "
            "a fairness-mitigated release needs its sensitive columns and group thresholds, which the "
            "native bundle does not carry: promote a plain model or serve it with MLflow"
        )
    clf = model.named_steps["clf"]
    if not hasattr(clf, "booster_"):
        raise BundleError(
            f"native serving needs a LightGBM model (model.kind: lightgbm), got {type(clf).__name__}"
        )
    from ml.training import booster_layout

    order, categories = booster_layout(model)
    spec = {
        "format": 1,
        "order": order,
        "categories": {column: [str(value) for value in values] for column, values in categories.items()},
        "schema": schema,
        "threshold": threshold,
        "info": info,
    }
    directory.mkdir(parents=True, exist_ok=True)
    clf.booster_.save_model(str(directory / BOOSTER_FILE))
    (directory / SPEC_FILE).write_text(json.dumps(spec, indent=1, default=str))
    return spec


@dataclass
class NativeModel:
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

    @property
    def threshold(self) -> float:
        return float(self.spec["threshold"])

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
