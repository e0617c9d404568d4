"""Batch scoring on a Dask cluster (`engine: dask`): each partition of today's customers is loaded,
turned into features and scored on a worker with the same functions as the pandas engine, and staged
in the scores database; ONE transaction replaces the date's rows with the staged ones (on PostgreSQL
moving each partition as it finishes, on SQLite after the last)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from adapters.scores_db import (
    clear_left_behind,
    drop_staging,
    moves_while_staging,
    replace_as_staged,
    replace_from_staging,
    stage_scores,
    staging_name,
)
from adapters.sources import encoding_named, flat_partitions
from ml import names
from ml.data.validation import DataValidationError, as_declared
from ml.features import FeatureSchema
from ml.scoring import (
    demo_partition,
    demo_partitions,
    missing_untrained,
    score,
    score_key,
    unseen_categories,
)
from ml.settings import DataSettings, ScoringSettings


@dataclass(frozen=True)
class ShippedModel:
    """What a worker needs of the production release (the registry's handles stay in the step)."""

    model: object
    schema: FeatureSchema
    threshold: float
    version: str


def feature_partitions(data: DataSettings, scoring: ScoringSettings, day: date, root: Path) -> list:
    """Today's customers as delayed pandas partitions: the demo generated partition by partition
    (customers + their own sales), a Parquet dataset a file per partition (small files together), a
    CSV in blocks, the SQL query in ranges of its id column (``adapters.sources.sql_partitions``)."""
    from dask import delayed

    if data.source == "demo":
        return [
            delayed(demo_partition, pure=True)(data, scoring, day, index, offset, customers)
            for index, (offset, customers) in enumerate(
                demo_partitions(data, scoring, scoring.dask.partition_rows)
            )
        ]
    return flat_partitions(data, scoring.dask.partition_rows, root, "scoring.engine")


def stage_partition(
    frame: pd.DataFrame,
    shipped: ShippedModel,
    index: int,
    day: date,
    data: DataSettings,
    database: sa.URL | str,
    staging: str,
) -> dict:
    """On a worker: score one partition and write its rows to the staging table."""
    frame = as_declared(frame, data)
    if frame.empty:
        return {"rows": 0, "labels": {}, "unseen": {}, "missing": {}}
    scores = score(
        shipped.model, frame, shipped.schema, shipped.threshold, shipped.version, day, data.id_column
    )
    engine = scores_engine(database)
    try:
        rows = stage_scores(engine, staging, scores, index, day, shipped.version, score_key(data.id_column))
    finally:
        engine.dispose()
    labels = scores[names.TARGET].value_counts().to_dict()
    unseen, missing = unseen_categories(frame, shipped.schema), missing_untrained(frame, shipped.schema)
    return {"rows": rows, "labels": labels, "unseen": unseen, "missing": missing}


LOCK_TIMEOUT_MS = 120_000  # PostgreSQL: how long a statement of a run waits for a table's lock


def scores_engine(database: sa.URL | str) -> sa.Engine:
    return sa.create_engine(database, connect_args=scores_connect_args(database))


def scores_connect_args(database: sa.URL | str) -> dict:
    """SQLite: partitions staged at once by several workers wait for each other's write lock.
    PostgreSQL: a lock never granted fails the run, never hangs it; added to the URL's own options
    (which replace them: its search path, the schema the scores table is in, was lost)."""
    url = sa.engine.make_url(database)
    if url.get_backend_name() == "sqlite":
        return {"timeout": 120}
    if url.get_backend_name() == "postgresql":
        given = url.query.get("options", "")
        given = " ".join(given) if isinstance(given, tuple) else given
        return {"options": f"{given} -c lock_timeout={LOCK_TIMEOUT_MS}".strip()}
    return {}


@dataclass(frozen=True)
class Scored:
    """What a run on the cluster wrote: ``rows`` for the date, the ``labels`` counted, the ``unseen``
    categories per column, the rows ``missing`` a value per column that training never lacked
    (``missing_untrained``), and the staging tables ``cleared`` that killed runs of the date left."""

    rows: int
    labels: dict
    unseen: dict
    cleared: list
    missing: dict


@encoding_named
def score_on_cluster(
    client, partitions: list, shipped: ShippedModel, data: DataSettings, table: str, database, day: date
) -> Scored:
    """Stage every partition's scores on the cluster and replace ``day``'s rows in one transaction:
    after the last partition is staged (SQLite: one writer at a time), or, on a database with
    concurrent writers (PostgreSQL), a transaction that moves each partition as it finishes while
    the others are scored (``adapters.scores_db.moves_while_staging``). Any failure before the
    commit (a partition that cannot be scored, a lost cluster) leaves ``day``'s earlier rows as they
    were, and the partitions still running are cancelled. Staging tables an earlier run of ``day``
    left (its driver killed outright) are dropped first."""
    from dask import delayed

    staging, key = staging_name(table, day, uuid.uuid4().hex), score_key(data.id_column)
    engine = scores_engine(database)
    futures: list = []
    try:
        cleared = clear_left_behind(engine, table, day, staging)
        model = delayed(shipped, pure=True, traverse=False)  # one task: sent to each worker once
        tasks = [
            delayed(stage_partition, pure=False)(part, model, index, day, data, database, staging)
            for index, part in enumerate(partitions)
        ]
        futures = client.compute(tasks)
        results: dict[int, dict] = {}
        finished = _as_staged(futures, results)
        if moves_while_staging(engine):
            written = replace_as_staged(engine, table, staging, day, shipped.version, finished, key)
        else:
            staged = dict(finished)
            written = replace_from_staging(engine, table, staging, day, shipped.version, staged, key)
    finally:
        client.cancel([future for future in futures if future is not None])  # after a failure
        drop_staging(engine, staging)
        engine.dispose()
    labels: dict = {}
    unseen: dict[str, set] = {}
    missing: dict[str, int] = {}
    for result in results.values():
        for label, count in result["labels"].items():
            labels[label] = labels.get(label, 0) + count
        for column, values in result["unseen"].items():
            unseen.setdefault(column, set()).update(values)
        for column, count in result["missing"].items():
            missing[column] = missing.get(column, 0) + count
    unseen_sorted = {column: sorted(values) for column, values in sorted(unseen.items())}
    in_order = {spec.name: missing[spec.name] for spec in shipped.schema.features if spec.name in missing}
    return Scored(written, labels, unseen_sorted, cleared, in_order)


def _as_staged(futures: list, results: dict[int, dict]) -> Iterator[tuple[int, int]]:
    """(partition, rows staged) of each partition as it finishes, its result kept in ``results``
    and its future let go (``futures[index] = None``: a finished partition is never recomputed,
    not even when the worker holding its result dies). The first failed partition raises. After
    the last: no rows at all is an error (the date's previous scores are kept)."""
    from distributed import as_completed

    index_of = {future.key: index for index, future in enumerate(futures)}
    for future, result in as_completed(list(futures), with_results=True):
        index = index_of[future.key]
        futures[index] = None
        # and no loop variable holds it while the caller moves the partition: a worker dying then made
        # Dask stage it again, into the table the date's open transaction had locked, and the run hung
        del future
        results[index] = result
        yield index, result["rows"]
    if not sum(result["rows"] for result in results.values()):
        raise DataValidationError(
            "the scoring data has no rows: nothing to score, and the previous scores of that date are kept"
        )
