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
