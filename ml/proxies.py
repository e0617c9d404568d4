"""Inputs that stand in for a sensitive column the model is not given (proxies).

``features.use_sensitive_features: false`` keeps a sensitive column out of the model, yet another
column may carry it whole: statsmodels' racd10 holds ``age`` and also ``age2`` (its square),
``aget`` (age / 20) and ``aget2``, so a model "not given age" decides by age all the same. Each
input's association with each sensitive column is measured on the test split, fitted on the train
split (a category's mean or majority learnt there, so a column of many small categories cannot
look like a proxy by chance): 1 is determined by it, 0 unrelated. Reported, never judged: the
fairness gate judges the decisions per group either way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score
from sklearn.tree import DecisionTreeClassifier

from ml import names
from ml.decision import MISSING_GROUP
from ml.fairness import is_code
from ml.features import is_numeric

PROXY_NOTE_ASSOCIATION = 0.95  # at least this: the input all but determines the sensitive column


def _text(series: pd.Series) -> pd.Series:
    return series.astype(str).where(series.notna(), MISSING_GROUP)


def _finite(series: pd.Series) -> pd.Series:
    """A numeric column as floats, infinities as missing (a tree takes neither)."""
    return series.astype(float).replace([np.inf, -np.inf], np.nan)


def _rank_association(predicted: pd.Series, actual: pd.Series) -> float:
    """|Spearman's rank correlation|: 1 when one orders the rows as the other does, either way; 0
    when either is constant (a column of categories the train split lacks: every row its mean)."""
    if predicted.nunique() < 2 or actual.nunique() < 2:
        return 0.0
    value = predicted.astype(float).corr(actual.astype(float), method="spearman")
    return float(abs(value)) if np.isfinite(value) else 0.0


def association(
    train: pd.DataFrame, test: pd.DataFrame, feature: str, sensitive: str, categorical: bool, seed: int
) -> float:
    """How well ``feature`` alone tells ``sensitive`` on ``test`` (0 unrelated .. 1 determined).
    A numeric sensitive column: the rank correlation of the feature (a category: its train mean)
    with it. A sensitive column of groups (text, a code): balanced accuracy of the group the feature
    predicts (a category: its train majority; a number: a depth-3 tree), adjusted so that chance is 0."""
    target = train[sensitive]
    if is_numeric(target) and not is_code(target):
        if not categorical:
            return _rank_association(test[feature], test[sensitive])
        means = target.groupby(_text(train[feature])).mean()
        predicted = _text(test[feature]).map(means).fillna(target.mean())
        return _rank_association(predicted, test[sensitive])
    groups, truth = _text(target), _text(test[sensitive])
    if groups.nunique() < 2 or truth.nunique() < 2:
        return 0.0
    if categorical:
        majority = groups.groupby(_text(train[feature])).agg(lambda s: s.value_counts().index[0])
        predicted = _text(test[feature]).map(majority).fillna(groups.value_counts().index[0])
    else:
        values, tested = (_finite(part[feature]) for part in (train, test))
        if values.isna().all():
            return 0.0
        fill = values.median()
        leaf = max(1, len(train) // 100)
        tree = DecisionTreeClassifier(max_depth=3, min_samples_leaf=leaf, random_state=seed)
        tree.fit(values.fillna(fill).to_frame(), groups)
        predicted = tree.predict(tested.fillna(fill).to_frame())
    score = balanced_accuracy_score(truth, predicted, adjusted=True)
    return float(max(score, 0.0))


def sensitive_proxies(
    train: pd.DataFrame,
    test: pd.DataFrame,
    schema,
    sensitive_features: tuple[str, ...],
    seed: int,
    limit: float = PROXY_NOTE_ASSOCIATION,
    sample_rows: int = 50_000,
) -> dict[str, dict[str, float]]:
    """Per sensitive column the model does not take, the inputs whose ``association`` with it is at
    least ``limit``, strongest first; sensitive columns without any are left out."""
    train = train.sample(n=sample_rows, random_state=seed) if len(train) > sample_rows else train
    test = test.sample(n=sample_rows, random_state=seed) if len(test) > sample_rows else test
    categorical = set(schema.categorical)
    found: dict[str, dict[str, float]] = {}
    for sensitive in (s for s in sensitive_features if s not in schema.names and s in train):
        scores = {
            feature: association(train, test, feature, sensitive, feature in categorical, seed)
            for feature in schema.names
        }
        strong = {f: round(v, 4) for f, v in sorted(scores.items(), key=lambda kv: -kv[1]) if v >= limit}
        if strong:
            found[sensitive] = strong
    return found


def with_proxies(record: dict, found: dict[str, dict[str, float]]) -> dict:
    """A fairness record (``FairnessResult.to_dict``) with the proxies found and their notes."""
    notes = [*record.get("notes", []), *proxy_notes(found)]
    return {**record, names.SENSITIVE_PROXIES: found, "notes": notes}


def proxy_notes(found: dict[str, dict[str, float]]) -> list[str]:
    """One fairness note per sensitive column with proxies (``sensitive_proxies``), to follow a
    candidate's name ("model inputs 'age2' (1.000), ... stand in for ...", "model input 'mage' ...")."""
    notes = []
    for sensitive, inputs in found.items():
        each = ", ".join(f"'{feature}' ({value:.3f})" for feature, value in inputs.items())
        listed = ", ".join(f"'{feature}'" for feature in inputs)
        one = len(inputs) == 1
        them, which = ("it", "input") if one else ("them", "inputs")
        stand = "stands" if one else "stand"
        notes.append(
            f"{which} {each} {stand} in for the sensitive column '{sensitive}' (association on the"
            f" test split, 1 = determined by it): the model decides by '{sensitive}' through {them} though"
            " features.use_sensitive_features is false; drop"
            f" {them} (features.drop: [{listed}] in configs/training.yaml) unless that is intended"
            " (the fairness gate judges its decisions per group either way)"
        )
    return notes
