"""Batch scoring: the current customers, the same features as training, the production model.
(The idempotent write of one scoring date's rows is ``adapters.scores_db``'s.)"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from ml import names
from ml.data.demo import DemoTables, generate_demo
from ml.data.validation import DataValidationError, did_you_mean
from ml.evaluation import release_decisions
from ml.features import FeatureSchema, build_customer_features, is_numeric
from ml.settings import DataSettings, ScoringSettings
from ml.words import counted


def score_key(id_column: str | None) -> str:
    """The scores table's key column: the table's id column as it names it, or ``names.SCORES_ROW_KEY``
    (the row's number in the batch) when it has none. A table of patients is keyed by patient_id,
    not by a customer_id column holding patient ids."""
    return id_column or names.SCORES_ROW_KEY


def resolve_day(value: str, today: date | None = None) -> str:
    """The window's date as YYYY-MM-DD: ``value`` itself, or the run's own date for ``"today"`` (what
    a scheduled run passes, so each night scores its own day, never the day it was scheduled)."""
    if value == "today":
        return (today or date.today()).isoformat()
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"day {value!r} is not a date; use YYYY-MM-DD or 'today'") from None


def demo_customers(data: DataSettings, scoring: ScoringSettings, day: date) -> pd.DataFrame:
    """Today's demo customers: the generator anchored at ``day`` (its own seed per day), with the
    scoring drift knob, turned into features exactly as in training."""
    demo = data.demo
    tables = generate_demo(
        customers=scoring.customers or demo.customers,
        seed=demo.seed + day.toordinal(),
        drift=scoring.drift,
        bias=demo.bias,
        as_of=day,
    )
    return build_customer_features(tables.customers, tables.sales, day)


def score(
    release,
    frame: pd.DataFrame,
    schema: FeatureSchema,
    threshold: float,
    version: str,
    day: date,
    id_column: str | None,
) -> pd.DataFrame:
    """One row per customer: its key (``score_key``: its id, or the row's number), label, probability of
    the positive label, model version, date."""
    check_scoring_frame(frame, schema)
    decisions, proba = release_decisions(release, frame, schema, threshold)
    ids = frame[id_column].to_numpy() if id_column else frame.index.to_numpy()
    return pd.DataFrame(
        {
            score_key(id_column): ids,
            names.TARGET: np.asarray((schema.negative_label, schema.positive_label), dtype=object)[
                np.asarray(decisions, dtype=bool).astype(int)
            ],
            "probability": proba.astype(float),
            "model_version": str(version),
            "scoring_date": day.isoformat(),
        }
    )


def check_scoring_frame(frame: pd.DataFrame, schema: FeatureSchema) -> None:
    """Stop before anything is written when the batch cannot be scored as the model was trained.

    Refused (DataValidationError naming the column): an empty batch, a missing feature column, a
    numeric feature holding text, a feature column with only missing values. Handled: a category
    the model never saw (e.g. a new region) is scored as a missing value, exactly as the trained
    encoder does; see ``unseen_categories`` to report them. So is a row without a value in a feature
    the training table never lacked: ``missing_untrained`` reports them."""
    if frame.empty:
        raise DataValidationError(
            "the scoring data has no rows: nothing to score, and the previous scores of that date are kept"
        )
    missing = [c for c in schema.names if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"the scoring data lacks the model's feature column(s) {missing}{did_you_mean(missing, frame)}; "
            f"it has {list(frame)}"
        )
    for spec in schema.features:
        column = frame[spec.name]
        if spec.kind == "numeric" and not is_numeric(column):
            raise DataValidationError(
                f"feature column {spec.name!r} should be numeric, but has dtype {column.dtype} "
                f"(e.g. {column.dropna().head(3).tolist()}); fix the source or its parsing, or, if "
                f"data.columns in configs/project.yaml declares {spec.name!r} categorical since this "
                "model was trained, train a new one"
            )
    empty = [c for c in schema.names if frame[c].isna().all()]
    if empty:
        raise DataValidationError(
            f"feature column(s) {empty} of the scoring data hold only missing values; "
            "the source is broken (the model never saw such a batch)"
        )


def unseen_categories(frame: pd.DataFrame, schema: FeatureSchema) -> dict[str, list[str]]:
    """Values of categorical features the model never saw (scored as missing), by column."""
    out = {}
    for spec in schema.features:
        if spec.kind != "categorical" or not spec.categories:
            continue
        values = map(str, frame[spec.name].dropna().unique())  # each distinct value once
        new = sorted(set(values) - set(map(str, spec.categories)))
        if new:
            out[spec.name] = new
    return out


def missing_untrained(frame: pd.DataFrame, schema: FeatureSchema) -> dict[str, int]:
    """Rows without a value, by feature, in the features that never lacked one in the training split:
    the model learnt no answer for them (LightGBM reads a missing number there as 0, a missing
    category as one it never saw; scikit-learn models impute the training median). The served API
    refuses null there, unless another split of the table lacked one (then it is read as here).
    Scored as the model scores them; reported, never hidden."""
    out = {}
    for spec in schema.features:
        if not spec.learnt_missing:
            count = int(frame[spec.name].isna().sum())
            if count:
                out[spec.name] = count
    return out


def missing_untrained_lines(missing: dict[str, int]) -> list[str]:
    """One line per column of ``missing_untrained``."""
    return [
        f"{column}: {counted(count, 'row|rows')} without a value, never missing in training:"
        " scored as the model scores a missing value it never learnt (LightGBM: a number as 0, a category"
        " as one it never saw); fix the source, or retrain on a table where it can be missing"
        for column, count in missing.items()
    ]


UNSEEN_SHOWN = 10  # unseen categories a column's line shows; the run's record keeps them all


def unseen_lines(unseen: dict[str, list[str]]) -> list[str]:
    """One line per column of ``unseen_categories``, at most ``UNSEEN_SHOWN`` values each: titanic's
    tickets and destinations are hundreds a night. All of them stay in the run's record."""
    lines = []
    for column, values in unseen.items():
        if len(values) <= UNSEEN_SHOWN:
            shown = f"{values} unseen in training"
        else:
            shown = (
                f"{len(values)} values unseen in training, e.g. {values[:UNSEEN_SHOWN]} (all of them in the"
                f" version's {names.LAST_BATCH_SCORING}.{names.UNSEEN_CATEGORIES})"
            )
        lines.append(f"{column}: {shown}, scored as missing values (retraining learns them)")
    return lines


# A partition's demo seed: the day's seed (as ``demo_customers``) + index x this stride, so partition 0
# is exactly the pandas engine's batch and no two partitions of the next 270 years share a seed.
PARTITION_SEED_STRIDE = 100_003


def demo_partitions(
    data: DataSettings, scoring: ScoringSettings, partition_rows: int
) -> list[tuple[int, int]]:
    """(first id - 1, customers) of each demo partition: ``partition_rows`` customers each, the last
    one the rest. Ids run on across partitions, so every customer has its own id."""
    total = scoring.customers or data.demo.customers
    return [(start, min(partition_rows, total - start)) for start in range(0, total, partition_rows)]


def demo_partition(
    data: DataSettings, scoring: ScoringSettings, day: date, index: int, offset: int, customers: int
) -> pd.DataFrame:
    """One partition of today's demo customers with their own sales, turned into features by the
    same function as the whole batch (a customer's sales never leave its partition)."""
    tables = demo_partition_tables(data, scoring, day, index, offset, customers)
    return build_customer_features(tables.customers, tables.sales, day)


def demo_partition_tables(
    data: DataSettings, scoring: ScoringSettings, day: date, index: int, offset: int, customers: int
) -> DemoTables:
    """The raw customers and sales of one demo partition: its own seed, ids from ``offset + 1``."""
    demo = data.demo
    return generate_demo(
        customers=customers,
        seed=demo.seed + day.toordinal() + index * PARTITION_SEED_STRIDE,
        drift=scoring.drift,
        bias=demo.bias,
        as_of=day,
        first_id=offset + 1,
    )
