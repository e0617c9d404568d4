"""Fairness in production: the release's fairness gate judged again on a monitoring window's labelled
rows the model was not trained on.

Training judged the model's decisions per group on its test split; the population it decides for
then moves on, and a model fair on last year's customers can treat one group's customers worse on
this month's (their outcomes changed, the model's inputs for them did not). Monitoring compares the
release's decisions with the labels that arrived, per group, by the gate's own rule
(``ml.fairness.assess_fairness``: Fairlearn's MetricFrame, bootstrap intervals, limits): the same
sensitive columns, cut into the same groups (the training split's ``group_edges``), against the
limits the release was trained with. A disparity whose whole interval lies beyond its limit is a
breach; what a window cannot judge (too few rows in a group, an interval holding the limit) is
reported, never an alert, whatever ``fairness.when_not_judged`` says at promotion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from ml import names
from ml.alerts import Breach, fairness_metric
from ml.monitoring import LabelledOutcomes, sample_positions
from ml.settings import FairnessSettings

AVAILABLE = "available"
JUDGED_ROWS = "judged_rows"
SNAPSHOT_TAG = "fairness"  # the tag of a window's live fairness snapshot (the dashboard's Fairness tab)


@dataclass(frozen=True)
class FairnessGate:
    """What a release's fairness gate judged: its sensitive ``columns``, how each was grouped
    (``edges``: the training split's band edges, None for a column grouped by value; None for all:
    a record of before they were kept) and its limits (the fairness settings it was trained with)."""

    columns: tuple[str, ...]
    edges: dict[str, tuple[float, ...] | None] | None
    settings: FairnessSettings


def live_fairness(
    outcomes: LabelledOutcomes | None, gate: FairnessGate | None, sample_rows: int, seed: int
) -> dict | None:
    """The release's fairness gate on the live rows of ``outcomes`` (labelled, not trained on; a
    seeded sample of ``sample_rows`` of them when there are more): ``FairnessResult.to_dict`` with
    how many rows were live and judged. None when the window has no labels; ``available: False`` and
    why when there is nothing the gate can be judged on."""
    if outcomes is None:
        return None
    if gate is None:
        return _not_available(
            "the release recorded no fairness gate (its sensitive columns and limits): a version "
            "trained before they were kept; retrain to monitor its fairness"
        )
    if not gate.columns:
        return _not_available("the release has no sensitive column (data.sensitive_features was empty)")
    held = () if outcomes.groups is None else tuple(outcomes.groups.columns)
    missing = [column for column in gate.columns if column not in held]
    if missing:
        return _not_available(
            f"the window has no column {missing} (the sensitive columns the release was judged on): "
            "keep them in the scored table, or retrain without them in data.sensitive_features"
        )
    live = np.flatnonzero(~outcomes.seen)
    if not len(live):
        return {
            **_not_available(f"none of the {len(outcomes.seen)} labelled rows is live (each was trained on)"),
            names.LIVE_ROWS: 0,
        }
    positions = sample_positions(len(live), sample_rows, seed)  # drift's seeded sample, of the live rows
    taken = live if positions is None else live[np.sort(positions)]
    from ml.fairness import assess_fairness, sensitive_groups  # Fairlearn: not for the brief's reading

    # a window too small to tell is reported, never an alert: only a disparity beyond its limit is
    settings = gate.settings.model_copy(update={"when_not_judged": "report"})
    groups = sensitive_groups(outcomes.groups.iloc[taken], gate.columns, settings, gate.edges)
    result = assess_fairness(outcomes.target[taken], outcomes.decisions[taken], groups, settings, "live")
    return {AVAILABLE: True, names.LIVE_ROWS: len(live), JUDGED_ROWS: len(taken), **result.to_dict()}


def _not_available(why: str) -> dict:
    return {AVAILABLE: False, "note": why}


def beyond_limits(record: dict | None) -> list[dict]:
    """The disparities of a window's live fairness record whose interval lies beyond the limit."""
    if not record or not record.get(AVAILABLE):
        return []
    return list(record.get(names.BEYOND_LIMITS) or [])


def fairness_breaches(record: dict | None) -> list[Breach]:
    """The breaches of a window's live fairness record: one per disparity beyond its limit, named
    ``<disparity>[<sensitive column>]``."""
    return [
        Breach(
            fairness_metric(entry["disparity"], entry["feature"]),
            entry["value"],
            entry["limit"],
            entry["direction"],
            f"{record[names.LIVE_ROWS]} labelled rows not seen in training; {entry['text']}",
        )
        for entry in beyond_limits(record)
    ]


def live_fairness_line(record: dict | None) -> str | None:
    """What the window's labels said of the release's fairness for the monitor command: a headline,
    then one indented ``  - `` line per disparity beyond its limit, or per thing reported, not judged;
    None when no labels arrived (the quality line says so)."""
    if record is None:
        return None
    if not record.get(AVAILABLE):
        return f"live fairness: not judged: {record['note']}"
    judged, live = record[JUDGED_ROWS], record[names.LIVE_ROWS]
    rows = f"{live} labelled rows not trained on"
    if judged < live:
        rows = f"a seeded sample of {judged} of the {rows}"
    beyond = beyond_limits(record)
    if beyond:
        return _listed(f"live fairness on {rows}: beyond the release's limits:", [b["text"] for b in beyond])
    notes = record.get("notes") or []
    said = f"; {len(notes)} reported, not judged:" if notes else ""
    return _listed(f"live fairness on {rows}: within the release's limits{said}", notes)


def _listed(headline: str, items: list[str]) -> str:
    return "\n".join([headline, *(f"  - {item}" for item in items)])


def limit_series(disparity: str) -> str:
    """The name of a disparity's limit in the dashboard's live fairness series."""
    return f"{disparity} limit"


def fairness_snapshot(
    record: dict | None, gate: FairnessGate | None, window: datetime | None = None
) -> str | None:
    """A window's live fairness as an Evidently snapshot (JSON, tagged ``SNAPSHOT_TAG``) of a one-row
    dataset the dashboard plots over time: each judged disparity of each sensitive column, named as
    its breach (``equalized_odds_difference[gender]``), beside the limits the ``gate`` judged it
    against (the release's). None when the window judged nothing (no labels, no gate, every group too
    small)."""
    if gate is None or not record or not record.get(AVAILABLE):
        return None
    limits = gate.settings.disparity_limits()
    row = {
        fairness_metric(disparity, str(column)): value
        for column, values in record["disparities"].items()
        for disparity, value in values.items()
        if disparity in limits and value is not None and math.isfinite(value)
    }
    if not row:
        return None
    row.update({limit_series(disparity): limit for disparity, limit in limits.items()})
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import MeanValue

    frame = pd.DataFrame([row])
    report = Report([MeanValue(column=column) for column in frame.columns], tags=[SNAPSHOT_TAG])
    data = Dataset.from_pandas(frame, data_definition=DataDefinition(numerical_columns=list(frame.columns)))
    return report.run(data, None, timestamp=window).dumps()
