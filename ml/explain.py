"""Why the model scores a row the way it does: per-row feature contributions and their global summary.

LightGBM models are explained with LightGBM's own TreeSHAP (``pred_contrib``): per row, the baseline
plus the contributions add up exactly to the model's raw score, in log-odds of the positive class.
Any other scikit-learn classifier is explained by occlusion on the raw features: a feature's
contribution is how much P(positive) drops when that feature alone is set to its reference value
(median of a numeric, most frequent value of a categorical). Occlusion contributions are in
probability and need not add up to the prediction.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lightgbm import LGBMModel
from sklearn.pipeline import Pipeline

from ml.features import FeatureSchema
from ml.reports import html_page, html_table, svg_bar_chart
from ml.training import as_model_input, predict_proba
from ml.words import counted

BASELINE = "baseline"
LIGHTGBM_METHOD = "lightgbm-pred-contrib"
OCCLUSION_METHOD = "occlusion"
LOG_ODDS = "log-odds"
PROBABILITY = "probability"


@dataclass(frozen=True)
class Explanation:
    """Contributions of each schema feature to the model's score, per row and on average."""

    method: str
    units: str
    global_importance: pd.Series
    contributions: pd.DataFrame


def _final_estimator(model: Pipeline):
    return model[-1] if isinstance(model, Pipeline) else model


def _is_lightgbm(model: Pipeline) -> bool:
    return isinstance(_final_estimator(model), LGBMModel)


UNITS = {LIGHTGBM_METHOD: LOG_ODDS, OCCLUSION_METHOD: PROBABILITY}  # what a method's contributions are in


def _method_and_units(model: Pipeline) -> tuple[str, str]:
    method = LIGHTGBM_METHOD if _is_lightgbm(model) else OCCLUSION_METHOD
    return method, UNITS[method]


def _check_frame(frame: pd.DataFrame, schema: FeatureSchema) -> None:
    if BASELINE in schema.names:
        raise ValueError(
            f"a feature is named {BASELINE!r}, which is the name of the baseline column of the "
            "contributions; rename that feature before training"
        )
    missing = [name for name in schema.names if name not in frame.columns]
    if missing:
        raise ValueError(
            f"cannot explain: the frame lacks the model's feature column(s) {missing} "
            f"(it has {list(frame.columns)}); pass rows with every column of the feature schema"
        )
    if frame.empty:
        raise ValueError("cannot explain an empty frame: pass at least one row")


def reference_values(frame: pd.DataFrame, schema: FeatureSchema) -> dict[str, object]:
    """The occlusion reference of each feature on ``frame``: the median of a numeric, the most
    frequent value of a categorical (missing when the column holds only missing values)."""
    X = as_model_input(frame, schema)
    values: dict[str, object] = {}
    for name in schema.numeric:
        values[name] = float(pd.to_numeric(X[name]).median())
    for name in schema.categorical:
        modes = X[name].mode(dropna=True)
        values[name] = modes.iloc[0] if len(modes) else np.nan
    return {name: values[name] for name in schema.names}


def _lightgbm_contributions(model: Pipeline, frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    estimator = _final_estimator(model)
    if len(getattr(estimator, "classes_", ())) != 2:
        raise ValueError(
            f"LightGBM contributions are computed for binary classifiers; this model has classes "
            f"{list(getattr(estimator, 'classes_', []))}"
        )
    X = as_model_input(frame, schema)
    prepared = model[:-1].transform(X) if isinstance(model, Pipeline) else X
    prepared = prepared if isinstance(prepared, pd.DataFrame) else pd.DataFrame(prepared)
    if sorted(map(str, prepared.columns)) != sorted(schema.names):
        raise ValueError(
            f"the model's preprocessing outputs columns {list(prepared.columns)}, which do not map 1:1 "
            f"to the schema features {schema.names}; LightGBM contributions need a preprocessing "
            "that keeps one column per feature (ml.training.make_preprocessor(kind='lightgbm'))"
        )
    # Column i of pred_contrib is the booster's feature i, i.e. column i of the prepared frame; the
    # last column is the expected value (the mean raw score over the training data).
    raw = estimator.booster_.predict(prepared, pred_contrib=True)
    contributions = pd.DataFrame(raw, index=frame.index, columns=[*map(str, prepared.columns), BASELINE])
    return contributions[[*schema.names, BASELINE]]


def _occlusion_contributions(
    model: Pipeline, frame: pd.DataFrame, schema: FeatureSchema, reference: Mapping[str, object]
) -> pd.DataFrame:
    unknown = sorted(set(schema.names) - set(reference))
    if unknown:
        raise ValueError(
            f"the occlusion reference lacks value(s) for feature(s) {unknown}; build it with "
            "reference_values(frame, schema) on the same schema"
        )
    X = as_model_input(frame, schema)
    score = predict_proba(model, X, schema)
    contributions = pd.DataFrame(index=frame.index, columns=[*schema.names, BASELINE], dtype="float64")
    for name in schema.names:
        occluded = X.copy()
        occluded[name] = reference[name]  # a whole-column scalar: no int truncation of a median
        contributions[name] = score - predict_proba(model, occluded, schema)
    reference_row = pd.DataFrame([dict(reference)], columns=schema.names)
    contributions[BASELINE] = float(predict_proba(model, reference_row, schema)[0])
    return contributions


def contributions_for(
    model: Pipeline,
    frame: pd.DataFrame,
    schema: FeatureSchema,
    reference: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """Per-row contributions of each schema feature for every row of ``frame`` (no sampling).

    Columns: ``schema.names`` then ``"baseline"``; index: ``frame.index``. LightGBM: TreeSHAP in
    log-odds, baseline = expected raw score. Other models: occlusion in probability against
    ``reference`` (default: ``reference_values(frame, schema)``; pass reference values of the
    training data when explaining a handful of rows, e.g. one request), baseline = P(reference row).
    ``reference`` is not used for LightGBM, whose baseline comes from the trees.
    """
    _check_frame(frame, schema)
    if _is_lightgbm(model):
        return _lightgbm_contributions(model, frame, schema)
    if reference is None:
        reference = reference_values(frame, schema)
    return _occlusion_contributions(model, frame, schema, reference)


def explain(
    model: Pipeline, frame: pd.DataFrame, schema: FeatureSchema, max_rows: int = 1000, seed: int = 0
) -> Explanation:
    """Explain at most ``max_rows`` rows of ``frame`` (a seeded sample when it has more).

    ``global_importance`` is the mean absolute contribution of each feature over those rows,
    largest first. Occlusion references are computed on the explained rows.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be a positive number of rows, got {max_rows}")
    _check_frame(frame, schema)
    rows = frame.sample(n=max_rows, random_state=seed) if len(frame) > max_rows else frame
    contributions = contributions_for(model, rows, schema)
    importance = contributions[schema.names].abs().mean().sort_values(ascending=False, kind="stable")
    method, units = _method_and_units(model)
    return Explanation(method, units, importance.rename("mean_abs_contribution"), contributions)


def _method_sentence(explanation: Explanation) -> str:
    if explanation.method == LIGHTGBM_METHOD:
        how = (
            "LightGBM's TreeSHAP contributions (pred_contrib): for each row, baseline + contributions "
            "= the model's raw score"
        )
    elif explanation.method == OCCLUSION_METHOD:
        how = (
            "occlusion: a feature's contribution is P(positive) for the row minus P(positive) with that "
            "feature set to its reference value (median of a numeric, most frequent value of a "
            "categorical); baseline = P(positive) of the reference row; contributions need not add up"
        )
    else:
        how = explanation.method
    return (
        f"<p>Method: <b>{html.escape(explanation.method)}</b> ({html.escape(how)}). "
        f"Units: <b>{html.escape(explanation.units)}</b>; "
        f"{counted(len(explanation.contributions), 'row|rows')} explained.</p>"
    )


def explanation_html(explanation: Explanation, title: str, top_rows: int = 10) -> str:
    """A standalone HTML page: method and units, global importance chart, first rows' contributions."""
    chart = svg_bar_chart(
        explanation.global_importance,
        title="Mean absolute contribution per feature",
        xlabel=explanation.units,
    )
    # Features down, explained rows (by their index label) across: readable for any feature count.
    table = html_table(explanation.contributions.head(top_rows).rename_axis(index="row").T)
    shown = counted(min(top_rows, len(explanation.contributions)), "row|rows")
    return html_page(
        title,
        [
            ("Method", _method_sentence(explanation)),
            ("Global importance", chart + html_table(explanation.global_importance.to_frame())),
            (f"Contributions of the first {shown}", table),
        ],
    )
