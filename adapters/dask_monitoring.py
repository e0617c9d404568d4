"""Monitoring's window on a Dask cluster (`monitoring.engine: dask`): each partition of the window is
read and scored on a worker and kept there; the seeded sample is drawn from the partitions' row
counts (``ml.monitoring.sample_positions``: the rows the pandas engine samples from the same rows),
each worker sends its sampled rows, and the labelled rows' outcomes come back for the quality check.
Evidently then runs on the sample in the step, as with the pandas engine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapters.dask_scoring import ShippedModel
from adapters.sources import encoding_named
from ml import names
from ml.data.validation import DataValidationError, as_declared
from ml.evaluation import release_decisions
from ml.monitoring import (
    LabelledOutcomes,
    assemble_sample,
    labelled_outcomes,
    positions_by_partition,
    sample_positions,
)
from ml.settings import DataSettings


@dataclass(frozen=True)
class Window:
    """The window as drift and quality need it: ``sample`` (features + prediction, indexed by the
    rows' positions in the window), ``rows`` in the whole window, the labelled rows' ``outcomes``
    (``None`` when the window has no target column)."""

    sample: pd.DataFrame
    rows: int
    outcomes: LabelledOutcomes | None


def scored_partition(
    frame: pd.DataFrame, shipped: ShippedModel, data: DataSettings, keys: np.ndarray, sensitive: tuple = ()
) -> tuple[pd.DataFrame, LabelledOutcomes | None]:
    """On a worker: one partition's features with the release's probability, and its labelled rows'
    outcomes (with their ``sensitive`` columns); the same functions as check_drift on the whole window."""
    frame = as_declared(frame, data)
    schema = shipped.schema
    decisions, proba = release_decisions(shipped.model, frame, schema, shipped.threshold)
    features = frame[schema.names].assign(**{names.DRIFT_PREDICTION: proba}).reset_index(drop=True)
    return features, labelled_outcomes(frame, decisions, proba, schema, keys, sensitive)


def _rows(part: tuple) -> int:
    return len(part[0])


def _outcomes(part: tuple) -> LabelledOutcomes | None:
    return part[1]


def _take(part: tuple, positions, offset: int) -> pd.DataFrame:
    rows = part[0].take(positions)
    rows.index = positions + offset
    return rows


@encoding_named
def window_on_cluster(
    client,
    partitions: list,
    shipped: ShippedModel,
    data: DataSettings,
    keys: np.ndarray,
    sample_rows: int,
    seed: int,
    sensitive: tuple[str, ...] = (),
) -> Window:
    """Score the window's ``partitions`` (delayed frames) on the cluster, keep them on the workers,
    draw the seeded sample of ``sample_rows`` rows across them and gather it with the outcomes (and
    the labelled rows' ``sensitive`` columns, for the live fairness check)."""
    from dask import delayed

    model = delayed(shipped, pure=True, traverse=False)  # one task: sent to each worker once
    # a Dask-trained release's keys are 8 bytes a train row (24 MB at 3M): on the workers once,
    # not in each partition's task
    keys = client.scatter(keys, broadcast=True) if len(keys) else keys
    held = client.compute(
        [delayed(scored_partition, pure=False)(part, model, data, keys, sensitive) for part in partitions]
    )
    try:
        lengths = client.gather(client.map(_rows, held, pure=False))
        total = sum(lengths)
        if not total:
            raise DataValidationError("the monitoring window has no rows: nothing to compare with training")
        positions = sample_positions(total, sample_rows, seed)
        offsets = [sum(lengths[:i]) for i in range(len(lengths))]
        taken = [
            client.submit(_take, part, local, offset, pure=False)
            for part, local, offset in zip(
                held, positions_by_partition(lengths, positions), offsets, strict=True
            )
        ]
        sample = assemble_sample(client.gather(taken), positions)
        parts = client.gather(client.map(_outcomes, held, pure=False))
    finally:
        client.cancel(held)
    labelled = [part for part in parts if part is not None]
    outcomes = LabelledOutcomes.concat(labelled) if len(labelled) == len(parts) else None
    return Window(sample, total, outcomes)
