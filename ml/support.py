"""What a metric rests on: how many rows its value counts (precision: the positive decisions), so a
figure on a handful of rows is reported as such and not judged (monitoring) or not passed (promotion)."""

from __future__ import annotations

from ml import names

# What a metric rests on (a live one's names.LIVE_SUPPORT_OF), as the monitor command and the promotion
# gate say it; the brief and the model card say it in English and Spanish (brief_messages.yaml, support.*).
SUPPORT_TEXT = {
    "positive_decisions": "positive decisions",
    "positive_labels": "positive labels",
    "smaller_class": "rows of the smaller class",
    "labelled_rows": "labelled rows",
}


def metric_support(metric: str, confusion: list[list[int]]) -> tuple[int, str]:
    """How many rows ``metric``'s value (on a window, on the test split) rests on, and which (a key
    of ``SUPPORT_TEXT``), from its confusion matrix ``[[tn, fp], [fn, tp]]``: precision the positive
    decisions, recall the positive labels, F1 the fewer of those two, ROC AUC the rows of the
    smaller class, accuracy every row."""
    (tn, fp), (fn, tp) = confusion
    decided, positive, rows = tp + fp, tp + fn, tn + fp + fn + tp
    if metric == names.PRECISION or (metric == names.F1 and decided <= positive):
        return int(decided), "positive_decisions"
    if metric in (names.RECALL, names.F1):
        return int(positive), "positive_labels"
    if metric == names.ROC_AUC:
        return int(min(positive, rows - positive)), "smaller_class"
    return int(rows), "labelled_rows"
