"""`training.engine`: validated (dask trains LightGBM only); the hook through which the estimator is
fitted elsewhere gives the same pipeline as fitting it in place; the split by a seeded hash of the id
is the same in any partitioning; and the table read and split on an in-process Dask cluster brings
back exactly the rows and counts the pandas table gives, on the demo and on a public table
(scikit-learn's breast cancer data) as a Parquet dataset. The fit on worker processes with
lightgbm.dask: tests/e2e/test_dask_scoring.py."""

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier

from ml import names
from ml.data.demo import generate_demo
from ml.data.validation import DataValidationError
from ml.features import build_customer_features, feature_columns, infer_schema
from ml.settings import (
    ConfigError,
    DataSettings,
    FeatureSettings,
    ModelSettings,
    SplitSettings,
    TrainingSettings,
    load_settings,
)
from ml.training import SPLITS, predict_proba, split_bands, split_keys, train_model


@pytest.mark.parametrize("kind", ["logistic_regression", "random_forest"])
def test_engine_dask_with_a_model_that_is_not_lightgbm_is_refused_naming_field_value_and_fix(tmp_path, kind):
    path = tmp_path / "training.yaml"
    path.write_text(f"engine: dask\nmodel: {{kind: {kind}}}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, TrainingSettings)
    message = str(caught.value)
    for part in ("engine", "'dask'", f"model.kind is '{kind}'", "engine: pandas", "model.kind: lightgbm"):
        assert part in message, message
    assert TrainingSettings(engine="dask").dask.workers == 2, "lightgbm with dask: a LocalCluster of 2"
    with pytest.raises(ValueError, match="pandas"):
        TrainingSettings(engine="spark")


def test_an_estimator_fitted_elsewhere_gives_the_pipeline_fitted_in_place():
    tables = generate_demo(customers=800, seed=5)
    frame = build_customer_features(tables.customers, tables.sales)
    data = DataSettings()
    schema = infer_schema(frame, feature_columns(frame, data, FeatureSettings()), data, names.BAD)
    settings = ModelSettings(params={"n_estimators": 30})
    calls = []

    def fit(estimator, prep, X, y, **params):
        calls.append((type(estimator), list(prep.get_feature_names_out()), sorted(params)))
        return estimator.fit(prep.transform(X), y, **params)

    here, elsewhere = (
        train_model(frame, schema, settings, 0),
        train_model(frame, schema, settings, 0, fit=fit),
    )
    assert calls == [
        (LGBMClassifier, list(here[:-1].get_feature_names_out()), ["categorical_feature", "feature_name"])
    ]
    np.testing.assert_array_equal(predict_proba(elsewhere, frame, schema), predict_proba(here, frame, schema))
    with pytest.raises(TypeError, match="not the LGBMClassifier"):
        train_model(frame, schema, settings, 0, fit=lambda estimator, prep, X, y, **params: "a model")


def test_split_keys_are_the_same_in_any_partitioning_and_give_the_configured_shares():
    ids = pd.Series(np.arange(1, 40_001))
    split = SplitSettings(test_size=0.25, validation_size=0.15)
    whole = split_keys(ids, seed=7)
    in_parts = np.concatenate([split_keys(ids.iloc[a : a + 9_999], seed=7) for a in range(0, 40_000, 9_999)])
    np.testing.assert_array_equal(in_parts, whole)
    bands = pd.Series(split_bands(whole, split)).value_counts(normalize=True)
    assert bands["test"] == pytest.approx(0.25, abs=0.01) and bands["validation"] == pytest.approx(
        0.15, abs=0.01
    )
    assert ((whole >= 0) & (whole < 1)).all()
    other_seed = split_bands(split_keys(ids, seed=8), split)
    assert (other_seed != split_bands(whole, split)).mean() > 0.4, "another seed, another split"
    text_ids = split_keys(pd.Series([f"C-{i}" for i in range(5)]), seed=7)
    np.testing.assert_array_equal(text_ids, split_keys(pd.Series([f"C-{i}" for i in range(5)]), seed=7))


def test_on_dask_a_group_columns_rows_share_a_split_whichever_partition_holds_them():
    """statsmodels' modechoice (a traveller's four rows belong together) with a row id: partitions cut
    through travellers, yet each traveller's rows land in one split, as ``split_dataset`` keeps them."""
    import statsmodels.api as sm

    from adapters.dask_training import SPLIT, keyed

    table = sm.datasets.modechoice.load_pandas().data.reset_index(names="row")
    table["choice"] = table["choice"].map({1.0: "yes", 0.0: "no"})
    data = DataSettings(
        source="parquet", path="m.parquet", target_column="choice", positive_label="yes", id_column="row",
        group_column="individual", sensitive_features=("psize",),
    )  # fmt: skip
    training = TrainingSettings()
    parts = pd.concat(
        keyed(table.iloc[a : a + 101], a // 101, data, training) for a in range(0, len(table), 101)
    )
    splits_per_traveller = parts.groupby("individual")[SPLIT].nunique()
    assert (splits_per_traveller == 1).all() and parts[SPLIT].nunique() == 3, parts[SPLIT].value_counts()


@pytest.fixture(scope="module")
def client():
    from distributed import Client

    # ":0": an in-process cluster serves its HTTP endpoints even with None, on 8787 when free
    with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as client:
        yield client


def expected_split(table: pd.DataFrame, data: DataSettings, training: TrainingSettings) -> dict:
    """What the cluster must bring back, computed on the whole pandas table as the pandas engine
    reads it (``as_declared``: a 0/1 target has the labels "0" and "1")."""
    from ml.data.validation import as_declared

    table = as_declared(table, data)
    keys = split_keys(table[data.id_column], training.seed)
    bands = split_bands(keys, training.split)
    ordered = table.assign(_key=keys, _band=bands).sort_values("_key")
    return {
        band: rows.drop(columns=["_key", "_band"]).head(training.dask.holdout_rows).reset_index(drop=True)
        for band, rows in ordered.groupby("_band")
    } | {"rows": {b: ordered.loc[ordered._band == b, data.target_column].astype(str).value_counts().to_dict()
                  for b in SPLITS}}  # fmt: skip


OTHER_DEMO = {"seed": 7, "drift": 0.5, "bias": 0.3, "as_of": "2025-06-30"}  # every knob off its default


@pytest.mark.parametrize(
    ("partition_rows", "knobs"),
    [(200, {}), (700, {}), (3_000, {}), (700, OTHER_DEMO)],  # 200: 15 partitions, a two-level tree
)
def test_the_demo_split_on_a_cluster_brings_back_the_pandas_tables_samples_and_counts(
    tmp_path, client, partition_rows, knobs
):
    from adapters.dask_training import split_on_cluster
    from adapters.sources import ensure_demo_db, read_demo_tables

    data = DataSettings(demo={"customers": 3_000, "path": "demo.sqlite", **knobs})
    training = TrainingSettings(engine="dask", dask={"partition_rows": partition_rows, "holdout_rows": 250})
    split = split_on_cluster(client, data, training, tmp_path)
    tables = read_demo_tables(ensure_demo_db(data.demo, tmp_path))
    expected = expected_split(
        build_customer_features(tables.customers, tables.sales, data.demo.as_of), data, training
    )
    for band in SPLITS:
        pd.testing.assert_frame_equal(getattr(split, band), expected[band], obj=band)
    assert split.rows == expected["rows"], "every row of the table counted in its split and class"
    assert {type(column) for column in split.train.columns} == {str}, "plain names, as pandas reads them"
    assert split.fingerprint["rows"] == 3_000 and split.fingerprint["partitions"] == -(
        -3_000 // partition_rows
    )


@pytest.mark.parametrize("partition_rows", [200, 700, 3_000])  # 200: 15 partitions, a two-level tree
def test_the_keys_of_every_train_row_read_on_a_cluster_are_the_pandas_train_splits(
    tmp_path, client, partition_rows
):
    """Monitoring's seen_in_training on a Dask-trained release: the keys of every train row, not
    of the 250-row sample the pipeline gets back."""
    from adapters.dask_training import train_keys_on_cluster
    from adapters.sources import ensure_demo_db, read_demo_tables
    from ml.monitoring import key_columns, seen_in, training_keys

    data = DataSettings(demo={"customers": 3_000, "path": "demo.sqlite"})
    training = TrainingSettings(engine="dask", dask={"partition_rows": partition_rows, "holdout_rows": 250})
    tables = read_demo_tables(ensure_demo_db(data.demo, tmp_path))
    table = build_customer_features(tables.customers, tables.sales, data.demo.as_of)
    schema = infer_schema(table, feature_columns(table, data, FeatureSettings()), data, names.BAD)
    columns = key_columns(schema)
    keys = train_keys_on_cluster(client, data, training, schema, tmp_path)
    in_train = split_bands(split_keys(table[data.id_column], training.seed), training.split) == "train"
    np.testing.assert_array_equal(keys, training_keys(table[in_train], columns))
    assert len(keys) == in_train.sum() > 1_500, "one key per train row, far more than the sample"
    np.testing.assert_array_equal(seen_in(table, keys, columns), in_train)


def cancer_dataset(tmp_path, unknown_every: int = 0) -> tuple[pd.DataFrame, DataSettings]:
    """scikit-learn's breast cancer table (569 rows, not ours) as a folder of 3 Parquet files, with
    an id; every ``unknown_every``-th row without a label (1.0, 0.0 or NaN)."""
    from sklearn.datasets import load_breast_cancer

    table = load_breast_cancer(as_frame=True).frame.rename(columns=lambda c: c.replace(" ", "_"))
    table.insert(0, "patient", np.arange(10_001, 10_001 + len(table)))
    if unknown_every:
        unknown = np.arange(len(table)) % unknown_every == 0
        table = table.assign(target=table["target"].astype(float).mask(unknown))
    (tmp_path / "cancer").mkdir()
    for part, start in enumerate(range(0, len(table), 200)):
        table.iloc[start : start + 200].to_parquet(tmp_path / "cancer" / f"{part}.parquet", index=False)
    data = DataSettings(source="parquet", path="cancer", target_column="target", positive_label="1",
                        id_column="patient", sensitive_features=[])  # fmt: skip
    return table, data


def test_a_public_parquet_dataset_split_on_a_cluster_equals_its_pandas_split(tmp_path, client, monkeypatch):
    """scikit-learn's breast cancer table (569 rows, not ours) as a folder of Parquet files, each
    read as a partition of its own (a BLOCKSIZE they do not fit in together)."""
    from adapters import sources
    from adapters.dask_training import split_on_cluster

    monkeypatch.setattr(sources, "BLOCKSIZE", 1)

    table, data = cancer_dataset(tmp_path)
    training = TrainingSettings(engine="dask", seed=3, dask={"holdout_rows": 100})
    split = split_on_cluster(client, data, training, tmp_path)
    expected = expected_split(table, data, training)
    for band in SPLITS:
        pd.testing.assert_frame_equal(getattr(split, band), expected[band], obj=band)
    assert split.rows == expected["rows"] and split.fingerprint["partitions"] == 3


def test_the_schema_of_a_split_on_a_cluster_knows_every_rows_missing_values_and_ranges_not_the_samples(
    tmp_path, client
):
    """The datasets a Dask training run gets back are samples, while LightGBM fits every train row: a
    feature blank in one train row the sample does not hold was learnt missing, yet the schema said
    "never missing" (the API refused its null, batch scoring reported it as never learnt), and a
    value beyond the sample's range was a 400. The split's facts of every row give the schema the
    pandas engine's ranges and missing values, row for row."""
    from adapters.dask_training import split_on_cluster

    table, data = cancer_dataset(tmp_path)
    shares = {"test_size": 0.3, "validation_size": 0.3}  # ~170 rows each: more than a sample's 100
    training = TrainingSettings(engine="dask", seed=3, split=shares, dask={"holdout_rows": 100})
    bands = pd.Series(split_bands(split_keys(table["patient"], training.seed), training.split))
    keys = pd.Series(split_keys(table["patient"], training.seed))
    unsampled = {
        band: keys[bands == band].sort_values().index[training.dask.holdout_rows :] for band in SPLITS
    }
    table.loc[unsampled["train"][:1], "mean_radius"] = np.nan  # 1 of ~230 train rows, out of the sample
    table.loc[unsampled["validation"][:2], "mean_texture"] = np.nan  # only outside the train split
    table.loc[unsampled["test"][:1], "mean_area"] = 99_999.0  # beyond every sampled value
    for part, start in enumerate(range(0, len(table), 200)):
        table.iloc[start : start + 200].to_parquet(tmp_path / "cancer" / f"{part}.parquet", index=False)
    split = split_on_cluster(client, data, training, tmp_path)
    assert split.facts["missing"] == {
        "train": {"mean_radius": 1}, "validation": {"mean_texture": 2}, "test": {}
    }, split.facts["missing"]  # fmt: skip
    assert not split.train["mean_radius"].isna().any() and split.test["mean_area"].max() < 99_999
    columns = [c for c in table.columns if c not in ("patient", "target")]
    samples = (split.train, columns, data, "0")
    schema = infer_schema(*samples, others=(split.validation, split.test), facts=split.facts)
    whole = {band: table[bands == band] for band in SPLITS}
    pandas = infer_schema(whole["train"], columns, data, "0", others=(whole["validation"], whole["test"]))
    assert schema.features == pandas.features, "every feature's range and missing values: the table's"
    spec = {s.name: s for s in schema.features}
    assert spec["mean_radius"].nullable and spec["mean_radius"].learnt_missing, spec["mean_radius"]
    assert spec["mean_texture"].nullable and not spec["mean_texture"].learnt_missing, spec["mean_texture"]
    assert spec["mean_area"].maximum == 99_999.0, spec["mean_area"]
    sampled = {s.name: s for s in infer_schema(*samples, others=(split.validation, split.test)).features}
    assert not sampled["mean_radius"].nullable and sampled["mean_area"].maximum < 99_999, "what it was"


def test_rows_without_a_label_are_counted_and_left_out_of_the_split_and_the_train_keys(tmp_path, client):
    """A table scored nightly holds rows whose outcome is not known yet: training said "target column
    has 40 missing values; drop or label those rows". They are left out of every split (and of the
    fit, which reads the same keyed rows), counted, and the split of the others is unchanged."""
    from adapters.dask_training import split_on_cluster, train_keys_on_cluster
    from ml.monitoring import key_columns, training_keys

    table, data = cancer_dataset(tmp_path, unknown_every=7)  # 82 patients not diagnosed yet
    training = TrainingSettings(engine="dask", seed=3, dask={"holdout_rows": 1_000})
    split = split_on_cluster(client, data, training, tmp_path)
    labelled = table[table["target"].notna()].reset_index(drop=True)
    expected = expected_split(labelled, data, training)
    for band in SPLITS:
        pd.testing.assert_frame_equal(getattr(split, band), expected[band], obj=band)
    assert split.rows == expected["rows"] and split.unlabelled == 82, (split.rows, split.unlabelled)
    assert split.fingerprint["rows"] == len(table), "the table read, its unlabelled rows included"
    schema = infer_schema(
        split.train, [c for c in table.columns if c not in ("patient", "target")], data, "0"
    )
    keys = train_keys_on_cluster(client, data, training, schema, tmp_path)
    np.testing.assert_array_equal(keys, training_keys(expected["train"], key_columns(schema)))
    table.assign(target=None).to_parquet(tmp_path / "cancer" / "0.parquet", index=False)
    for part in (1, 2):
        (tmp_path / "cancer" / f"{part}.parquet").unlink()
    with pytest.raises(DataValidationError, match="has no label in any of the 569 rows"):
        split_on_cluster(client, data, training, tmp_path)


def test_a_split_left_with_one_class_is_refused_naming_the_split_counts_and_fix(tmp_path, client):
    from adapters.dask_training import split_on_cluster

    table = pd.DataFrame({"id": range(400), "x": np.arange(400.0), "y": ["no"] * 397 + ["yes"] * 3})
    table.to_parquet(tmp_path / "t.parquet", index=False)
    data = DataSettings(source="parquet", path="t.parquet", target_column="y", positive_label="yes",
                        id_column="id", sensitive_features=[])  # fmt: skip
    training = TrainingSettings(engine="dask", split={"test_size": 0.05, "validation_size": 0.05})
    with pytest.raises(DataValidationError) as caught:
        split_on_cluster(client, data, training, tmp_path)
    message = str(caught.value)
    for part in ("split holds {'no':", "both classes", "raise training.split.", "'id'"):
        assert part in message, message


def test_a_csv_block_past_the_first_not_in_the_encoding_is_named_with_the_setting(tmp_path, monkeypatch):
    """Dask reads a CSV's first block when the partitions are made and the others on the workers: a
    cp1252 name far down a file declared utf-8 (the default) raised Python's UnicodeDecodeError from
    a worker process; it is the DataSourceError naming data.csv.encoding that the first block's is."""
    from adapters import sources
    from adapters.dask_cluster import dask_client
    from adapters.dask_training import split_on_cluster
    from ml.settings import DaskSettings

    rows = 30_000  # past the 256 kB Dask samples for the columns' types
    table = pd.DataFrame({"id": range(rows), "x": np.arange(rows) % 7.0, "y": ["no", "yes"] * (rows // 2)})
    table["city"] = "Madrid"
    table.loc[rows - 100, "city"] = "Logroño"
    table.to_csv(tmp_path / "t.csv", index=False, encoding="cp1252")
    monkeypatch.setattr(sources, "BLOCKSIZE", 100_000)  # 6 blocks; the name is in the last
    data = DataSettings(source="csv", path="t.csv", target_column="y", positive_label="yes", id_column="id",
                        sensitive_features=[])  # fmt: skip
    training = TrainingSettings(engine="dask")
    assert len(sources.flat_partitions(data, 1000, tmp_path, "training.engine")) > 3, "the first block reads"
    with dask_client(DaskSettings(workers=1)) as cluster, pytest.raises(sources.DataSourceError) as caught:
        split_on_cluster(cluster, data, training, tmp_path)  # worker processes: the error crossed back
    message = str(caught.value)
    assert "'t.csv' is not utf-8 text (byte 0xf1 at position" in message, message
    assert "of a block a Dask worker read); set data.csv.encoding" in message, message
    latin = data.model_copy(update={"csv": data.csv.model_copy(update={"encoding": "cp1252"})})
    with dask_client(DaskSettings(workers=1)) as cluster:
        split = split_on_cluster(cluster, latin, training, tmp_path)
    assert sum(sum(counts.values()) for counts in split.rows.values()) == rows, split.rows
