"""Nightly batch scoring: today's customers -> same features -> production model -> scores table."""

from datetime import date
from typing import Annotated

import pandas as pd
import sqlalchemy as sa
from zenml import get_step_context, log_metadata, step
from zenml.logger import get_logger

from adapters.scores_db import check_key, clear_left_behind, write_scores
from adapters.sources import database_url, read_flat_table
from ml import names
from ml.data.validation import as_declared
from ml.scoring import (
    demo_customers,
    missing_untrained,
    missing_untrained_lines,
    resolve_day,
    score,
    score_key,
    unseen_categories,
    unseen_lines,
)
from ml.settings import DataSettings, ScoringSettings
from registry.release import production_release
from steps._context import project_root, state

logger = get_logger(__name__)


@step(enable_cache=False)  # evaluated when the run starts: a scheduled run passes "today"
def window_date(day: str) -> Annotated[str, names.WINDOW_DATE]:
    return resolve_day(day)


@step(enable_cache=False)  # today's data, never yesterday's cache
def load_current(
    data: DataSettings, scoring: ScoringSettings, day: str
) -> Annotated[pd.DataFrame, names.SCORING_DATASET]:
    scores_table_keyed(data, scoring)  # a table it cannot write to refuses the run before the reading
    if data.source == "demo":
        return as_declared(demo_customers(data, scoring, date.fromisoformat(day)), data)
    return read_flat_table(data, project_root())


@step(enable_cache=False)
def score_customers(
    scoring_dataset: pd.DataFrame, data: DataSettings, day: str
) -> tuple[
    Annotated[pd.DataFrame, names.SCORES],
    Annotated[dict, names.UNSEEN_CATEGORIES],
    Annotated[dict, names.MISSING_UNTRAINED],
]:
    release = production_release(get_step_context().model.name)
    scores = score(  # refuses a batch it cannot score before anything else looks at it
        release.model,
        scoring_dataset,
        release.schema,
        release.threshold,
        release.number,
        date.fromisoformat(day),
        data.id_column,
    )
    unseen = unseen_categories(scoring_dataset, release.schema)
    missing = missing_untrained(scoring_dataset, release.schema)
    _warn_of_values_not_learnt(unseen, missing)
    return scores, unseen, missing


def _warn_of_values_not_learnt(unseen: dict, missing: dict) -> None:
    """The run's log says what the summary records: categories and missing values never trained on."""
    if unseen:
        logger.warning("categories the model never saw: %s", "; ".join(unseen_lines(unseen)))
    if missing:
        logger.warning(
            "values missing where training had all: %s", "; ".join(missing_untrained_lines(missing))
        )


def scores_database(scoring: ScoringSettings) -> sa.URL | str:
    if not scoring.database_url:
        return f"sqlite:///{state().scores_db}"
    return database_url(
        scoring.database_url,
        scoring.database_password_env,
        "scoring.database_url",
        "scoring.database_password_env",
    )


def scores_table_keyed(data: DataSettings, scoring: ScoringSettings) -> None:
    """Refuse (``check_key``) a scores table keyed by another column than this project's id column."""
    engine = sa.create_engine(scores_database(scoring))
    try:
        check_key(engine, scoring.table, score_key(data.id_column))
    finally:
        engine.dispose()


@step(enable_cache=False)
def store_scores(
    scores: pd.DataFrame,
    unseen_categories: dict,
    missing_untrained: dict,
    data: DataSettings,
    scoring: ScoringSettings,
    day: str,
) -> Annotated[dict, names.SCORING_SUMMARY]:
    engine, when = sa.create_engine(scores_database(scoring)), date.fromisoformat(day)
    try:
        written = write_scores(engine, scoring.table, scores, when, score_key(data.id_column))
        cleared = clear_left_behind(engine, scoring.table, when)
    finally:
        engine.dispose()
    summary = {
        "date": day,
        "rows": written,
        "table": scoring.table,
        "database": engine.url.render_as_string(hide_password=True),
        "label_share": scores[names.TARGET].value_counts(normalize=True).round(4).to_dict(),
        "model_version": str(scores["model_version"].iloc[0]) if len(scores) else None,
        names.UNSEEN_CATEGORIES: unseen_categories,
        names.MISSING_UNTRAINED: missing_untrained,
        names.CLEARED_STAGING: cleared,  # left by engine-dask runs of the date killed outright
    }
    log_metadata({names.LAST_BATCH_SCORING: summary}, infer_model=True)
    return summary


@step(enable_cache=False)
def score_on_dask(
    data: DataSettings, scoring: ScoringSettings, day: str
) -> Annotated[dict, names.SCORING_SUMMARY]:
    """`engine: dask`: load, score and store today's partitions on the cluster (adapters/dask_scoring.py),
    with the same summary as store_scores."""
    from adapters.dask_cluster import dask_client
    from adapters.dask_scoring import ShippedModel, feature_partitions, score_on_cluster

    scores_table_keyed(data, scoring)  # before any partition is read and scored
    release = production_release(get_step_context().model.name)
    shipped = ShippedModel(release.model, release.schema, release.threshold, str(release.number))
    database, when = scores_database(scoring), date.fromisoformat(day)
    partitions = feature_partitions(data, scoring, when, project_root())
    with dask_client(scoring.dask) as client:
        scored = score_on_cluster(client, partitions, shipped, data, scoring.table, database, when)
    written, labels, unseen, missing = scored.rows, scored.labels, scored.unseen, scored.missing
    _warn_of_values_not_learnt(unseen, missing)
    shares = pd.Series(labels, dtype="int64").sort_values(ascending=False, kind="stable") / written
    summary = {
        "date": day,
        "rows": written,
        "table": scoring.table,
        "database": sa.engine.make_url(database).render_as_string(hide_password=True),
        "label_share": shares.round(4).to_dict(),
        "model_version": shipped.version,
        names.UNSEEN_CATEGORIES: unseen,
        names.MISSING_UNTRAINED: missing,
        names.CLEARED_STAGING: scored.cleared,  # left by runs of the date killed outright
        names.SCORING_ENGINE: {"engine": "dask", "partitions": len(partitions)},
    }
    log_metadata({names.LAST_BATCH_SCORING: summary}, infer_model=True)
    return summary
