"""Training on a Dask cluster (`training.engine: dask`), for a table too big for one process.

The table is read partition by partition on the workers (the demo database in ranges of customer
ids, the user's Parquet files, CSV blocks or SQL id ranges), and each row goes to train, validation
or test by a seeded hash of its id (``ml.training.split_keys``: the same in any partitioning). Then:

- ``split_on_cluster`` brings back a seeded uniform sample of each split (``training.dask.holdout_rows``
  rows, drawn by the smallest keys in a tree reduction) and the rows per split and class: the
  pipeline's schema, evaluation, fairness, explanation and promotion run on them unchanged;
- ``fit_on_cluster`` fits ``lightgbm.dask.DaskLGBMClassifier`` on every train row where it lies,
  preprocessed on the workers by the preprocessing fitted on the train sample, and ``.to_local()``
  gives back an ordinary ``LGBMClassifier``: the registered model is served and scored by the same
  code as a pandas-trained one."""

from __future__ import annotations

import functools
import hashlib
import logging
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from adapters.dask_cluster import dask_client
from adapters.sources import demo_id_ranges, encoding_named, ensure_demo_db, flat_partitions, read_demo_range
from ml import names
from ml.data.validation import (
    DataValidationError,
    as_declared,
    check_target_classes,
    check_training_rows,
    no_label,
)
from ml.evaluation import data_fingerprint
from ml.features import FeatureSchema, binary_target, build_customer_features, is_numeric
from ml.monitoring import key_columns, merge_keys, training_keys
from ml.settings import DataSettings, TrainingSettings
from ml.training import SPLITS, as_model_input, split_bands, split_keys

LOG = logging.getLogger(__name__)
KEY, SPLIT = "_split_key", "_split"  # columns the workers add; they never leave this module
FAN_IN = 8  # partial samples merged per task of the tree reduction


def source_partitions(data: DataSettings, training: TrainingSettings, root: Path) -> list:
    """The training table as delayed pandas partitions of about ``training.dask.partition_rows``
    rows: the demo's customers by id range, each with its own sales turned into features (as the
    pandas engine turns the whole tables), or the user's flat table (``flat_partitions``)."""
    from dask import delayed

    rows = training.dask.partition_rows
    if data.source != "demo":
        return flat_partitions(data, rows, root, "training.engine")
    path = ensure_demo_db(data.demo, root)
    return [
        delayed(demo_features, pure=True)(path, first, last, data.demo.as_of)
        for first, last in demo_id_ranges(path, rows)
    ]


def demo_features(path: Path, first: int, last: int, as_of: date) -> pd.DataFrame:
    tables = read_demo_range(path, first, last)
    return build_customer_features(tables.customers, tables.sales, as_of)


def keyed(
    frame: pd.DataFrame, index: int, data: DataSettings, training: TrainingSettings, labelled: bool = True
) -> pd.DataFrame:
    """On a worker: partition ``index`` checked, with each row's split key and split; only its rows
    with a label unless ``labelled`` is False (the others are scored, never trained on)."""
    frame = as_declared(frame, data)
    if not frame.empty:
        check_training_rows(frame, data, f"{names.DATASET} (partition {index})")
        if labelled:
            frame = frame[frame[data.target_column].notna()]
    if frame.empty:
        return frame.assign(**{KEY: pd.Series(dtype=float), SPLIT: pd.Series(dtype=object)})
    keys = split_keys(frame[str(data.group_column or data.id_column)], training.seed)  # a group: one split
    return frame.assign(**{KEY: keys, SPLIT: split_bands(keys, training.split)})


@dataclass
class _Partial:
    """What the partitions merged so far hold: rows per (split, class), rows without a target, each
    partition's content hash, the ``holdout_rows`` smallest-keyed rows of each split, and what the
    schema needs of every row (``facts``)."""

    rows: Counter = field(default_factory=Counter)
    missing_target: int = 0
    digests: dict[int, str] = field(default_factory=dict)
    samples: dict[str, pd.DataFrame] = field(default_factory=dict)
    missing: Counter = field(default_factory=Counter)  # (split, column): labelled rows without a value
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)  # numeric column: (low, high)


def summarize(frame: pd.DataFrame, index: int, data: DataSettings, training: TrainingSettings) -> _Partial:
    """On a worker: partition ``index`` reduced to a ``_Partial``."""
    digest = data_fingerprint(frame)["sha256"]
    frame = keyed(frame, index, data, training, labelled=False)
    target = frame[data.target_column]
    labelled = frame[target.notna()]
    by_class = labelled.groupby([labelled[SPLIT], labelled[data.target_column].astype(str)]).size()
    cap = training.dask.holdout_rows
    values = labelled.drop(columns=[KEY, SPLIT])
    blanks = values.isna().groupby(labelled[SPLIT]).sum()
    return _Partial(
        Counter({key: int(n) for key, n in by_class.items()}),
        int(target.isna().sum()),
        {index: digest},
        {split: rows.nsmallest(cap, KEY) for split, rows in labelled.groupby(SPLIT)},
        Counter({(split, column): int(n) for (split, column), n in blanks.stack().items() if n}),
        {
            column: (float(series.min()), float(series.max()))
            for column, series in values.items()
            if is_numeric(series) and series.notna().any()
        },
    )


def merge(cap: int, *partials: _Partial) -> _Partial:
    """Partials merged: counts added, and each split's ``cap`` smallest-keyed rows of theirs."""
    out = _Partial()
    for partial in partials:
        out.rows.update(partial.rows)
        out.missing_target += partial.missing_target
        out.digests.update(partial.digests)
        out.missing.update(partial.missing)
        for column, (low, high) in partial.bounds.items():
            was = out.bounds.get(column, (low, high))
            out.bounds[column] = (min(was[0], low), max(was[1], high))
    for split in SPLITS:
        frames = [partial.samples[split] for partial in partials if split in partial.samples]
        if frames:
            out.samples[split] = pd.concat(frames).nsmallest(cap, KEY)
    return out


def tree_reduce(level: list, combine: Callable):
    """The delayed results of ``level`` combined in a tree: no task holds more than FAN_IN of them."""
    from dask import delayed

    while len(level) > 1:
        level = [delayed(combine, pure=True)(*level[i : i + FAN_IN]) for i in range(0, len(level), FAN_IN)]
    return level[0]


@dataclass(frozen=True)
class ClusterSplit:
    """The table split on the cluster: a sample of each split, its rows per split and class."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    rows: dict[str, dict[str, int]]
    fingerprint: dict
    unlabelled: int = 0  # rows without a label: scored, never trained on
    facts: dict = field(default_factory=dict)  # names.SPLIT_FACTS: ``facts``


@encoding_named
def split_on_cluster(client, data: DataSettings, training: TrainingSettings, root: Path) -> ClusterSplit:
    """Read and split the table on the cluster in one pass; its samples and counts come back."""
    from dask import delayed

    parts = source_partitions(data, training, root)
    cap = training.dask.holdout_rows
    level = [delayed(summarize, pure=True)(part, index, data, training) for index, part in enumerate(parts)]
    total = client.compute(tree_reduce(level, functools.partial(merge, cap))).result()
    rows = {
        split: {label: n for (s, label), n in sorted(total.rows.items()) if s == split} for split in SPLITS
    }
    labels: Counter = Counter()
    for (_, label), n in total.rows.items():
        labels[label] += n
    if not labels:
        raise no_label(total.missing_target, data, names.DATASET)
    check_target_classes(dict(labels), data, names.DATASET)
    for split, size in (("train", None), ("validation", "validation_size"), ("test", "test_size")):
        if len(rows[split]) < 2:
            fix = f"raise training.split.{size} or " if size else ""
            raise DataValidationError(
                f"the {split} split holds {rows[split] or 'no rows'} of the table's {dict(labels)}: it needs "
                f"both classes; {fix}train on more rows (the split is a seeded hash of "
                f"{data.group_column or data.id_column!r}, not stratified)"
            )
    samples = {
        split: total.samples[split].sort_values(KEY).drop(columns=[KEY, SPLIT]).reset_index(drop=True)
        for split in SPLITS
    }
    columns = list(samples["train"].columns)
    digests = "".join(total.digests[index] for index in sorted(total.digests))
    fingerprint = {
        "sha256": hashlib.sha256((digests + ",".join(map(str, columns))).encode()).hexdigest(),
        "rows": sum(labels.values()) + total.missing_target,
        "columns": len(columns),
        "partitions": len(parts),
    }
    return ClusterSplit(
        samples["train"],
        samples["validation"],
        samples["test"],
        rows,
        fingerprint,
        total.missing_target,
        facts(total),
    )


def facts(total: _Partial) -> dict:
    """What the schema needs of every row of the splits, not of their samples (``infer_schema``'s
    ``facts``): a feature lacking a value in 1 train row of 10M is one the booster, fitted on every
    row, learnt missing, and a sample of 50,000 rarely holds that row; the ranges of every row."""
    return {
        "missing": {
            split: {column: n for (s, column), n in sorted(total.missing.items()) if s == split}
            for split in SPLITS
        },
        "ranges": {column: list(pair) for column, pair in sorted(total.bounds.items())},
    }


def train_row_keys(
    frame: pd.DataFrame, index: int, data: DataSettings, training: TrainingSettings, columns: list[str]
) -> np.ndarray:
    """On a worker: the ``training_keys`` of partition ``index``'s train rows on ``columns``."""
    rows = keyed(frame, index, data, training)
    return training_keys(rows[rows[SPLIT] == SPLITS[0]], columns)


@encoding_named
def train_keys_on_cluster(
    client, data: DataSettings, training: TrainingSettings, schema: FeatureSchema, root: Path
) -> np.ndarray:
    """The keys (``ml.monitoring.training_keys`` on ``key_columns``) of every train row of the
    table, read again on the cluster and merged in a tree: monitoring's ``seen_in_training`` then
    knows each row the model was fitted on, not only those of the train sample."""
    from dask import delayed

    columns = key_columns(schema)
    parts = source_partitions(data, training, root)
    level = [
        delayed(train_row_keys, pure=True)(part, index, data, training, columns)
        for index, part in enumerate(parts)
    ]
    return client.compute(tree_reduce(level, merge_keys)).result()


def train_matrix(
    frame: pd.DataFrame,
    index: int,
    data: DataSettings,
    training: TrainingSettings,
    prep,
    schema: FeatureSchema,
    meta: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.Series]:
    """On a worker: the train rows of partition ``index``, preprocessed, and their 0/1 target."""
    rows = keyed(frame, index, data, training)
    rows = rows[rows[SPLIT] == SPLITS[0]]
    if rows.empty:
        return meta, pd.Series(dtype="int64", name=names.TARGET)
    X = prep.transform(as_model_input(rows, schema)).astype("float64")
    y = binary_target(rows[schema.target_column], schema.positive_label)
    return X, pd.Series(y, index=X.index, name=names.TARGET)


@encoding_named
def fit_on_cluster(
    client, parts: list, data: DataSettings, training: TrainingSettings, schema: FeatureSchema,
    estimator, prep, sample: pd.DataFrame, **fit_params,
):  # fmt: skip
    """``estimator`` (an unfitted ``LGBMClassifier``) fitted by ``DaskLGBMClassifier`` with the same
    parameters on every train row of ``parts``, each preprocessed on its worker by ``prep`` (fitted
    on the train ``sample``, the model's input columns)."""
    import dask.dataframe as dd
    import lightgbm
    from dask import delayed
    from lightgbm import LGBMClassifier
    from lightgbm.dask import DaskLGBMClassifier

    if not isinstance(estimator, LGBMClassifier):
        raise TypeError(f"training.engine 'dask' fits LightGBM only, not {type(estimator).__name__}")
    meta = prep.transform(sample.head(1)).astype("float64").iloc[:0]
    pairs = [
        delayed(train_matrix, nout=2, pure=True)(part, index, data, training, prep, schema, meta)
        for index, part in enumerate(parts)
    ]
    X = dd.from_delayed([x for x, _ in pairs], meta=meta)
    y = dd.from_delayed([y for _, y in pairs], meta=pd.Series(dtype="int64", name=names.TARGET))
    X, y = client.persist([X, y])
    lengths = X.map_partitions(len).compute().tolist()
    kept = [index for index, n in enumerate(lengths) if n]  # lightgbm.dask: no empty partition
    lightgbm.register_logger(_LightGBMLog())
    client.run(_quiet_lightgbm)
    model = DaskLGBMClassifier(client=client, **estimator.get_params())
    with warnings.catch_warnings():  # lightgbm.dask always says so: each worker uses its own threads
        warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored")
        model.fit(X.partitions[kept], y.partitions[kept], **fit_params)
    LOG.info("lightgbm.dask fitted on %d train rows in %d partitions", sum(lengths), len(kept))
    # the configured threads for scoring (to_local keeps None: LightGBM's default, every core)
    return model.to_local().set_params(n_jobs=estimator.n_jobs)


class _LightGBMLog:
    """LightGBM's messages while it trains on the cluster, as debug logs: its network set-up ("Finding
    random open ports for workers", "Connecting to rank 1 failed, waiting") says nothing a user can act
    on. Its Python warnings stay warnings; the model's own messages are off anyway (verbose: -1)."""

    def info(self, message: str) -> None:
        LOG.debug("lightgbm: %s", message)

    def warning(self, message: str) -> None:
        warnings.warn(message, stacklevel=3)


def _quiet_lightgbm() -> None:
    """On each worker: LightGBM's native messages (its network set-up) to debug logs, not stdout."""
    import lightgbm

    lightgbm.register_logger(_LightGBMLog())


@contextmanager
def estimator_fit(
    training: TrainingSettings, data: DataSettings, schema: FeatureSchema, root: Path
) -> Iterator[Callable | None]:
    """What ``ml.training.train_model`` fits the estimator with: ``None`` (in this process) for
    ``engine: pandas``; for ``engine: dask``, LightGBM on the cluster of ``training.dask``, on every
    train row of the table (``train_model``'s frame is the train sample the preprocessing is fitted on)."""
    if training.engine == "pandas":
        yield None
        return
    with dask_client(training.dask, "training.dask") as client:
        parts = source_partitions(data, training, root)
        yield lambda estimator, prep, X, y, **params: fit_on_cluster(
            client, parts, data, training, schema, estimator, prep, X, **params
        )
