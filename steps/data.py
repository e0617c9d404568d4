"""Load the raw tables and turn them into one validated row per customer."""

from typing import Annotated

import numpy as np
import pandas as pd
from zenml import step

from adapters.dask_cluster import dask_client
from adapters.dask_training import split_on_cluster, train_keys_on_cluster
from adapters.sources import ensure_demo_db, read_demo_tables, read_flat_table
from ml import names
from ml.data.validation import (
    DEMO_SCHEMA,
    as_declared,
    labelled_rows,
    unlabelled_note,
    validate_demo_tables,
    validate_training_table,
)
from ml.evaluation import data_fingerprint
from ml.features import FeatureSchema, build_customer_features
from ml.settings import DataSettings, TrainingSettings
from steps._context import log_version_metadata, project_root
from steps.materializers import HashedPandasMaterializer


# The source may change between runs: always read it. Its frames carry a content hash, so the
# steps after it hit the cache when the data did not change (a rerun resumes where it failed).
@step(enable_cache=False, output_materializers=HashedPandasMaterializer)
def load_data(
    data: DataSettings,
) -> tuple[Annotated[pd.DataFrame, names.RAW_CUSTOMERS], Annotated[pd.DataFrame, names.RAW_SALES]]:
    """Read the demo SQLite tables, or the user's flat table (then ``raw_sales`` is empty, with the
    demo's sales columns: ZenML's summary of an artifact cannot describe a frame without columns)."""
    if data.source == "demo":
        tables = read_demo_tables(ensure_demo_db(data.demo, project_root()))
        validate_demo_tables(tables.customers, tables.sales)
        return tables.customers, tables.sales
    return read_flat_table(data, project_root()), pd.DataFrame(columns=list(DEMO_SCHEMA[names.SALES_TABLE]))


@step
def engineer_features(
    customers: pd.DataFrame, sales: pd.DataFrame, data: DataSettings, dropped: tuple[str, ...] = ()
) -> Annotated[pd.DataFrame, names.DATASET]:
    """Customer-level aggregates of the sales joined to the customers, then schema checks (none of
    ``dropped``, training.yaml's features.drop, is checked for values: the model never takes them)."""
    as_of = data.demo.as_of if data.source == "demo" else None
    table = as_declared(build_customer_features(customers, sales, as_of), data)
    dataset, unlabelled = labelled_rows(table, data, names.DATASET)  # the rows to score: not trained on
    validate_training_table(dataset, data, names.DATASET, dropped)
    if unlabelled:
        print(unlabelled_note(unlabelled, len(table), data))
    log_version_metadata({names.DATA_FINGERPRINT: data_fingerprint(table), names.UNLABELLED_ROWS: unlabelled})
    return dataset


SAMPLES = {
    name: HashedPandasMaterializer
    for name in (names.DATASET_TRAIN, names.DATASET_VALIDATION, names.DATASET_TEST)
}


@step(enable_cache=False, output_materializers=SAMPLES)  # split_facts: ZenML's own for a dict
def split_on_dask(
    data: DataSettings, training: TrainingSettings
) -> tuple[
    Annotated[pd.DataFrame, names.DATASET_TRAIN],
    Annotated[pd.DataFrame, names.DATASET_VALIDATION],
    Annotated[pd.DataFrame, names.DATASET_TEST],
    Annotated[dict, names.SPLIT_FACTS],
]:
    """``engine: dask``: the table read, turned into features and split on the cluster; a seeded
    sample of each split (``training.dask.holdout_rows``) comes back, the rows stay there, and the
    schema's facts of every row (``adapters.dask_training.facts``)."""
    with dask_client(training.dask, "training.dask") as client:
        split = split_on_cluster(client, data, training, project_root())
    if split.unlabelled:
        print(unlabelled_note(split.unlabelled, split.fingerprint["rows"], data))
    log_version_metadata(
        {
            names.DATA_FINGERPRINT: split.fingerprint,
            names.SPLIT_ROWS: split.rows,
            names.UNLABELLED_ROWS: split.unlabelled,
        }
    )
    return split.train, split.validation, split.test, split.facts


@step(enable_cache=False)  # the rows outside the sample may have changed: always read them
def train_row_keys_on_dask(
    feature_schema: dict, data: DataSettings, training: TrainingSettings
) -> Annotated[np.ndarray, names.TRAIN_ROW_KEYS]:
    """``engine: dask``: the keys of every train row on the model's features and label, read on the
    cluster, for monitoring's ``seen_in_training`` (the train dataset is only a sample)."""
    schema = FeatureSchema.from_dict(feature_schema)
    with dask_client(training.dask, "training.dask") as client:
        return train_keys_on_cluster(client, data, training, schema, project_root())
