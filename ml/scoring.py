"""Batch scoring: the current customers, the same features as training, the production model,
and an idempotent write of one scoring date's rows."""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa

from ml import names
from ml.data.demo import generate_demo
from ml.evaluation import release_decisions
from ml.features import FeatureSchema, build_customer_features
from ml.settings import DataSettings, ScoringSettings

SCORE_COLUMNS = (names.ID, names.TARGET, "probability", "model_version", "scoring_date")


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
    """One row per customer: id, label, probability of the positive label, model version, date."""
    missing = [c for c in schema.names if c not in frame.columns]
    if missing:
        raise ValueError(
            f"the scoring data lacks the model's feature column(s) {missing}; it has {list(frame)}"
        )
    decisions, proba = release_decisions(release, frame, schema, threshold)
    ids = frame[id_column].to_numpy() if id_column else frame.index.to_numpy()
    return pd.DataFrame(
        {
            names.ID: ids,
            names.TARGET: [schema.positive_label if d else schema.negative_label for d in decisions],
            "probability": proba.astype(float),
            "model_version": str(version),
            "scoring_date": day.isoformat(),
        }
    )


def scores_table(table: str) -> sa.Table:
    metadata = sa.MetaData()
    return sa.Table(
        table,
        metadata,
        sa.Column(names.ID, sa.String(64), nullable=False),
        sa.Column(names.TARGET, sa.String(64), nullable=False),
        sa.Column("probability", sa.Float, nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("scoring_date", sa.String(10), nullable=False, index=True),
        sa.CheckConstraint("probability >= 0 AND probability <= 1", name=f"{table}_probability_range"),
        sa.UniqueConstraint(names.ID, "scoring_date", name=f"{table}_one_row_per_customer_and_date"),
    )


def write_scores(engine: sa.Engine, table: str, scores: pd.DataFrame, day: date) -> int:
    """Replace ``day``'s rows with ``scores`` in one transaction: a rerun gives the same rows, and
    a failure part-way leaves the previous rows of that day intact."""
    target = scores_table(table)
    target.metadata.create_all(engine)
    rows = [
        {**record, names.ID: str(record[names.ID])}
        for record in scores.loc[:, list(SCORE_COLUMNS)].to_dict(orient="records")
    ]
    with engine.begin() as conn:
        conn.execute(target.delete().where(target.c.scoring_date == day.isoformat()))
        if rows:
            conn.execute(target.insert(), rows)
    return len(rows)


def read_scores(engine: sa.Engine, table: str, day: date | None = None) -> pd.DataFrame:
    target = scores_table(table)
    query = sa.select(target)
    if day is not None:
        query = query.where(target.c.scoring_date == day.isoformat())
    with engine.connect() as conn:
        return pd.read_sql(query.order_by(target.c.scoring_date, target.c[names.ID]), conn)
