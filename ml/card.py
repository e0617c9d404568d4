"""The model card of a version (after Mitchell et al., "Model Cards for Model Reporting", and the
Hugging Face card): English, with a Spanish summary carrying the same numbers, as Markdown and HTML.

Plain code: ``render_card`` formats a dict of facts (``registry/card.py`` gathers them from the
registry, the evaluation and the audit log) with one Jinja2 template per format (``templates/``);
every number goes through one formatter, ``num``, so both languages show the same figures.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest, bootstrap, rankdata

from ml import names
from ml.reports import template_environment

BOOTSTRAP_BATCH = 50  # resamples held at once: 50 x the test rows, whatever its size
NOT_PROVIDED = "not provided"
NO_PROPORCIONADO = "no proporcionado"
SECTIONS = (
    ("model-details", "Model details"),
    ("intended-use", "Intended use"),
    ("training-data", "Training data"),
    ("evaluation", "Evaluation"),
    ("fairness", "Fairness"),
    ("explanation", "Explanation"),
    ("limitations", "Limitations and ethical considerations"),
    ("approvals", "Approvals"),
    ("resumen", "Resumen en español"),
)


def num(value, digits: int = 3) -> str:
    """The one way a card writes a number (``n/a`` when missing)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    if isinstance(value, int | np.integer):
        return str(int(value))
    return f"{float(value):.{digits}f}"


BAND_WORDS = {"en": ("up to", "above", "any"), "es": ("hasta", "más de", "cualquiera")}


def score_band(band: dict, language: str = "en") -> str:
    """A band of scores (``ml.decision.rule_bands``) as a card writes it: 'up to 0.306', '0.306 –
    0.369', 'above 0.369', or 'any' for a rule of one band."""
    low, high = band["low"], band["high"]
    up_to, above, anything = BAND_WORDS[language]
    if math.isinf(low) and math.isinf(high):
        return anything
    if math.isinf(low):
        return f"{up_to} {num(high)}"
    if math.isinf(high):
        return f"{above} {num(low)}"
    return f"{num(low)} – {num(high)}"


def _metrics_of_resamples(t: np.ndarray, p: np.ndarray, proba: np.ndarray, axis: int = -1) -> np.ndarray:
    """[precision, recall, F1, ROC AUC, accuracy] (names.METRIC_NAMES' order) of each resample,
    vectorised along ``axis``. A metric a resample does not define is NaN (sklearn's
    ``zero_division=np.nan``), left out of the interval: precision without a positive decision,
    recall without a positive label, F1 without either. As 0, a precision of 3 out of 3 positive
    decisions got the interval 0.000 - 1.000 from the 4 % of resamples that drew none of the 3.
    ROC AUC is the Mann-Whitney U of the scores over the positives' and negatives' counts (tied
    scores share their mean rank: ``roc_auc_score``'s half credit), NaN for a resample of one class."""
    t, p = t == 1, p == 1
    tp, fp, fn = (t & p).sum(axis), (~t & p).sum(axis), (t & ~p).sum(axis)
    positives = t.sum(axis)
    negatives = t.shape[axis] - positives
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
        recall = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
        ranks = rankdata(proba, axis=axis)
        auc = ((ranks * t).sum(axis) - positives * (positives + 1) / 2) / (positives * negatives)
    return np.array([precision, recall, f1, auc, (t == p).mean(axis)])


def bootstrap_intervals(
    y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray, rounds: int = 500, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """95 % percentile-bootstrap intervals of precision, recall, F1, ROC AUC and accuracy over the rows
    (scipy.stats.bootstrap: rows resampled with replacement ``rounds`` times, seeded; a resample that
    does not define a metric is left out of its interval: ``_metrics_of_resamples``)."""
    data = tuple(np.asarray(a, dtype=float) for a in (y_true, y_pred, proba))
    with warnings.catch_warnings():  # a metric a resample does not define: NaN, left out below
        warnings.simplefilter("ignore")
        draws = bootstrap(
            data,
            _metrics_of_resamples,
            paired=True,
            vectorized=True,
            n_resamples=rounds,
            batch=BOOTSTRAP_BATCH,
            method="percentile",
            random_state=seed,
        ).bootstrap_distribution
    intervals = {}
    for key, values in zip(names.METRIC_NAMES, draws, strict=True):
        values = values[~np.isnan(values)]
        if len(values):
            intervals[key] = (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
    return intervals


def share_intervals(confusion: list[list[int]]) -> dict[str, tuple[float, float]]:
    """Exact (Clopper-Pearson, scipy's ``binomtest``) 95 % intervals of the metrics that are a share
    of rows, from the confusion matrix ``[[tn, fp], [fn, tp]]``: precision of the positive
    decisions, recall of the positive labels, accuracy of every row; none for a metric without rows.
    On a few rows it is wide, as it should be: 3 right decisions out of 3 is 0.292 - 1.000, where
    every bootstrap resample of them read 1.000."""
    (tn, fp), (fn, tp) = confusion
    shares = {
        names.PRECISION: (tp, tp + fp),
        names.RECALL: (tp, tp + fn),
        names.ACCURACY: (tp + tn, tn + fp + fn + tp),
    }
    return {
        key: tuple(float(x) for x in binomtest(int(k), int(n)).proportion_ci(0.95, method="exact"))
        for key, (k, n) in shares.items()
        if n
    }


def metric_intervals(
    y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray, confusion: list[list[int]]
) -> dict[str, tuple[float, float]]:
    """The card's 95 % intervals: exact binomial ones for the shares (``share_intervals`` of
    ``confusion``, the decisions' matrix), the bootstrap's for F1 and ROC AUC (``bootstrap_intervals``)."""
    return {**bootstrap_intervals(y_true, y_pred, proba), **share_intervals(confusion)}


def fairness_verdict(record: dict) -> str:
    """The card's fairness verdict: ``blocked`` (a violation), ``not judged`` (the gate passed with no
    group judged: no sensitive column, or none with enough test rows; its notes say which) or ``passed``."""
    if not record.get("passed"):
        return "blocked"
    return "not judged" if record.get("fairness_score") is None else "passed"


VERDICT_ES = {"blocked": "bloqueada", "not judged": "no evaluada", "passed": "aprobada"}


@dataclass(frozen=True)
class CardText:
    markdown: str
    html: str


def _environment(autoescape: bool):
    """Strict: a fact the templates ask for and ``card_facts`` does not give fails the card, never
    renders empty (the ethics runbook links were '[]()' on every card that way)."""
    filters = {"num": num, "verdict_es": VERDICT_ES.get, "score_band": score_band}
    return template_environment(autoescape, filters)


def render_card(facts: dict) -> CardText:
    """The card of ``facts`` (see ``registry.card.card_facts``) as Markdown and HTML."""
    return CardText(
        markdown=_environment(False).get_template("model_card.md.j2").render(f=facts),
        html=_environment(True).get_template("model_card.html.j2").render(f=facts),
    )
