"""How a released model turns a probability into a decision, row by row: the plain threshold, and a
fairness-mitigated release's group thresholds (Fairlearn's ThresholdOptimizer, as plain numbers).

Pure Python + NumPy, no pandas: batch scoring and evaluation (``ml.fairness.MitigatedClassifier``)
and the Bento service (which ships this file) call the same functions, so the same row gets the
same decision everywhere. ThresholdOptimizer randomises between two thresholds per group; the draw
here comes from a hash of the row's own values (and a seed) instead of a random stream, so a row's
decision does not depend on which other rows share its batch.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from itertools import pairwise

import numpy as np

MISSING_GROUP = "missing"
INTERSECTION_SEPARATOR = " × "
_SCALE = float(1 << 64)


def band_labels(edges: Sequence[float]) -> list[str]:
    """The labels of the bands that ``edges`` cut a numeric column into ('<35', '35-50', '50+')."""
    labels = [f"<{edges[0]:g}"]
    labels += [f"{lo:g}-{hi:g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    labels.append(f"{edges[-1]:g}+")
    return labels


def band_of(value: float | None, edges: Sequence[float], labels: Sequence[str]) -> str:
    """The band of one value (left-closed bands, as ``pandas.cut(right=False)``); missing -> 'missing'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING_GROUP
    return labels[int(np.searchsorted(np.asarray(edges, dtype=float), float(value), side="right"))]


def group_of(record: dict, features: Sequence[str], edges: dict[str, list[float]]) -> str:
    """The sensitive group of one record: each feature's value (numeric ones banded by ``edges``,
    others as ``canonical`` text), joined by ' × '. Missing values are the group 'missing'."""
    parts = []
    for feature in features:
        value = record.get(feature)
        if feature in edges:
            parts.append(band_of(value, edges[feature], band_labels(edges[feature])))
        elif value is None or (isinstance(value, float) and math.isnan(value)):
            parts.append(MISSING_GROUP)
        else:
            parts.append(canonical(value))
    return INTERSECTION_SEPARATOR.join(parts)


def canonical(value: object) -> str:
    """A value as text, the same however it arrives: numbers to 9 significant digits (a JSON
    client's 397.47 and the database's 397.46999999999997 are one value; ints and floats alike, so a
    code such as sex 1/2 is '1' whether it comes as 1, 1.0 or numpy's 1.0), missing as ''. The
    draw's hash reads it, and a value not banded is its sensitive group by it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | float | np.integer | np.floating):
        return format(float(value), ".9g")
    return str(value)


def row_draws(rows: Iterable[Sequence[object]], seed: int) -> np.ndarray:
    """One number in [0, 1) per row, from a hash of the row's values and ``seed``: the same values
    (numbers compared to 9 significant digits, missing as missing) always give the same number."""
    key = str(seed).encode()
    out = []
    for row in rows:
        text = "\x1f".join(canonical(value) for value in row).encode()
        digest = hashlib.blake2b(text, digest_size=8, key=key).digest()
        out.append(int.from_bytes(digest, "big") / _SCALE)
    return np.asarray(out, dtype=float)


def _operation(operator: str, threshold: float, scores: np.ndarray) -> np.ndarray:
    return scores > threshold if operator == ">" else scores < threshold


def positive_probability(scores: np.ndarray, groups: Sequence[str], rules: dict[str, dict]) -> np.ndarray:
    """ThresholdOptimizer's probability of a positive decision for each row (its ``_pmf_predict``):
    per group, ``p0 * op0(score) + p1 * op1(score)``, mixed with a constant when the group has one."""
    scores = np.asarray(scores, dtype=float)
    groups = np.asarray(groups, dtype=object)
    out = 0.0 * scores
    for group, rule in rules.items():
        rows = groups == group
        value = rule["p0"] * _operation(rule["operator0"], rule["threshold0"], scores) + rule[
            "p1"
        ] * _operation(rule["operator1"], rule["threshold1"], scores)
        if rule.get("p_ignore") is not None:
            value = rule["p_ignore"] * rule["prediction_constant"] + (1 - rule["p_ignore"]) * value
        out[rows] = value[rows]
    return out


def mitigated_decisions(
    scores: np.ndarray, groups: Sequence[str], rules: dict[str, dict], draws: np.ndarray
) -> np.ndarray:
    """Decisions (0/1) of a mitigated release: positive when the row's draw is at most its
    probability of a positive decision (Fairlearn's rule, with the draw of ``row_draws``)."""
    return (positive_probability(scores, groups, rules) >= draws).astype(int)


def threshold_bands(threshold: float) -> list[tuple[float, float, float]]:
    """A single threshold as ``rule_bands`` writes a rule: none decided positive below it, every row
    from it (a score equal to it is positive: ``score >= threshold``)."""
    return [(-math.inf, float(threshold), 0.0), (float(threshold), math.inf, 1.0)]


def rule_bands(rule: dict) -> list[tuple[float, float, float]]:
    """A group's rule as a reader takes it: bands of the score ``(low, high, chance)``, lowest
    first, from -inf to inf, with each band's chance of a positive decision (``positive_probability``
    inside it; a chance strictly between 0 and 1 is a share of the band's rows, picked by their
    draws). ThresholdOptimizer's two thresholds and weights, e.g. ``[(-inf, 0.33, 0.0), (0.33, 0.52,
    0.34), (0.52, inf, 1.0)]``; neighbouring bands of one chance are one band. A score equal to an
    edge is decided as the band below for the ``>`` operators ThresholdOptimizer writes."""
    edges = sorted({float(rule[key]) for key in ("threshold0", "threshold1")} - {-math.inf, math.inf})
    if not edges:  # both operations constant: one band
        points = np.array([0.5])
    else:
        inner = [(low + high) / 2 for low, high in pairwise(edges)]
        points = np.array([edges[0] - 1.0, *inner, edges[-1] + 1.0])
    chances = positive_probability(points, ["rule"] * len(points), {"rule": rule})
    bounds = [-math.inf, *edges, math.inf]
    bands: list[tuple[float, float, float]] = []
    for (low, high), chance in zip(pairwise(bounds), chances.tolist(), strict=True):
        if bands and math.isclose(bands[-1][2], chance, abs_tol=1e-12):
            bands[-1] = (bands[-1][0], high, bands[-1][2])
        else:
            bands.append((low, high, chance))
    return bands
