import json

import numpy as np
import pandas as pd
import pytest

from bentos.inference_log import TABLE, connect, row
from ml import names
from ml.data.demo import generate_demo
from ml.features import build_customer_features, is_numeric
from ml.monitoring import (
    classification_quality,
    detect_drift,
    metric_floor,
    serving_health,
    serving_line,
    serving_window,
)

SHIFTED = ("annual_income", "avg_amount", "total_amount", "online_share")
NOT_FEATURES = {names.ID, names.TARGET, "gender", "age"}


def features(customers: int, seed: int, drift: float = 0.0) -> pd.DataFrame:
    tables = generate_demo(customers=customers, seed=seed, drift=drift)
    return build_customer_features(tables.customers, tables.sales)


def roles(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    columns = [c for c in frame.columns if c not in NOT_FEATURES]
    return [c for c in columns if is_numeric(frame[c])], [c for c in columns if not is_numeric(frame[c])]


@pytest.fixture(scope="module")
def reference():
    return features(1500, seed=1)


@pytest.fixture(scope="module")
def no_drift(reference):
    return detect_drift(reference, features(1500, seed=2), *roles(reference))


@pytest.fixture(scope="module")
def with_prediction(reference):
    """Drifted features plus probabilities that moved from Beta(2, 5) to Beta(5, 2)."""
    rng = np.random.default_rng(0)
    current = features(1500, seed=2, drift=1.0)
    ref = reference.assign(probability=rng.beta(2, 5, len(reference)))
    cur = current.assign(probability=rng.beta(5, 2, len(current)))
    return detect_drift(ref, cur, *roles(reference), prediction="probability")


# --- detect_drift ---------------------------------------------------------------------------------


def test_two_seeds_of_the_same_generator_show_no_drift(no_drift):
    assert no_drift.drift_share <= 0.1, f"same distribution, drift share {no_drift.drift_share}"
    assert len(no_drift.drifted_columns) <= 1, f"same distribution, drifted: {no_drift.drifted_columns}"
    assert no_drift.prediction_drift == {}, "no prediction column given, no prediction drift"


@pytest.mark.parametrize(
    ("customers", "method"),
    [(600, "K-S p_value"), (1500, "Wasserstein distance (normed)")],
    ids=["p-value-low-is-drift", "distance-high-is-drift"],
)
def test_drift_knob_shifts_are_detected_whether_low_or_high_scores_mean_drift(reference, customers, method):
    ref = reference if customers == len(reference) else features(customers, seed=1)
    result = detect_drift(ref, features(customers, seed=2, drift=1.0), *roles(ref))
    assert result.column_scores["annual_income"]["method"] == method, (
        f"Evidently picks its test by size: {result.column_scores['annual_income']}"
    )
    missed = [c for c in SHIFTED if c not in result.drifted_columns]
    assert not missed, f"shifted columns not flagged: {missed}; scores {result.column_scores}"
    assert result.drift_share > 0.2, f"drift=1.0 must move many features, share {result.drift_share}"
    flagged = {c for c, s in result.column_scores.items() if s["drifted"]}
    assert flagged == set(result.drifted_columns), "drifted_columns lists exactly the flagged columns"
    assert result.drift_share == pytest.approx(len(flagged) / len(result.column_scores)), (
        f"Evidently's share {result.drift_share} disagrees with its verdicts {sorted(flagged)}"
    )


def test_prediction_drift_is_detected_when_probabilities_shift(with_prediction):
    drift = with_prediction.prediction_drift
    assert drift["column"] == "probability" and drift["drifted"], f"Beta(2,5) -> Beta(5,2) missed: {drift}"
    assert {"score", "method", "threshold"} <= set(drift), f"score, method and threshold reported: {drift}"
    assert "probability" not in with_prediction.column_scores, "the prediction is not counted as a feature"


def test_unchanged_probabilities_show_no_prediction_drift(reference):
    rng = np.random.default_rng(3)
    current = features(1500, seed=2)
    ref = reference.assign(p=rng.beta(2, 5, len(reference)))
    cur = current.assign(p=rng.beta(2, 5, len(current)))
    drift = detect_drift(ref, cur, *roles(reference), prediction="p").prediction_drift
    assert drift["drifted"] is False, f"same Beta(2,5) probabilities flagged as drifted: {drift}"


def test_a_category_the_reference_lacks_is_drift_without_scipys_warnings(reference):
    """statsmodels' autos: convertibles in a night, none in the training split. The column drifts
    (the model never saw them), and scipy's "divide by zero" warnings, three to a run with
    Evidently's chi-square, said nothing more to the user. (4 of 150 rows against 0 of 150 are
    within chance for a two-sample test, p = 0.53: 15 are not.)"""
    import warnings

    small = reference.head(150)
    current = small.copy()
    current.loc[current.index[:15], "region"] = "islands"
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = detect_drift(small, current, *roles(reference))
    assert "region" in result.drifted_columns, result.column_scores["region"]
    assert set(result.drifted_columns) == {"region"}, result.drifted_columns
    # penguins scored on their own table: one sex '.' of 344 rows, which the training split lacked,
    # drifted the column. A stray (under 5 rows and 1 % of the night) is read as the model reads it,
    # a missing value, and said so
    big = reference.head(600)
    stray = big.assign(region=big.region.mask(big.index == big.index[3], "."))
    result = detect_drift(big, stray, *roles(reference))
    assert "region" not in result.drifted_columns, result.column_scores["region"]
    assert result.sample["stray_categories"] == {"region": ["."]}, result.sample
    assert (
        "New categories of a few rows, read as missing values as the model reads them: region" in result.html
    )


def test_sampling_caps_the_rows_compared_and_says_so(reference):
    current = features(1500, seed=2, drift=1.0)
    result = detect_drift(reference, current, *roles(reference), sample_rows=150, seed=7)
    assert result.sample == {
        "reference_rows": 1500,
        "current_rows": 1500,
        "sampled_reference": 150,
        "sampled_current": 150,
        "sample_rows": 150,
        "method": "uniform random sample without replacement, seed 7",
        "pooled_categories": {},
        "stray_categories": {},
    }, result.sample
    expected = "150 of 1,500 reference rows and 150 of 1,500 current rows"
    assert expected in result.html, "the report states the sample"
    assert "seed 7" in result.html, "the report states the sampling method"
    presampled = detect_drift(
        reference.sample(n=150, random_state=7), current.sample(n=150, random_state=7), *roles(reference)
    )
    assert presampled.column_scores == result.column_scores, "Evidently saw exactly the seeded samples"


def test_html_is_evidently_s_report_with_the_sample_line_in_its_body(no_drift):
    page = no_drift.html
    assert page.strip().startswith("<!DOCTYPE html>"), f"a standalone page: {page[:80]!r}"
    body = page.index("<body")
    assert page.index("reference rows") > body, "the sample line is inside the body, not before the doctype"
    assert len(page) > 100_000, f"Evidently's report embeds its viewer; got {len(page)} characters"


def test_metadata_is_plain_json_without_html_or_snapshot(with_prediction):
    metadata = with_prediction.to_metadata()
    assert json.loads(json.dumps(metadata)) == metadata, "to_metadata must survive a JSON round trip"
    assert set(metadata) == {
        "drift_share",
        "drifted_columns",
        "column_scores",
        "prediction_drift",
        "sample",
    }, sorted(metadata)
    assert json.loads(with_prediction.snapshot_json)["metadata"] == {"prediction_column": "probability"}, (
        "the snapshot records which column is the prediction"
    )


def test_missing_column_error_names_the_column_and_the_frame(reference):
    numeric, categorical = roles(reference)
    with pytest.raises(ValueError, match=r"column\(s\) \['avg_amount'\] not in the current frame"):
        detect_drift(reference, reference.drop(columns=["avg_amount"]), numeric, categorical)
    with pytest.raises(ValueError, match=r"column\(s\) \['score'\] not in the reference frame"):
        detect_drift(reference, reference, numeric, categorical, prediction="score")


def test_empty_frames_and_non_probabilities_are_rejected(reference):
    numeric, categorical = roles(reference)
    with pytest.raises(ValueError, match="the current frame has no rows"):
        detect_drift(reference, reference.head(0), numeric, categorical)
    scored = reference.assign(score=reference["n_orders"].astype(float))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]; \d+ values are outside"):
        detect_drift(scored, scored, numeric, categorical, prediction="score")
    with pytest.raises(ValueError, match="sample_rows must be a positive number of rows, got 0"):
        detect_drift(reference, reference, numeric, categorical, sample_rows=0)


# --- serving_health -------------------------------------------------------------------------------

# (ts, request, endpoint, version, records, label or None, latency_ms): one entry per request.
REQUESTS = [
    (50.0, "old", "predict", "1", 4, "good", 900.0),  # before the window
    (100.0, "r1", "predict", "1", 3, "good", 12.0),
    (110.0, "r2", "predict", "1", 1, None, 40.0),
    (120.0, "r3", "predict", "2", 2, "bad", 25.0),
    (130.0, "r4", "explain", "2", 1, None, 100.0),
    (140.0, "r5", "predict", "2", 1, "good", 7.5),
]


@pytest.fixture()
def log_db(tmp_path):
    """The inference log as the service writes it (bentos.inference_log), one row per record."""
    conn = connect(tmp_path / "log.sqlite")
    rows = [
        row(ts, request, endpoint, version, i, {"n_orders": i}, label, 0.5, latency)
        for ts, request, endpoint, version, records, label, latency in REQUESTS
        for i in range(records)
    ]
    with conn:
        conn.executemany(f"INSERT INTO {TABLE} VALUES ({', '.join('?' * 9)})", rows)
    yield conn
    conn.close()


@pytest.fixture()
def log(log_db):
    return pd.read_sql(f"SELECT * FROM {TABLE}", log_db)


SINCE = pd.Timestamp(100, unit="s")  # naive: read as UTC, i.e. unix second 100


def test_latency_percentiles_are_numpy_s_over_one_latency_per_request(log):
    health = serving_health(log, since=SINCE, cpu_seconds=None, price_per_cpu_hour=1.0)
    per_request = [12.0, 40.0, 25.0, 100.0, 7.5]  # r1..r5, whatever their number of rows
    expected = dict(zip(("p50", "p95", "p99"), np.percentile(per_request, [50, 95, 99]), strict=True))
    assert health.latency_ms == pytest.approx(expected), f"{health.latency_ms} vs numpy {expected}"
    assert health.since_ts == 100.0, f"a naive since is UTC: {health.since_ts}"


def test_requests_predictions_errors_and_versions_are_counted_in_the_window(log):
    health = serving_health(log, since=SINCE, cpu_seconds=None, price_per_cpu_hour=1.0)
    assert (health.requests, health.predictions) == (5, 7), (
        f"5 requests in the window, 7 predict rows: {health.requests}, {health.predictions}"
    )
    assert health.error_rate == pytest.approx(1 / 7), f"1 of 7 predict rows has no label: {health.error_rate}"
    assert health.per_version == {
        "1": {"requests": 2, "predictions": 4},
        "2": {"requests": 3, "predictions": 3},
    }, health.per_version
    everything = serving_health(log, since=None, cpu_seconds=None, price_per_cpu_hour=1.0)
    assert (everything.requests, everything.predictions) == (6, 11), "since=None reads the whole log"


def test_cost_per_1000_predictions_follows_the_formula(log):
    health = serving_health(log, since=SINCE, cpu_seconds=36.0, price_per_cpu_hour=0.5)
    expected = 36.0 / 3600 * 0.5 / 7 * 1000
    assert health.cost_per_1000_predictions == pytest.approx(expected), health.cost_per_1000_predictions
    assert health.cost_basis.startswith("measured"), health.cost_basis
    estimated = serving_health(log, since=SINCE, cpu_seconds=None, price_per_cpu_hour=0.5)
    cpu = (12.0 + 40.0 + 25.0 + 100.0 + 7.5) / 1000
    assert estimated.cpu_seconds == pytest.approx(cpu), "the estimate sums one latency per request"
    assert estimated.cost_per_1000_predictions == pytest.approx(cpu / 3600 * 0.5 / 7 * 1000), (
        estimated.cost_per_1000_predictions
    )
    assert "estimate" in estimated.cost_basis and "latencies" in estimated.cost_basis, estimated.cost_basis
    assert json.loads(json.dumps(estimated.to_metadata())) == estimated.to_metadata(), "plain JSON data"


def test_a_window_with_an_end_counts_only_the_requests_before_it(log):
    """A backfilled date's health: what was served after its window is not counted."""
    health = serving_health(log, SINCE, None, 1.0, until=pd.Timestamp(120, unit="s"))
    assert (health.requests, health.predictions, health.since_ts, health.until_ts) == (2, 4, 100.0, 120.0)
    assert health.per_version == {"1": {"requests": 2, "predictions": 4}}, "r3 at 120 s is after the end"
    assert serving_health(log, SINCE, None, 1.0).until_ts is None, "no end: up to now"


def test_the_monitor_command_prints_the_windows_volume_latency_errors_cost_and_purge(log):
    """The serving health was computed every night but shown nowhere (only in the run's artifact)."""
    since, until = serving_window("2026-01-15")
    log = log.assign(ts=log["ts"] + since.timestamp())
    health = serving_health(log, since, None, 2.5, until).to_metadata()
    line = serving_line({"available": True, "purged_rows": 3, **health}, retention_days=30)
    latency = "/".join(f"{health['latency_ms'][p]:.0f}" for p in ("p50", "p95", "p99"))
    cost = f"{health['cost_per_1000_predictions']:.4g}"
    assert line == (
        "serving 2026-01-14 to 2026-01-16 (UTC, end excluded): 6 requests, 11 predictions "
        f"(version 1: 8, version 2: 3); latency p50/p95/p99 {latency} ms; error rate 9.09%; cost per "
        f"1,000 predictions {cost} at price_per_cpu_hour 2.5 (CPU estimated from latencies); 3 log rows "
        "older than retention_days 30 purged"
    ), line
    nothing = serving_health(log.iloc[:0], since, None, 2.5, until).to_metadata()
    assert serving_line({"available": True, "purged_rows": 0, **nothing}, 30) == (
        "serving 2026-01-14 to 2026-01-16 (UTC, end excluded): no request"
    )
    note = "no inference log at /x/inference_log.sqlite (nothing served yet)"
    assert serving_line({"available": False, "note": note}, 30) == f"serving: {note}"


def test_a_monitoring_window_reads_the_day_before_its_date_to_the_end_of_its_date():
    """Tonight's run of today's date reads everything served since yesterday (the window ends after
    now); a backfill of 2026-01-15 reads 14 and 15 January only, not the eleven months after."""
    since, until = serving_window("2026-01-15")
    assert (since, until) == (pd.Timestamp("2026-01-14"), pd.Timestamp("2026-01-16")), (since, until)
    today = pd.Timestamp.now(tz="UTC").tz_localize(None)
    since, until = serving_window(today.date().isoformat())
    assert since == today.normalize() - pd.Timedelta(days=1) and until > today


def test_a_quiet_window_has_no_rates_instead_of_failing(log):
    health = serving_health(log, since=pd.Timestamp(1000, unit="s"), cpu_seconds=None, price_per_cpu_hour=1.0)
    assert (health.requests, health.predictions, health.per_version) == (0, 0, {}), health
    assert health.error_rate is None and health.cost_per_1000_predictions is None, health
    assert health.latency_ms == {"p50": None, "p95": None, "p99": None}, health.latency_ms


def test_log_without_a_needed_column_is_rejected_by_name(log):
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['latency_ms'\]"):
        serving_health(log.drop(columns=["latency_ms"]), None, None, 1.0)


# --- classification_quality -----------------------------------------------------------------------


def test_quality_is_evidently_s_metrics_of_the_served_decisions_and_the_roc_auc_of_the_scores():
    """The decisions served (a mitigated model's group thresholds, a threshold of 0.7) are judged as
    they are, never the scores re-thresholded at Evidently's 0.5; the scores give the ROC AUC."""
    from sklearn.metrics import roc_auc_score

    target = pd.Series([1, 1, 1, 0, 0, 0, 1, 0])
    decisions = pd.Series([1, 1, 0, 1, 0, 0, 1, 0])  # tp 3, fp 1, fn 1, tn 3
    result = classification_quality(target, decisions)
    assert result.values == pytest.approx({"precision": 0.75, "recall": 0.75, "f1": 0.75, "accuracy": 0.75})
    scores = pd.Series([0.9, 0.8, 0.6, 0.75, 0.1, 0.55, 0.95, 0.2])  # at 0.5: six positives, not four
    scored = classification_quality(target, decisions, proba=scores, judged="recall")
    served = {"precision": 0.75, "recall": 0.75, "f1": 0.75, "accuracy": 0.75}
    assert scored.values == pytest.approx({**served, "roc_auc": roc_auc_score(target, scores)}), scored.values
    assert json.loads(scored.snapshot_json)["metadata"] == {"judged_metric": "recall"}
    assert result.labelled_rows == 8
    assert "<html" in result.html.lower()


@pytest.mark.parametrize(
    ("target", "decisions", "message"),
    [
        ([1, 0], [1], "target has 2 rows but decisions has 1"),
        ([], [], "no labelled rows"),
        ([1, 2], [1, 0], "target must hold 0/1"),
        ([1, 0], [1, None], "decision must hold 0/1"),
    ],
)
def test_quality_rejects_misaligned_empty_or_non_binary_input(target, decisions, message):
    with pytest.raises(ValueError, match=message):
        classification_quality(pd.Series(target, dtype=object), pd.Series(decisions, dtype=object))


def test_reports_state_the_projects_threshold_and_sit_at_the_windows_date(reference):
    """The drift report says the project's drift share (0.3 here), not Evidently's 0.5; every snapshot
    is timed at the monitored window's date, so the dashboard's x-axis shows windows, not run times."""
    from datetime import datetime

    from ml.monitoring import outcome_snapshot

    window = datetime(2026, 4, 1)
    drifted = detect_drift(
        reference, features(1500, seed=2, drift=1.0), *roles(reference), drift_share=0.3, window=window
    )
    assert "threshold is 0.3" in drifted.html and "threshold is 0.5" not in drifted.html, "project's share"
    quality = classification_quality(pd.Series([1, 0, 1, 0]), pd.Series([1, 0, 0, 0]), window)
    outcome = outcome_snapshot(1, True, False, False, window)
    for name, snapshot in (("drift", drifted.snapshot_json), ("quality", quality.snapshot_json),
                           ("outcome", outcome)):  # fmt: skip
        assert json.loads(snapshot)["timestamp"] == "2026-04-01T00:00:00", f"{name} snapshot's time"


def test_rows_the_model_was_trained_on_are_marked_whatever_their_dtype_or_order():
    from ml.monitoring import seen_in_training

    training = pd.DataFrame({"x": [1, 2, 3], "c": ["a", "b", "a"], "label": ["good", "bad", "good"]})
    window = pd.DataFrame(
        {"x": [3.0, 2.0, 2.0, None], "c": ["a", "b", "a", "a"], "label": ["good", "bad", "bad", "good"]}
    )
    seen = seen_in_training(window, training, ["x", "c", "label"])
    assert seen.tolist() == [True, True, False, False], "same values (int or float) seen; others live"
    with pytest.raises(ValueError, match=r"column\(s\) \['y'\]"):
        seen_in_training(window, training, ["x", "y"])


def test_live_rows_are_chosen_by_the_inputs_the_model_saw_never_by_their_label():
    """A panel table (one person's inputs repeat over three years, the label varies, as in
    statsmodels' randhie): a row is in-sample when its inputs were trained on, whatever its label.
    Keyed with the label too, the live rows were those whose label differed from their trained
    twin's, and live precision fell far below the precision of the same decisions elsewhere."""
    from sklearn.metrics import precision_score

    from ml.features import FeatureSchema, FeatureSpec
    from ml.monitoring import key_columns, labelled_outcomes, seen_in, training_keys

    rng = np.random.default_rng(4)
    people = pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(["a", "b"], 3000)})
    table = people.loc[np.repeat(people.index, 3)].reset_index(drop=True)  # three years each
    chance = (1 / (1 + np.exp(-2 * table["x"] - (table["c"] == "a")))).to_numpy()
    table["label"] = np.where(rng.random(len(table)) < chance, "yes", "no")
    inputs = (FeatureSpec("x", "numeric"), FeatureSpec("c", "categorical", categories=("a", "b")))
    schema = FeatureSchema(inputs, target_column="label", positive_label="yes", negative_label="no")
    assert key_columns(schema) == ["x", "c"], "the inputs, not the label"
    trained = rng.random(len(table)) < 0.6
    decisions = (chance > 0.5).astype(int)
    keys = training_keys(table[trained], key_columns(schema))
    outcomes = labelled_outcomes(table, decisions, chance, schema, keys)
    live = ~outcomes.seen
    person = np.repeat(np.arange(3000), 3)
    never_trained = ~pd.Series(trained).groupby(person).transform("any").to_numpy()
    np.testing.assert_array_equal(live, never_trained)  # exactly the rows of people never trained on
    everywhere = precision_score(outcomes.target, outcomes.decisions)
    live_precision = precision_score(outcomes.target[live], outcomes.decisions[live])
    assert abs(live_precision - everywhere) < 0.05, (live_precision, everywhere)
    # what keying on the label did: the selection depends on the outcome
    by_label = ~seen_in(table, training_keys(table[trained], ["x", "c", "label"]), ["x", "c", "label"])
    by_label_precision = precision_score(outcomes.target[by_label], outcomes.decisions[by_label])
    assert by_label_precision < everywhere - 0.15, (by_label_precision, everywhere)


@pytest.mark.parametrize(
    ("metric", "release_value", "max_drop", "min_value", "floor", "rule"),
    [
        (
            "precision",
            0.30,
            0.1,
            None,
            0.20,
            "the release's test precision 0.3000 - max_metric_drop 0.1",
        ),  # rare positives
        ("recall", 0.90, 0.1, None, 0.80, "the release's test recall 0.9000 - max_metric_drop 0.1"),
        ("roc_auc", 0.90, 0.1, 0.85, 0.85, "min_metric 0.85"),  # both set: the higher floor
        ("precision", 0.90, None, 0.65, 0.65, "min_metric 0.65"),
        ("f1", None, 0.1, None, None, "no floor: thresholds.max_metric_drop and min_metric are both off"),
        (
            "f1",
            float("nan"),
            0.1,
            None,
            None,
            "no floor: thresholds.max_metric_drop and min_metric are both off",
        ),
        (
            "accuracy",
            0.90,
            None,
            None,
            None,
            "no floor: thresholds.max_metric_drop and min_metric are both off",
        ),
    ],
)
def test_the_live_floor_of_the_releases_metric_follows_the_release_unless_an_absolute_one_is_higher(
    metric, release_value, max_drop, min_value, floor, rule
):
    got_floor, got_rule = metric_floor(metric, release_value, max_drop, min_value)
    assert got_floor == pytest.approx(floor) if floor is not None else got_floor is None, got_floor
    assert got_rule == rule, got_rule


def window_quality(labelled: int, live: int, metric: str, value: float, floor: float, rule: str) -> dict:
    """A window's quality record as monitoring writes it: its labelled and live rows, the metric
    judged, its live value and the floor with its rule."""
    return {
        "labelled_rows": labelled,
        names.LIVE_ROWS: live,
        names.LIVE_METRIC: metric,
        names.LIVE_VALUE: value,
        names.METRIC_FLOOR: floor,
        names.METRIC_FLOOR_RULE: rule,
    }


def test_the_monitor_commands_line_says_which_metric_was_judged_live_and_why_there_is_none():
    from ml.monitoring import live_quality_line

    rule = "the release's test recall 0.9286 - max_metric_drop 0.1"
    judged = window_quality(569, 228, "recall", 0.9302, 0.8286, rule)
    assert live_quality_line(judged) == (
        "live recall 0.9302 on 228 of 569 labelled rows (not trained on); floor 0.8286: the release's test "
        "recall 0.9286 - max_metric_drop 0.1"
    )
    assert live_quality_line({**judged, names.METRIC_FLOOR: None}).endswith("; no floor set")
    one_class = {**judged, names.LIVE_METRIC: "roc_auc", names.LIVE_VALUE: None}
    assert (
        live_quality_line(one_class)
        == "live roc_auc: not defined on the 228 labelled rows not trained on (one class)"
    )
    assert "none of the 569 labelled rows is live" in live_quality_line({**judged, names.LIVE_ROWS: 0})
    assert live_quality_line(None) == "live quality: no labels in the window yet"


@pytest.mark.parametrize(
    ("metric", "support"),
    [
        ("precision", (9, "positive_decisions")),
        ("recall", (12, "positive_labels")),
        ("f1", (9, "positive_decisions")),
        ("roc_auc", (12, "smaller_class")),
        ("accuracy", (100, "labelled_rows")),
    ],
)
def test_a_live_metric_rests_on_the_rows_it_counts(metric, support):
    """100 live rows, 12 labelled positive, 9 decided positive (6 of them right)."""
    from ml.support import metric_support

    assert metric_support(metric, [[85, 3], [6, 6]]) == support


def test_a_live_metric_on_too_few_rows_is_reported_not_judged_nor_alerted_on():
    """A low base rate table (statsmodels' cattaneo births, 6 % low weight) scored nightly: three
    positive decisions, none right, is a live precision of 0.0 below any floor. It is noise: the
    line says it was not judged and why; no breach. From 30 positive decisions on, it is judged;
    windows recorded before the support was kept are judged as before."""
    from ml.monitoring import live_quality_line
    from ml.settings import MonitoringSettings
    from steps.monitor import breaches_of

    rule = "the release's test precision 0.3333 - max_metric_drop 0.1"
    quality = {
        **window_quality(4642, 1856, "precision", 0.0, 0.2333, rule),
        names.LIVE_SUPPORT: 3,
        names.LIVE_SUPPORT_OF: "positive_decisions",
        names.MIN_METRIC_SUPPORT: 30,
    }
    assert live_quality_line(quality) == (
        "live precision 0.0000 on 1856 of 4642 labelled rows (not trained on); not judged: it rests on 3"
        " positive decisions, fewer than thresholds.min_metric_support 30 (floor 0.2333: " + rule + ")"
    )
    window = {"drift_share": 0.0, "drifted_columns": {}, "quality": quality}
    settings, health = MonitoringSettings(), {"available": False}
    assert breaches_of(window, health, settings) == [], "0/3 is not decay"
    enough = {**window, "quality": {**quality, names.LIVE_SUPPORT: 30}}
    (breach,) = breaches_of(enough, health, settings)
    assert (breach.metric, breach.value, breach.threshold) == ("precision", 0.0, 0.2333), breach
    assert live_quality_line(enough["quality"]).endswith(f"; floor 0.2333: {rule}")
    any_value = {**window, "quality": {**quality, names.MIN_METRIC_SUPPORT: None}}
    assert len(breaches_of(any_value, health, settings)) == 1, "min_metric_support: null judges any value"
    older = {k: v for k, v in quality.items() if k not in (names.LIVE_SUPPORT, names.MIN_METRIC_SUPPORT)}
    assert len(breaches_of({**window, "quality": older}, health, settings)) == 1


def _destinations(rows: int, seed: int) -> pd.DataFrame:
    """A titanic-like column: a few common destinations and hundreds seen once or twice."""
    rng = np.random.default_rng(seed)
    common = rng.choice(["New York, NY", "London", "Montreal, PQ", "Paris, France"], rows)
    rare = np.array([f"town {n}" for n in rng.integers(0, 600, rows)])
    return pd.DataFrame(
        {"home": np.where(rng.random(rows) < 0.4, common, rare), "fare": rng.gamma(2, 15, rows)}
    )


def test_a_column_of_hundreds_of_rare_categories_does_not_drift_between_parts_of_one_table(monkeypatch):
    """titanic's home.dest (369 destinations, most of one or two passengers): two random parts of the
    table "drifted" every time, chi-square expecting rows no rare category has (p = 0.0) and
    Jensen-Shannon summing every small category's noise past 0.1. Rare and new categories are
    compared as one; a real shift, into a common category or into new values, still drifts the
    column, and the report says what was pooled."""
    table = _destinations(3000, seed=1)
    for size, tonight, method in (
        (900, 300, "chisquare_two_samples"),
        (2000, 1000, "Jensen-Shannon distance"),
    ):
        for seed in range(3):
            rows = table.sample(frac=1, random_state=seed + 100)
            reference, current = rows.iloc[:size], rows.iloc[size : size + tonight]
            result = detect_drift(reference, current, ["fare"], ["home"], seed=seed)
            home = result.column_scores["home"]
            assert home["method"] == method and home["drifted"] is False, (size, seed, home)
            assert result.sample["pooled_categories"]["home"] > 400, result.sample
    assert "are compared as one, '(rare or new)': home " in result.html
    reference, tonight = table.iloc[:2000], table.iloc[2000:]
    to_london = tonight.assign(home=lambda f: f.home.mask(f.index % 3 == 0, "London"))
    assert detect_drift(reference, to_london, ["fare"], ["home"]).column_scores["home"]["drifted"]
    new = tonight.assign(home=lambda f: f.home.mask(f.index % 2 == 0, "Atlantis"))
    assert detect_drift(reference, new, ["fare"], ["home"]).column_scores["home"]["drifted"]
    monkeypatch.setattr("ml.monitoring.MIN_CATEGORY_ROWS", 0)  # every category on its own, as before
    monkeypatch.setattr("ml.monitoring.MIN_CATEGORY_SHARE", 0)
    assert detect_drift(reference, tonight, ["fare"], ["home"]).column_scores["home"]["drifted"]


def test_two_samples_of_one_population_drift_as_often_as_the_p_value_says():
    """penguins' sex (206 training rows, 344 scored): Evidently's chi-square tests tonight's counts
    against the reference's shares as if they were exact, and "drifted" about a quarter of pairs of
    samples of one population. The two-sample test drifts about 5 % of them, and still a real shift."""
    rng = np.random.default_rng(0)
    drifted = []
    for _ in range(40):
        sex = rng.choice(["MALE", "FEMALE", "ISLAND"], 550, p=[0.45, 0.45, 0.1])
        frame = pd.DataFrame({"sex": sex, "mass": rng.normal(4000, 500, 550)})
        result = detect_drift(frame.iloc[:206], frame.iloc[206:], ["mass"], ["sex"])
        drifted.append(result.column_scores["sex"]["drifted"])
    assert result.column_scores["sex"]["method"] == "chisquare_two_samples", result.column_scores
    assert sum(drifted) <= 4, f"{sum(drifted)} of 40 drifted"  # 5 % expected: 2
    shifted = frame.iloc[206:].assign(sex=lambda f: f.sex.mask(f.index % 4 == 0, "MALE"))
    assert detect_drift(frame.iloc[:206], shifted, ["mass"], ["sex"]).column_scores["sex"]["drifted"]
