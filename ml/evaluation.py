"""Quality metrics of a binary classifier, keyed by the names in ``ml.names``."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.preprocessing import TargetEncoder
from sklearn.tree import DecisionTreeClassifier

from ml import names


def classification_metrics(
    y_true: np.ndarray, proba: np.ndarray, threshold: float, y_pred: np.ndarray | None = None
) -> dict:
    """Precision, recall, F1 and accuracy of the positive class at ``threshold`` (or of the given
    decisions ``y_pred``); ROC AUC of ``proba``; the confusion matrix ``[[tn, fp], [fn, tp]]``; and
    the precision of always answering positive (the floor any useful model must beat)."""
    y_true = np.asarray(y_true)
    if y_pred is None:
        y_pred = (np.asarray(proba) >= threshold).astype(int)
    return {
        names.PRECISION: float(precision_score(y_true, y_pred, zero_division=0)),
        names.RECALL: float(recall_score(y_true, y_pred, zero_division=0)),
        names.F1: float(f1_score(y_true, y_pred, zero_division=0)),
        names.ROC_AUC: float(roc_auc_score(y_true, proba)) if len(set(y_true)) == 2 else float("nan"),
        names.ACCURACY: float(accuracy_score(y_true, y_pred)),
        names.CONFUSION_MATRIX: confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist(),
        names.BASELINE_PRECISION: float(y_true.mean()) if y_true.size else float("nan"),
    }


def single_feature_roc_auc(
    train: pd.DataFrame, test: pd.DataFrame, schema, seed: int, sample_rows: int = 50_000, top: int = 10
) -> dict[str, float]:
    """How well each of the model's features alone ranks the test split (ROC AUC: 0.5 is chance, 1
    a perfect separation), each fitted on the train split (a seeded sample of at most ``sample_rows``
    rows): a numeric feature by its value, either way round, or by a shallow tree on it (a relation
    that is not monotonic), whichever ranks better; a categorical one by its category's share of
    positives (scikit-learn's ``TargetEncoder``; a category the train split lacks gets the overall
    share, missing is a category). The ``top`` strongest, strongest first; empty when a split lacks
    a class. A feature that alone separates the classes is most often target leakage: a value
    written after the outcome, or derived from it."""
    from ml.features import binary_target
    from ml.training import as_model_input

    if len(train) > sample_rows:
        train = train.sample(n=sample_rows, random_state=seed)
    y_train = binary_target(train[schema.target_column], schema.positive_label)
    y_test = binary_target(test[schema.target_column], schema.positive_label)
    if len(set(y_train)) < 2 or len(set(y_test)) < 2:
        return {}
    X_train, X_test = as_model_input(train, schema), as_model_input(test, schema)
    scores: dict[str, float] = {}
    leaf = max(1, len(X_train) // 100)
    for column in schema.numeric:
        median = X_train[column].median()
        ranked = roc_auc_score(y_test, X_test[column].fillna(0.0 if np.isnan(median) else median))
        tree = DecisionTreeClassifier(max_depth=3, min_samples_leaf=leaf, random_state=seed)
        tree.fit(X_train[[column]], y_train)
        split = roc_auc_score(y_test, tree.predict_proba(X_test[[column]])[:, 1])
        scores[column] = float(max(ranked, 1.0 - ranked, split))
    if schema.categorical:
        encoder = TargetEncoder(target_type="binary", random_state=seed).fit(
            X_train[schema.categorical], y_train
        )
        shares = encoder.transform(X_test[schema.categorical])
        for position, column in enumerate(schema.categorical):
            scores[column] = float(roc_auc_score(y_test, shares[:, position]))
    strongest = sorted(scores, key=lambda column: -scores[column])[:top]
    return {column: scores[column] for column in strongest}


def data_fingerprint(frame: pd.DataFrame) -> dict:
    """A content hash and the shape of a table: the same rows give the same hash."""
    row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest = hashlib.sha256(row_hashes.tobytes() + ",".join(map(str, frame.columns)).encode())
    return {"sha256": digest.hexdigest(), "rows": int(len(frame)), "columns": int(frame.shape[1])}


def release_decisions(
    release, frame: pd.DataFrame, schema, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """(decisions, probabilities) of a released model on a raw frame: a plain pipeline thresholds
    its probabilities; a fairness-mitigated one (``predict`` on the raw frame) decides itself."""
    from ml.fairness import MitigatedClassifier
    from ml.training import predict_proba

    if isinstance(release, MitigatedClassifier):
        return np.asarray(release.predict(frame)), release.predict_proba(frame)[:, 1]
    proba = predict_proba(release, frame, schema)
    return (proba >= threshold).astype(int), proba
