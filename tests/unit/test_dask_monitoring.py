"""Drift on a partitioned window (`monitoring.engine: dask`): the seeded sample drawn across partitions
is the pandas engine's sample of the same rows, so Evidently gives the same verdicts; the labelled
rows' outcomes are the same too (the run on a LocalCluster: tests/e2e/test_dask_scoring.py)."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from ml import names
from ml.data.demo import generate_demo
from ml.evaluation import release_decisions
from ml.features import build_customer_features, feature_columns, infer_schema
from ml.live_fairness import FairnessGate, live_fairness
from ml.monitoring import (
    LabelledOutcomes,
    assemble_sample,
    detect_drift,
    key_columns,
    labelled_outcomes,
    positions_by_partition,
    sample_positions,
    training_keys,
)
from ml.settings import DataSettings, FairnessSettings, FeatureSettings, ModelSettings
from ml.training import train_model

DAY = date(2026, 3, 1)


def features(customers: int, seed: int, drift: float = 0.0) -> pd.DataFrame:
    tables = generate_demo(customers=customers, seed=seed, drift=drift, as_of=DAY)
    return build_customer_features(tables.customers, tables.sales, DAY)


@pytest.mark.parametrize(("rows", "lengths"), [(1000, [300, 0, 450, 250]), (90, [40, 50])])
def test_a_sample_drawn_across_partitions_is_the_sample_of_the_rows_in_one_frame(rows, lengths):
    frame = features(rows, seed=1).assign(position=np.arange(rows))
    starts = np.cumsum([0, *lengths])
    parts = [frame.iloc[a:b].reset_index(drop=True) for a, b in zip(starts[:-1], starts[1:], strict=True)]
    positions = sample_positions(rows, 100, seed=7)
    pieces = []
    for part, local, start in zip(
        parts, positions_by_partition(lengths, positions), starts[:-1], strict=True
    ):
        piece = part.take(local)
        piece.index = local + start
        pieces.append(piece)
    expected = frame.sample(n=100, random_state=7) if rows > 100 else frame
    pd.testing.assert_frame_equal(
        assemble_sample(pieces, positions), expected, check_index_type=False, obj="partitioned sample"
    )


@pytest.fixture(scope="module")
def release():
    training = features(1200, seed=2)
    data = DataSettings()
    schema = infer_schema(training, feature_columns(training, data, FeatureSettings()), data, names.BAD)
    model = train_model(training, schema, ModelSettings(params={"n_estimators": 40}), seed=0)
    return model, schema, training


def test_a_window_scored_on_a_cluster_gets_the_pandas_engines_drift_verdicts_and_outcomes(release):
    from distributed import Client

    from adapters.dask_monitoring import window_on_cluster
    from adapters.dask_scoring import ShippedModel

    model, schema, training = release
    window = features(1500, seed=3, drift=0.4)
    keys = training_keys(training, key_columns(schema))
    window.iloc[:40] = training.iloc[:40].to_numpy()  # rows the model was trained on: not live evidence
    parts = [window.iloc[a : a + 400].reset_index(drop=True) for a in range(0, 1500, 400)]
    roles = (schema.numeric, schema.categorical)
    reference = training[schema.names].assign(prediction=release_decisions(model, training, schema, 0.5)[1])

    decisions, proba = release_decisions(model, window, schema, 0.5)
    by_pandas = detect_drift(
        reference, window[schema.names].assign(prediction=proba), *roles, "prediction", 500, 0, 0.3
    )
    sensitive = ("gender", "age")  # the live fairness check's columns
    pandas_outcomes = labelled_outcomes(window, decisions, proba, schema, keys, sensitive)

    # ":0": an in-process cluster serves its HTTP endpoints even with None, on 8787 when free
    with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as client:
        shipped = ShippedModel(model, schema, 0.5, "1")
        on_dask = window_on_cluster(client, parts, shipped, DataSettings(), keys, 500, 0, sensitive)
    by_dask = detect_drift(
        reference, on_dask.sample, *roles, "prediction", 500, 0, 0.3, current_rows=on_dask.rows
    )

    assert by_dask.to_metadata() == by_pandas.to_metadata(), "the same drift scores, verdicts and sample"
    assert 0 < by_pandas.drift_share < 1, f"some columns drift, some not: {by_pandas.drifted_columns}"
    assert by_dask.sample["current_rows"] == 1500 and by_dask.sample["sampled_current"] == 500
    assert isinstance(on_dask.outcomes, LabelledOutcomes)
    for field in ("target", "decisions", "proba", "seen"):
        np.testing.assert_array_equal(
            getattr(on_dask.outcomes, field), getattr(pandas_outcomes, field), err_msg=field
        )
    assert on_dask.outcomes.seen[:40].all() and on_dask.outcomes.seen.sum() == 40, "training rows found"
    pd.testing.assert_frame_equal(on_dask.outcomes.groups, pandas_outcomes.groups)
    assert list(pandas_outcomes.groups) == list(sensitive) and len(pandas_outcomes.groups) == 1500
    gate = FairnessGate(sensitive, {"gender": None, "age": (35.0, 50.0)}, FairnessSettings())
    on_pandas = live_fairness(pandas_outcomes, gate, 500, 0)
    assert live_fairness(on_dask.outcomes, gate, 500, 0) == on_pandas, "the same live fairness verdicts"
    assert (on_pandas["judged_rows"], on_pandas[names.LIVE_ROWS]) == (500, 1460)
