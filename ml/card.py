"""The model card of a version (after Mitchell et al., "Model Cards for Model Reporting", and the
Hugging Face card): English, with a Spanish summary carrying the same numbers, as Markdown and HTML.

Plain code: ``render_card`` formats a dict of facts (``registry/card.py`` gathers them from the
registry, the evaluation and the audit log) with one Jinja2 template per format (``templates/``);
every number goes through one formatter, ``num``, so both languages show the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np
from sklearn.metrics import roc_auc_score

from ml import names

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


def bootstrap_intervals(
    y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray, rounds: int = 500, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """95 % percentile-bootstrap intervals of precision, recall, F1, accuracy and ROC AUC over the
    rows (resampled with replacement ``rounds`` times, seeded)."""
    y_true, y_pred, proba = (np.asarray(a) for a in (y_true, y_pred, proba))
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in names.METRIC_NAMES}
    for _ in range(rounds):
        rows = rng.integers(0, len(y_true), len(y_true))
        t, p = y_true[rows], y_pred[rows]
        tp, fp, fn = (
            int(((t == 1) & (p == 1)).sum()),
            int(((t == 0) & (p == 1)).sum()),
            int(((t == 1) & (p == 0)).sum()),
        )
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        draws[names.PRECISION].append(precision)
        draws[names.RECALL].append(recall)
        draws[names.F1].append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        draws[names.ACCURACY].append(float((t == p).mean()))
        if len(set(t.tolist())) == 2:
            draws[names.ROC_AUC].append(float(roc_auc_score(t, proba[rows])))
    return {
        key: (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
        for key, values in draws.items()
        if values
    }


@dataclass(frozen=True)
class CardText:
    markdown: str
    html: str


TEMPLATES = Path(__file__).parent / "templates"  # model_card.md.j2, model_card.html.j2


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=autoescape, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["num"] = num
    return env


def render_card(facts: dict) -> CardText:
    """The card of ``facts`` (see ``registry.card.card_facts``) as Markdown and HTML."""
    return CardText(
        markdown=_environment(False).get_template("model_card.md.j2").render(f=facts),
        html=_environment(True).get_template("model_card.html.j2").render(f=facts),
    )
