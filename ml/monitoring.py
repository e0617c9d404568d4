"""Monitoring: data and prediction drift with Evidently, classification quality and run outcomes as
Evidently snapshots, and serving health from the inference log. Pure computation: storing the
snapshots is ``adapters.evidently_workspace``'s, reading and purging the log ``adapters.inference_log``'s.

Drift is Evidently's: ``DataDriftPreset`` over the declared feature columns plus ``ValueDrift`` on
the prediction column. Evidently picks each column's test and threshold from the reference size: with
at most 1000 reference rows a p-value test (K-S for numbers with more than 5 distinct values, Z or
chi-square otherwise; for declared categories our two-sample chi-square, registered with Evidently:
``two_sample_chi_square``) where a *low* score means drift, above that a distance (Wasserstein for
numbers, Jensen-Shannon for categories and few-valued numbers) where a *high* score means drift.
Rare and new categories are compared as one (``pool_rare_categories``).
Whether a column drifted is Evidently's own verdict (its drift test status), never
recomputed here. Large frames are compared on seeded samples whose size the result states.
"""

from __future__ import annotations

import functools
import html
import math
import re
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from ml import names
from ml.features import FeatureSchema, binary_target, is_numeric
from ml.names import INFERENCE_LOG_COLUMNS
from ml.support import SUPPORT_TEXT
from ml.words import counted

LOG_COLUMNS = INFERENCE_LOG_COLUMNS  # the service writes the log (bentos/inference_log.py)
PREDICT_ENDPOINT = "predict"
PREDICTION_METADATA_KEY = "prediction_column"
JUDGED_METRIC_METADATA_KEY = "judged_metric"  # a quality snapshot's: the metric monitoring judges live
# Evidently's name of each metric of ml.names.METRIC_NAMES in a quality snapshot (the dashboard's series).
EVIDENTLY_METRICS = {
    names.PRECISION: "Precision",
    names.RECALL: "Recall",
    names.F1: "F1Score",
    names.ACCURACY: "Accuracy",
    names.ROC_AUC: "RocAuc",
}
# Columns of the one-row "outcome" dataset a monitoring run records (see outcome_snapshot).
OUTCOME_COLUMNS = ("incidents", "retrainings", "alerts_delivered", "breaches")


# --- Drift ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftResult:
    """What Evidently found when comparing ``current`` with ``reference``.

    ``drift_share``: share of the feature columns Evidently found drifted (the prediction column is not
    a feature). ``drifted_columns``: column -> drift score, drifted columns only. ``column_scores``:
    every feature column -> ``score``, ``method``, ``threshold``, ``drifted``. ``prediction_drift``:
    ``column``, ``score``, ``method``, ``threshold``, ``drifted`` of the prediction column, ``{}``
    without one. ``sample``: rows of each frame, rows compared, and the sampling method. ``html``:
    Evidently's standalone report under a line stating the sample. ``snapshot_json``: the full
    Evidently snapshot (``Snapshot.dumps()``; ``Snapshot.loads`` restores it) for ``save_snapshot``.
    """

    drift_share: float
    drifted_columns: dict[str, float]
    column_scores: dict[str, dict]
    prediction_drift: dict
    sample: dict
    html: str = field(repr=False)
    snapshot_json: str = field(repr=False)

    def to_metadata(self) -> dict:
        """Everything but the HTML and the snapshot, as plain JSON data."""
        return {
            "drift_share": self.drift_share,
            "drifted_columns": dict(self.drifted_columns),
            "column_scores": {column: dict(score) for column, score in self.column_scores.items()},
            "prediction_drift": dict(self.prediction_drift),
            "sample": dict(self.sample),
        }


def _check_drift_inputs(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    prediction: str | None,
    sample_rows: int,
) -> list[str]:
    """The columns to compare (features, then the prediction), or a ValueError saying what is wrong."""
    features = [*numeric, *categorical]
    if not features:
        raise ValueError("no feature columns to compare: pass at least one numeric or categorical column")
    both = sorted(set(numeric) & set(categorical))
    if both:
        raise ValueError(f"column(s) {both} declared both numeric and categorical; declare each once")
    repeated = sorted({c for c in features if features.count(c) > 1})
    if repeated:
        raise ValueError(f"column(s) {repeated} declared more than once; declare each once")
    if prediction is not None and prediction in features:
        raise ValueError(
            f"the prediction column {prediction!r} is also declared a feature; "
            "leave it out of numeric/categorical (it is compared on its own)"
        )
    if sample_rows < 1:
        raise ValueError(f"sample_rows must be a positive number of rows, got {sample_rows}")
    wanted = features + ([prediction] if prediction is not None else [])
    not_text = [c for c in wanted if not isinstance(c, str)]
    if not_text:
        raise ValueError(f"Evidently needs text column names; rename column(s) {not_text} to strings")
    for name, frame in (("reference", reference), ("current", current)):
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise ValueError(
                f"cannot compare drift: column(s) {missing} not in the {name} frame "
                f"(it has {list(frame.columns)}); pass frames with the same feature columns"
            )
        if frame.empty:
            raise ValueError(f"cannot compare drift: the {name} frame has no rows")
        empty = [c for c in wanted if frame[c].isna().all()]
        if empty:
            raise ValueError(
                f"cannot compare drift: column(s) {empty} hold only missing values in the {name} frame; "
                "drop them from numeric/categorical or fix the data"
            )
        not_numbers = [c for c in numeric if not is_numeric(frame[c])]
        if not_numbers:
            types = {c: str(frame[c].dtype) for c in not_numbers}
            raise ValueError(
                f"numeric column(s) {types} of the {name} frame are not numbers; "
                "declare them categorical or convert them"
            )
        if prediction is not None:
            scores = frame[prediction]
            if not is_numeric(scores):
                raise ValueError(
                    f"the prediction column {prediction!r} of the {name} frame must hold probabilities, "
                    f"it has dtype {scores.dtype}; pass the positive-class probability column"
                )
            outside = scores[(scores < 0) | (scores > 1)]
            if not outside.empty:
                raise ValueError(
                    f"the prediction column {prediction!r} of the {name} frame must hold probabilities "
                    f"in [0, 1]; {counted(len(outside), 'value is|values are')} outside, "
                    f"e.g. {float(outside.iloc[0])}"
                )
    return wanted


def sample_positions(rows: int, sample_rows: int, seed: int) -> np.ndarray | None:
    """The positions of a seeded uniform sample without replacement of ``sample_rows`` of ``rows``
    rows, in the sample's order: exactly the rows ``DataFrame.sample(n=sample_rows,
    random_state=seed)`` takes. ``None`` when every row is kept. Drawn from the count alone, so a
    window held in partitions gets the same sample as the same rows in one frame."""
    if rows <= sample_rows:
        return None
    return np.random.RandomState(seed).choice(rows, size=sample_rows, replace=False).astype(np.intp)


def positions_by_partition(lengths: list[int], positions: np.ndarray | None) -> list[np.ndarray]:
    """``positions`` (of the window's concatenated partitions) split by partition, as positions
    within each partition; every row of each partition when ``positions`` is ``None``."""
    out, start = [], 0
    for length in lengths:
        if positions is None:
            out.append(np.arange(length, dtype=np.intp))
        else:
            inside = positions[(positions >= start) & (positions < start + length)]
            out.append(np.sort(inside) - start)
        start += length
    return out


def assemble_sample(pieces: list[pd.DataFrame], positions: np.ndarray | None) -> pd.DataFrame:
    """The sample of a partitioned window: each partition's sampled rows indexed by their position
    in the window (``positions_by_partition``), put in the order of ``positions`` (the window's own
    order when every row is kept): the frame ``DataFrame.sample`` gives on the rows in one frame."""
    whole = pd.concat(pieces)
    return whole if positions is None else whole.loc[positions]


def _sample(frame: pd.DataFrame, sample_rows: int, seed: int) -> pd.DataFrame:
    positions = sample_positions(len(frame), sample_rows, seed)
    return frame if positions is None else frame.take(positions)


def _short_type(config: dict) -> str:
    return config.get("type", "").rsplit(":", 1)[-1]


def _status(test: dict) -> str:
    status = test.get("status")
    return str(getattr(status, "value", status))


def _drift_by_column(results: dict) -> dict[str, dict]:
    """Evidently's ``ValueDrift`` results by column: score, method, threshold and its drift verdict."""
    verdicts = {
        test["metric_config"]["metric_id"]: _status(test)
        for test in results["tests"]
        if test.get("id") == "drift" and _short_type(test["metric_config"].get("params", {})) == "ValueDrift"
    }
    columns: dict[str, dict] = {}
    for metric in results["metrics"]:
        config = metric.get("config", {})
        if _short_type(config) != "ValueDrift":
            continue
        column = config["column"]
        if metric["id"] not in verdicts:
            raise RuntimeError(
                f"Evidently reported no drift verdict for column {column!r}; the report must run with "
                f"include_tests=True (got verdicts for metric ids {sorted(verdicts)})"
            )
        score = float(metric["value"])
        columns[column] = {
            "score": None if math.isnan(score) else score,
            "method": config.get("method"),
            "threshold": None if config.get("threshold") is None else float(config["threshold"]),
            "drifted": verdicts[metric["id"]] == "FAIL",
        }
    return columns


def _drifted_share(results: dict) -> float:
    shares = [
        float(metric["value"]["share"])
        for metric in results["metrics"]
        if _short_type(metric.get("config", {})) == "DriftedColumnsCount"
    ]
    if len(shares) != 1:
        found = sorted({_short_type(m.get("config", {})) for m in results["metrics"]})
        raise RuntimeError(
            f"expected one DriftedColumnsCount result from Evidently, got {len(shares)}; results: {found}"
        )
    return shares[0]


def _with_header(page: str, header: str) -> str:
    """``page`` with ``header`` (HTML) as the first element of its body."""
    match = re.search(r"<body[^>]*>", page)
    if match is None:
        return header + page
    return page[: match.end()] + "\n" + header + page[match.end() :]


# A category with fewer reference rows than MIN_CATEGORY_ROWS, or a smaller share of them than
# MIN_CATEGORY_SHARE, is compared pooled with the other rare ones and the current rows' new ones.
# Chi-square expects about 5 rows a category (Cochran); Jensen-Shannon's distance (Evidently's test
# over 1,000 reference rows) adds every category's sampling noise, so hundreds of small ones pass its
# 0.1 by noise alone. Unpooled, two random parts of one table "drifted" every time (titanic's 369
# destinations: p = 0.0; a synthetic one at 2,000 / 1,000 rows: distance over 0.1 in 10 of 10).
MIN_CATEGORY_ROWS = 5
MIN_CATEGORY_SHARE = 0.01
RARE_OR_NEW = "(rare or new)"


def pool_rare_categories(
    reference: pd.DataFrame, current: pd.DataFrame, categorical: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int], dict[str, list[str]]]:
    """``reference`` and ``current`` as drift compares them, with what was changed: each categorical
    column's rare categories (MIN_CATEGORY_ROWS, MIN_CATEGORY_SHARE of the reference) and the current
    rows' categories the reference lacks read as one, RARE_OR_NEW (how many distinct values, by
    column). A column whose reference has no rare category keeps its categories: new ones then drift
    it, as the model never saw them, unless they are strays, fewer than MIN_CATEGORY_ROWS rows and
    MIN_CATEGORY_SHARE of the current ones (penguins' one sex '.'), read as the model reads them, as
    missing values (which, by column). A shift into rare or new values drifts the column."""
    pooled: dict[str, int] = {}
    strays: dict[str, list[str]] = {}
    reference, current = reference.copy(), current.copy()
    for column in categorical:
        counts = reference[column].value_counts()
        fewest = max(MIN_CATEGORY_ROWS, MIN_CATEGORY_SHARE * counts.sum())
        kept = set(counts.index[counts >= fewest])
        new = current[column].dropna()
        new = new[~new.isin(set(counts.index))]
        if len(kept) == len(counts):
            if new.empty or len(new) >= min(MIN_CATEGORY_ROWS, MIN_CATEGORY_SHARE * len(current)):
                continue  # every category common, and none new, or enough new ones to drift
            strays[column] = sorted(map(str, new.unique()))
            current[column] = current[column].mask(current[column].isin(set(new)))
            continue
        pooled[column] = len((set(counts.index) - kept) | set(new.unique()))
        for frame in (reference, current):
            series = frame[column]
            frame[column] = series.where(series.isna() | series.isin(kept), RARE_OR_NEW)
    return reference, current, pooled, strays


# Up to this many reference rows Evidently tests a category with a p-value (above, Jensen-Shannon's
# distance); there it is our two-sample chi-square (``two_sample_chi_square``).
P_VALUE_ROWS = 1000


def _two_sample_chi_square(reference: pd.Series, current: pd.Series, feature_type, threshold: float):
    """scipy's chi-square test of the two samples' contingency table (p-value, drifted). Evidently's
    own chi-square tests the current counts against the reference's shares as if those were exact:
    two samples of one population "drifted" in 25 % of draws at 206 / 344 rows (penguins' size),
    against the 5 % a p-value of 0.05 promises."""
    from scipy.stats import chi2_contingency

    table = pd.concat([reference.value_counts(), current.value_counts()], axis=1).fillna(0)
    if len(table) < 2:  # one category in both: nothing moved
        return 1.0, False
    p_value = float(chi2_contingency(table.to_numpy().T, correction=False).pvalue)
    return p_value, p_value < threshold


@functools.cache
def two_sample_chi_square():
    """Evidently's StatTest of ``_two_sample_chi_square``, registered once (Evidently's way of adding
    a drift method)."""
    from evidently.legacy.calculations.stattests.registry import StatTest, register_stattest
    from evidently.legacy.core import ColumnType

    test = StatTest(
        name="chisquare_two_samples",
        display_name="chi-square (two samples) p_value",
        allowed_feature_types=[ColumnType.Categorical],
    )
    register_stattest(test, default_impl=_two_sample_chi_square)
    return test


def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    prediction: str | None = None,
    sample_rows: int = 20_000,
    seed: int = 0,
    drift_share: float = 0.5,
    window: datetime | None = None,
    current_rows: int | None = None,
) -> DriftResult:
    """Compare ``current`` with ``reference`` using Evidently's ``DataDriftPreset`` over the
    ``numeric`` and ``categorical`` feature columns (declared to Evidently, never guessed), plus
    ``ValueDrift`` on ``prediction`` (a positive-class probability column) when given.

    Each frame is compared on a uniform random sample without replacement of at most
    ``sample_rows`` rows (``seed`` makes it reproducible); ``DriftResult.sample`` and the HTML say how
    many rows were compared. Raises ValueError naming the column or frame when a column is missing,
    only missing values, a numeric column is not numbers, the prediction is not a probability or a
    frame is empty.

    ``drift_share``: the project's alerting share (monitoring.thresholds.drift_share), so that the
    report states the threshold the project alerts at, not Evidently's default 0.5. ``window``: the
    monitored window's date, the snapshot's time on the dashboard's x-axis (default: now).
    ``current_rows``: ``current`` is already the seeded sample of a window of that many rows
    (``sample_positions``, drawn across a partitioned window), compared as it is.
    """
    columns = _check_drift_inputs(reference, current, numeric, categorical, prediction, sample_rows)
    if current_rows is not None and len(current) != min(current_rows, sample_rows):
        raise ValueError(
            f"current holds {len(current)} rows, not the sample of min({current_rows}, {sample_rows}) rows "
            "of a window of current_rows rows; pass the window's seeded sample (sample_positions)"
        )
    # Imported here: importing evidently takes seconds, and only drift detection needs it.
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    ref_sample = _sample(reference, sample_rows, seed)[columns]
    cur_sample = (current if current_rows is not None else _sample(current, sample_rows, seed))[columns]
    ref_sample, cur_sample, pooled, strays = pool_rare_categories(ref_sample, cur_sample, categorical)
    method = f"uniform random sample without replacement, seed {seed}"
    sample = {
        "reference_rows": int(len(reference)),
        "current_rows": int(len(current) if current_rows is None else current_rows),
        "sampled_reference": int(len(ref_sample)),
        "sampled_current": int(len(cur_sample)),
        "sample_rows": int(sample_rows),
        "method": method,
        "pooled_categories": pooled,  # column -> distinct values compared as RARE_OR_NEW
        "stray_categories": strays,  # column -> new values of a few rows, compared as missing values
    }
    features = [*numeric, *categorical]
    definition = DataDefinition(
        numerical_columns=[*numeric, *([prediction] if prediction is not None else [])],
        categorical_columns=list(categorical),
    )
    small = len(ref_sample) <= P_VALUE_ROWS  # Evidently's own choice of a p-value test
    cat_method = two_sample_chi_square() if small else None
    items: list = [DataDriftPreset(columns=features, drift_share=drift_share, cat_method=cat_method)]
    metadata: dict[str, str] = {}
    if prediction is not None:
        items.append(ValueDrift(column=prediction))
        metadata[PREDICTION_METADATA_KEY] = prediction
    # include_tests: Evidently's drift verdict per column comes as the status of its drift test.
    report = Report(items, metadata=metadata, tags=["drift"], include_tests=True)
    with warnings.catch_warnings():
        # a category the reference lacks: chi-square's expected count 0 makes its statistic infinite,
        # the column drifts (the model never saw the value), and scipy's warning adds nothing
        warnings.filterwarnings("ignore", "divide by zero encountered in divide", RuntimeWarning)
        snapshot = report.run(
            current_data=Dataset.from_pandas(cur_sample, data_definition=definition),
            reference_data=Dataset.from_pandas(ref_sample, data_definition=definition),
            timestamp=window,
        )
    results = snapshot.dict()

    by_column = _drift_by_column(results)
    column_scores = {column: by_column[column] for column in features}
    prediction_drift: dict = {}
    if prediction is not None:
        prediction_drift = {"column": prediction, **by_column[prediction]}
    header = (
        '<p style="font-family: system-ui, sans-serif; margin: 1rem;">'
        f"Drift compared on {sample['sampled_reference']:,} of {sample['reference_rows']:,} reference rows "
        f"and {sample['sampled_current']:,} of {sample['current_rows']:,} current rows "
        f"({html.escape(method)}, at most {sample_rows:,} rows per frame)."
        + (
            f" Categories of fewer than {MIN_CATEGORY_ROWS} reference rows or {MIN_CATEGORY_SHARE:.0%} of"
            f" them, and those new in the current rows, are compared as one, '{RARE_OR_NEW}': "
            + html.escape(", ".join(f"{column} {count}" for column, count in pooled.items()))
            + " values."
            if pooled
            else ""
        )
        + (
            " New categories of a few rows, read as missing values as the model reads them: "
            + html.escape("; ".join(f"{column} {values}" for column, values in strays.items()))
            + "."
            if strays
            else ""
        )
        + "</p>"
    )
    return DriftResult(
        drift_share=_drifted_share(results),
        drifted_columns={c: s["score"] for c, s in column_scores.items() if s["drifted"]},
        column_scores=column_scores,
        prediction_drift=prediction_drift,
        sample=sample,
        html=_with_header(snapshot.get_html_str(as_iframe=False), header),
        snapshot_json=snapshot.dumps(),
    )


# --- Serving health -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServingHealth:
    """Health of the served model over a window of the inference log.

    ``requests``: distinct requests (every endpoint). ``predictions``: rows of the ``predict``
    endpoint (one per scored record). ``latency_ms``: p50/p95/p99 over requests, one latency per
    request (``None`` without requests). ``error_rate``: share of ``predict`` rows without a label
    (``None`` without predictions); the log only holds requests the service answered, so requests
    refused before scoring (4xx validation errors, 5xx crashes) are not counted here: read those from
    the HTTP server's metrics. ``per_version``: model version -> ``requests`` and ``predictions``.
    ``cpu_seconds``: what the cost is based on, measured or estimated as ``cost_basis`` says.
    ``cost_per_1000_predictions``: ``cpu_seconds / 3600 * price_per_cpu_hour / predictions * 1000``
    (``None`` without predictions). ``since_ts``, ``until_ts``: the window read (unix seconds; None:
    unbounded), ``until_ts`` excluded.
    """

    since_ts: float | None
    until_ts: float | None
    requests: int
    predictions: int
    latency_ms: dict[str, float | None]
    error_rate: float | None
    per_version: dict[str, dict[str, int]]
    cpu_seconds: float
    price_per_cpu_hour: float
    cost_per_1000_predictions: float | None
    cost_basis: str

    def to_metadata(self) -> dict:
        """All fields as plain JSON data."""
        return asdict(self)


def serving_window(day: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The requests the monitoring window ``day`` judges the service on (naive UTC, as
    ``serving_health`` reads them): from the day before it to the end of ``day`` (exclusive). A
    nightly run of today's date reads everything served since yesterday; a past date (a backfill)
    only its own two days, never what was served after it."""
    start = pd.Timestamp(day).normalize()
    return start - pd.Timedelta(days=1), start + pd.Timedelta(days=1)


def serving_health(
    log: pd.DataFrame,
    since: pd.Timestamp | None,
    cpu_seconds: float | None,
    price_per_cpu_hour: float,
    until: pd.Timestamp | None = None,
) -> ServingHealth:
    """Requests, predictions, latency percentiles, error rate, per-version counts and cost per 1000
    predictions from the inference log table (columns as the service writes them: ``ts`` in unix
    seconds, ``request_id``, ``endpoint``, ``model_version``, ``record_id``, ``inputs``, ``label``,
    ``probability``, ``latency_ms``).

    Only rows with ``since <= ts < until`` count (naive times are read as UTC; ``None``: unbounded;
    ``serving_window``: a monitoring window's).
    ``cpu_seconds``: CPU time the service used in that window (e.g. from the container's cgroup or
    the cloud bill); without it the CPU time is estimated as the sum of the request latencies, which
    ``cost_basis`` says (an estimate: latency includes waiting, and concurrent requests share cores).
    """
    missing = [c for c in LOG_COLUMNS if c not in log.columns]
    if missing:
        raise ValueError(
            f"the inference log lacks column(s) {missing} (it has {list(log.columns)}); "
            "pass the inference_log table as the service writes it"
        )
    if price_per_cpu_hour < 0 or not math.isfinite(price_per_cpu_hour):
        raise ValueError(f"price_per_cpu_hour must be a finite price >= 0, got {price_per_cpu_hour}")
    if cpu_seconds is not None and (cpu_seconds < 0 or not math.isfinite(cpu_seconds)):
        raise ValueError(f"cpu_seconds must be a finite number of seconds >= 0 or None, got {cpu_seconds}")

    since_ts, until_ts = (
        None if at is None else float(pd.Timestamp(at).timestamp()) for at in (since, until)
    )
    lower, upper = (-math.inf if since_ts is None else since_ts), (math.inf if until_ts is None else until_ts)
    ts = log["ts"].astype(float)
    window = log[(ts >= lower) & (ts < upper)]
    window = window.assign(model_version=window["model_version"].astype(str))
    predict = window[window["endpoint"] == PREDICT_ENDPOINT]
    # Every row of a request repeats the request's latency: one value per request.
    per_request = window.groupby("request_id")["latency_ms"].max().astype(float).dropna()
    if per_request.empty:
        latency: dict[str, float | None] = {"p50": None, "p95": None, "p99": None}
    else:
        p50, p95, p99 = np.percentile(per_request.to_numpy(), [50, 95, 99])
        latency = {"p50": float(p50), "p95": float(p95), "p99": float(p99)}

    requests_per_version = window.groupby("model_version")["request_id"].nunique()
    predictions_per_version = predict.groupby("model_version").size()
    per_version = {
        str(v): {"requests": int(n), "predictions": int(predictions_per_version.get(v, 0))}
        for v, n in requests_per_version.sort_index().items()
    }

    if cpu_seconds is not None:
        used = float(cpu_seconds)
        basis = f"measured: {used:g} CPU-seconds given"
    else:
        used = float(per_request.sum()) / 1000.0
        basis = (
            f"estimate: CPU-seconds taken as the sum of the {len(per_request)} request latencies "
            f"({used:g} s), no measured CPU time given"
        )
    predictions = int(len(predict))
    cost = used / 3600.0 * price_per_cpu_hour / predictions * 1000.0 if predictions else None
    return ServingHealth(
        since_ts=since_ts,
        until_ts=until_ts,
        requests=int(window["request_id"].nunique()),
        predictions=predictions,
        latency_ms=latency,
        error_rate=float(predict["label"].isna().mean()) if predictions else None,
        per_version=per_version,
        cpu_seconds=used,
        price_per_cpu_hour=float(price_per_cpu_hour),
        cost_per_1000_predictions=cost,
        cost_basis=basis,
    )


# --- Concept drift and run outcomes as Evidently snapshots ----------------------------------------


@dataclass(frozen=True)
class QualityResult:
    """Evidently's classification quality on a window's labelled rows (concept drift).

    ``values``: ``precision``, ``recall``, ``f1``, ``accuracy`` of the model's decisions against the
    labels, and ``roc_auc`` of its probabilities when both classes are labelled;
    ``labelled_rows``: how many rows had a label; ``html`` and ``snapshot_json`` as in DriftResult.
    """

    values: dict[str, float]
    labelled_rows: int
    html: str = field(repr=False)
    snapshot_json: str = field(repr=False)


def metric_floor(
    metric: str, release_value: float | None, max_drop: float | None, min_value: float | None
) -> tuple[float | None, str]:
    """The value ``metric`` (the release's primary metric) must reach on a window's live rows, and
    the rule that set it: the release's test-split value less ``max_drop`` (thresholds.max_metric_drop:
    holds on any table), or the absolute ``min_value`` (thresholds.min_metric, tuned to one table),
    the higher when both are set; (None, why) when neither applies."""
    rules = []
    if max_drop is not None and release_value is not None and math.isfinite(release_value):
        floor = release_value - max_drop
        rules.append((floor, f"the release's test {metric} {release_value:.4f} - max_metric_drop {max_drop}"))
    if min_value is not None:
        rules.append((min_value, f"min_metric {min_value}"))
    if not rules:
        return None, "no floor: thresholds.max_metric_drop and min_metric are both off"
    return max(rules, key=lambda rule: rule[0])


def live_judged(quality: dict) -> bool:
    """Whether a window's live metric is judged against its floor: it rests on at least
    ``min_metric_support`` rows (a precision of 0/3 is noise, not decay). Records without the
    support (before it was kept) were judged."""
    fewest, support = quality.get(names.MIN_METRIC_SUPPORT), quality.get(names.LIVE_SUPPORT)
    return fewest is None or support is None or support >= fewest


def live_quality_line(quality: dict | None) -> str:
    """What a window's labels said, in one line for the monitor command: the release's metric on the
    labelled rows not trained on against its floor, or why there is no such value."""
    if not quality:
        return "live quality: no labels in the window yet"
    rows, live_rows = quality["labelled_rows"], quality[names.LIVE_ROWS]
    if not live_rows:
        return f"live quality: none of the {rows} labelled rows is live (each was trained on)"
    metric, value, floor = quality[names.LIVE_METRIC], quality[names.LIVE_VALUE], quality[names.METRIC_FLOOR]
    if value is None:
        return f"live {metric}: not defined on the {live_rows} labelled rows not trained on (one class)"
    judged = f"floor {floor:.4f}: {quality[names.METRIC_FLOOR_RULE]}" if floor is not None else "no floor set"
    if not live_judged(quality):
        support, of = quality[names.LIVE_SUPPORT], SUPPORT_TEXT[quality[names.LIVE_SUPPORT_OF]]
        judged = (
            f"not judged: it rests on {support} {of}, fewer than thresholds.min_metric_support"
            f" {quality[names.MIN_METRIC_SUPPORT]} ({judged})"
        )
    return f"live {metric} {value:.4f} on {live_rows} of {rows} labelled rows (not trained on); {judged}"


def serving_line(health: dict, retention_days: int) -> str:
    """What the inference log said of the window (``check_serving``'s output), in one line for the
    monitor command: volume per model version, latency, error rate, cost, and the rows purged."""
    if not health.get("available"):
        return f"serving: {health['note']}"
    purged = health["purged_rows"]
    purged_text = (
        f"; {counted(purged, 'log row|log rows')} older than retention_days {retention_days} purged"
        if purged
        else ""
    )
    since, until = (
        pd.Timestamp(health[key], unit="s").strftime("%Y-%m-%d") for key in ("since_ts", "until_ts")
    )
    window = f"serving {since} to {until} (UTC, end excluded)"
    if not health["requests"]:
        return f"{window}: no request{purged_text}"
    versions = ", ".join(f"version {v}: {n['predictions']}" for v, n in health["per_version"].items())
    latency = "/".join(f"{health['latency_ms'][p]:.0f}" for p in ("p50", "p95", "p99"))
    error = "none" if health["error_rate"] is None else f"{health['error_rate']:.2%}"
    cost, price = health["cost_per_1000_predictions"], health["price_per_cpu_hour"]
    basis = "measured CPU" if health["cost_basis"].startswith("measured") else "CPU estimated from latencies"
    cost_text = (
        "no cost (no prediction)"
        if cost is None
        else f"cost per 1,000 predictions {cost:.4g} at price_per_cpu_hour {price:g} ({basis})"
    )
    return (
        f"{window}: {counted(health['requests'], 'request|requests')}, "
        f"{counted(health['predictions'], 'prediction|predictions')} ({versions}); "
        f"latency p50/p95/p99 {latency} ms; error rate {error}; {cost_text}{purged_text}"
    )


def key_columns(schema: FeatureSchema) -> list[str]:
    """The columns a row is known by in ``seen_in_training``: the model's inputs, not the label.
    A key with the label would select on the outcome: where inputs repeat (one person's rows of
    several years, as in statsmodels' randhie), a row whose label differs from its trained twin's
    would count as live and the rest not, so live precision fell to 0.49 against 0.79 on the
    rows whose inputs the model never saw."""
    return list(schema.names)


def seen_in_training(rows: pd.DataFrame, training: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """True for each row of ``rows`` whose ``columns`` (``key_columns``: the model's inputs) equal a
    row the model was trained on: a static table scored nightly labels the training rows again,
    and precision on them is in-sample, not live."""
    missing = [c for c in columns if c not in rows or c not in training]
    if missing:
        raise ValueError(f"seen_in_training: column(s) {missing} are not in both frames; pass shared columns")
    return seen_in(rows, training_keys(training, columns), columns)


def row_keys(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Each row's key: a 64-bit hash of its ``columns`` (``_comparable``)."""
    return pd.util.hash_pandas_object(_comparable(frame, columns), index=False).to_numpy(np.uint64)


def training_keys(training: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The training rows' keys, sorted and unique: what ``seen_in`` looks rows up in (8 bytes a row,
    so the keys of every train row of a table too big for one process fit: ``merge_keys``)."""
    return np.unique(row_keys(training, columns))


def merge_keys(*keys: np.ndarray) -> np.ndarray:
    """Several ``training_keys`` as one (the train rows of a table's partitions)."""
    return np.unique(np.concatenate(keys)) if keys else np.empty(0, np.uint64)


def seen_in(rows: pd.DataFrame, keys: np.ndarray, columns: list[str]) -> np.ndarray:
    """``seen_in_training`` against ``training_keys`` (computed once for a window's partitions)."""
    if rows.empty or not len(keys):
        return np.zeros(len(rows), dtype=bool)
    found = row_keys(rows, columns)
    at = np.minimum(np.searchsorted(keys, found), len(keys) - 1)
    return keys[at] == found


@dataclass(frozen=True)
class LabelledOutcomes:
    """A window's labelled rows as the quality check reads them, in the window's order: ``target``
    (1 = positive label), the release's ``decisions`` and probabilities (``proba``), and ``seen``
    (the row, features and label, equals a training row)."""

    target: np.ndarray
    decisions: np.ndarray
    proba: np.ndarray
    seen: np.ndarray
    # the rows' sensitive columns (raw values) for the live fairness check; None: none asked for
    groups: pd.DataFrame | None = None

    @classmethod
    def concat(cls, parts: list[LabelledOutcomes]) -> LabelledOutcomes:
        """The outcomes of a window's partitions, in partition order."""
        arrays = (
            np.concatenate([getattr(p, f) for p in parts]) for f in ("target", "decisions", "proba", "seen")
        )
        held = [p.groups for p in parts]
        groups = None if any(g is None for g in held) else pd.concat(held, ignore_index=True)
        return cls(*arrays, groups=groups)


def labelled_outcomes(
    frame: pd.DataFrame,
    decisions: np.ndarray,
    proba: np.ndarray,
    schema: FeatureSchema,
    keys: np.ndarray,
    sensitive: tuple[str, ...] = (),
) -> LabelledOutcomes | None:
    """The labelled rows of ``frame`` (scored as ``decisions``, ``proba``), with their ``sensitive``
    columns those of them it holds; ``None`` when ``frame`` has no target column (labels have not
    arrived). ``keys``: ``training_keys`` of the training rows on ``key_columns``."""
    if schema.target_column not in frame:
        return None
    known = frame[schema.target_column].notna().to_numpy()
    labelled = frame[known]
    held = [column for column in sensitive if column in frame.columns]
    return LabelledOutcomes(
        target=binary_target(labelled[schema.target_column], schema.positive_label),
        decisions=np.asarray(decisions)[known],
        proba=np.asarray(proba)[known],
        seen=seen_in(labelled, keys, key_columns(schema)),
        groups=labelled[held].reset_index(drop=True) if sensitive else None,
    )


def _comparable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Numbers as floats (an int column and its float twin with NaN hash alike), the rest as text:
    hashing floats directly is ~20x faster than hashing every value's text (3M train rows: 40 s)."""
    return pd.DataFrame(
        {c: frame[c].astype("float64") if is_numeric(frame[c]) else frame[c].astype(str) for c in columns}
    )


def classification_quality(
    target: pd.Series,
    decisions: pd.Series,
    window: datetime | None = None,
    proba: pd.Series | None = None,
    judged: str | None = None,
) -> QualityResult:
    """Precision, recall, F1 and accuracy of ``decisions`` (1 = positive) against ``target`` (1 =
    positive), and the ROC AUC of ``proba`` when given and both classes are labelled, computed by
    Evidently (``BinaryClassification``), so the values land in the workspace's time series. The
    decisions are those served (a fairness-mitigated model's group thresholds): Evidently would
    threshold ``proba`` at 0.5 itself, so the scores are a second classification read by ROC AUC
    alone. ``judged``: the metric monitoring judges live (the release's primary metric), recorded in
    the snapshot's metadata for the dashboard's "latest" counter.

    Raises ValueError when the inputs differ in length, are empty, or ``target`` or ``decisions``
    hold anything but 0/1.
    """
    if len(target) != len(decisions) or (proba is not None and len(proba) != len(target)):
        sizes = f"target has {len(target)} rows but decisions has {len(decisions)}"
        sizes += f" and proba {len(proba)}" if proba is not None else ""
        raise ValueError(f"{sizes}; pass aligned rows")
    if len(target) == 0:
        raise ValueError("no labelled rows: classification quality needs at least one label")
    frame = pd.DataFrame({"target": np.asarray(target), "decision": np.asarray(decisions)})
    for column in frame.columns:
        bad = sorted(set(frame[column].dropna().unique().tolist()) - {0, 1})
        if bad or frame[column].isna().any():
            raise ValueError(
                f"{column} must hold 0/1 (1 = positive class) without missing values; found {bad[:5]}"
            )
    frame = frame.astype(int)
    from evidently import BinaryClassification, DataDefinition, Dataset, Report
    from evidently.metrics import Accuracy, F1Score, Precision, Recall, RocAuc

    decided = dict(target="target", pos_label=1)
    classifications = [BinaryClassification(name="decisions", prediction_labels="decision", **decided)]
    metrics = [kind(classification_name="decisions") for kind in (Precision, Recall, F1Score, Accuracy)]
    if proba is not None and frame["target"].nunique() == 2:  # ROC AUC of one class is undefined
        frame["proba"] = np.asarray(proba, dtype=float)
        classifications.append(BinaryClassification(name="scores", prediction_probas="proba", **decided))
        metrics.append(RocAuc(classification_name="scores"))
    definition = DataDefinition(classification=classifications, numerical_columns=list(frame.columns))
    metadata = {JUDGED_METRIC_METADATA_KEY: judged} if judged else {}
    report = Report(metrics, metadata=metadata, tags=["quality"])
    with np.errstate(divide="ignore", invalid="ignore"):  # one class labelled: Evidently's rates of the other
        snapshot = report.run(Dataset.from_pandas(frame, data_definition=definition), None, timestamp=window)
    ours = {evidently: name for name, evidently in EVIDENTLY_METRICS.items()}
    values = {
        ours[_short_type(metric["config"])]: float(metric["value"]) for metric in snapshot.dict()["metrics"]
    }
    return QualityResult(
        values=values,
        labelled_rows=len(frame),
        html=snapshot.get_html_str(as_iframe=False),
        snapshot_json=snapshot.dumps(),
    )


def outcome_snapshot(
    breaches: int, incident: bool, retraining: bool, alert_delivered: bool, window: datetime | None = None
) -> str:
    """What a monitoring run concluded, as an Evidently snapshot (JSON) of a one-row dataset whose
    ``SumValue`` metrics the dashboard's incident and action counters add up over runs."""
    if breaches < 0:
        raise ValueError(f"breaches must be a count (>= 0), got {breaches}")
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import SumValue

    row = dict(
        zip(
            OUTCOME_COLUMNS,
            (int(incident), int(retraining), int(alert_delivered), int(breaches)),
            strict=True,
        )
    )
    frame = pd.DataFrame([row])
    definition = DataDefinition(numerical_columns=list(OUTCOME_COLUMNS))
    report = Report([SumValue(column=column) for column in OUTCOME_COLUMNS], tags=["outcome"])
    return report.run(Dataset.from_pandas(frame, data_definition=definition), None, timestamp=window).dumps()
