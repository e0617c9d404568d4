"""Monitoring: drift and decay of the production model on today's data, serving health, alerts."""

import getpass
import math
import time
from datetime import date, datetime
from typing import Annotated

import pandas as pd
from zenml import get_step_context, log_metadata, step
from zenml.types import HTMLString

from adapters.evidently_workspace import save_snapshot
from adapters.inference_log import purge_and_read_all
from adapters.records import audit, open_incident
from adapters.webhook import deliver, webhook_url, webhook_url_origin
from ml import names
from ml.alerts import Breach, build_alert, plan_actions, slack_payload, teams_payload
from ml.evaluation import classification_metrics
from ml.live_fairness import fairness_breaches, fairness_snapshot, live_fairness
from ml.monitoring import (
    LabelledOutcomes,
    classification_quality,
    detect_drift,
    labelled_outcomes,
    live_judged,
    metric_floor,
    outcome_snapshot,
    serving_health,
    serving_window,
)
from ml.settings import DataSettings, MonitoringSettings, ScoringSettings
from ml.support import metric_support
from registry.release import production_release
from steps._context import project_root, state

PREDICTION = names.DRIFT_PREDICTION
DRIFT_SEED = 0  # the seeded sample of each side given to Evidently


@step(enable_cache=False)
def check_drift(
    scoring_dataset: pd.DataFrame, monitoring: MonitoringSettings, day: str
) -> tuple[Annotated[dict, names.DRIFT], Annotated[HTMLString, names.DRIFT_REPORT]]:
    """Today's features and predictions vs the production version's training data (Evidently);
    its metric (concept drift) and fairness on today's labels when they have arrived."""
    release = production_release(get_step_context().model.name)
    training, schema, gate = release.artifact(names.DATASET_TRAIN), release.schema, release.fairness_gate()
    decisions, proba = release.decisions(scoring_dataset)
    current = scoring_dataset[schema.names].assign(**{PREDICTION: proba})
    keys, sensitive = release.training_row_keys(), gate.columns if gate else ()
    outcomes = labelled_outcomes(scoring_dataset, decisions, proba, schema, keys, sensitive)
    drift, page = report_drift(release, training, current, None, outcomes, monitoring, day, gate)
    return drift, page  # a tuple literal: ZenML reads two outputs from the return statement


@step(enable_cache=False)
def check_drift_on_dask(
    data: DataSettings, scoring: ScoringSettings, monitoring: MonitoringSettings, day: str
) -> tuple[Annotated[dict, names.DRIFT], Annotated[HTMLString, names.DRIFT_REPORT]]:
    """`monitoring.engine: dask`: the window read and scored partition by partition on the scoring
    cluster (scoring.dask), its seeded sample drawn across the partitions (the rows the pandas engine
    samples from the same rows), then the same report and quality check as check_drift."""
    from adapters.dask_cluster import dask_client
    from adapters.dask_monitoring import window_on_cluster
    from adapters.dask_scoring import ShippedModel, feature_partitions

    release = production_release(get_step_context().model.name)
    training, schema, gate = release.artifact(names.DATASET_TRAIN), release.schema, release.fairness_gate()
    shipped = ShippedModel(release.model, schema, release.threshold, str(release.number))
    partitions = feature_partitions(data, scoring, date.fromisoformat(day), project_root())
    keys = release.training_row_keys()
    with dask_client(scoring.dask) as client:
        window = window_on_cluster(
            client,
            partitions,
            shipped,
            data,
            keys,
            monitoring.sample_rows,
            DRIFT_SEED,
            gate.columns if gate else (),
        )
    engine = {names.MONITORING_ENGINE: {"engine": "dask", "partitions": len(partitions)}}
    drift, page = report_drift(
        release, training, window.sample, window.rows, window.outcomes, monitoring, day, gate, engine
    )
    return drift, page


def report_drift(
    release, training, current, current_rows, outcomes, monitoring, day, gate, engine=None
) -> tuple[dict, HTMLString]:
    """Evidently's drift report of ``current`` (the window, or its sample of ``current_rows`` rows)
    against the training data, the labelled rows' quality and the release's fairness ``gate`` on
    them; recorded in the workspace and metadata (with ``engine``: which engine read the window)."""
    schema, name = release.schema, get_step_context().model.name
    reference = training[schema.names].assign(**{PREDICTION: release.decisions(training)[1]})
    result = detect_drift(
        reference,
        current,
        schema.numeric,
        schema.categorical,
        prediction=PREDICTION,
        sample_rows=monitoring.sample_rows,
        seed=DRIFT_SEED,
        drift_share=monitoring.thresholds.drift_share,
        window=window_time(day),
        current_rows=current_rows,
    )
    drift = {"date": day, "model_version": release.number, **result.to_metadata()}
    if outcomes is not None:
        metric, limits = release.primary_metric, monitoring.thresholds
        quality = drift["quality"] = judge_labels(outcomes, release.threshold, day, metric)
        floor, rule = metric_floor(
            metric, release.test_metrics.get(metric), limits.max_metric_drop, limits.min_metric
        )
        live = (quality[names.LIVE_METRICS] or {}).get(metric)
        quality.update({names.LIVE_METRIC: metric, names.LIVE_VALUE: live})
        quality.update({names.METRIC_FLOOR: floor, names.METRIC_FLOOR_RULE: rule})
        quality[names.MIN_METRIC_SUPPORT] = limits.min_metric_support  # fewer rows: not judged
        fairness = live_fairness(outcomes, gate, monitoring.sample_rows, DRIFT_SEED)
        quality[names.LIVE_FAIRNESS] = fairness
        if snapshot := fairness_snapshot(fairness, gate, window_time(day)):
            save_snapshot(workspace(), name, snapshot)  # the dashboard's Fairness tab
    drift["workspace_project"] = save_snapshot(workspace(), name, result.snapshot_json)
    drift.update(engine or {})
    log_metadata({f"{names.MONITORING_PREFIX}{day}": drift}, infer_model=True)
    return drift, HTMLString(result.html)


def judge_labels(outcomes: LabelledOutcomes, threshold: float, day: str, metric: str) -> dict:
    """Metrics on the window's labelled rows (labels arrive late); live metrics only on the rows the
    model was not trained on, computed as training computed the release's test metrics (None where
    undefined: ROC AUC of one class), and the dashboard's live quality over time (Evidently)."""
    y, proba, decisions, live_rows = outcomes.target, outcomes.proba, outcomes.decisions, ~outcomes.seen
    metrics = classification_metrics(y, proba, threshold, y_pred=decisions)
    live, support = None, (None, None)
    if live_rows.any():
        on_live = classification_metrics(y[live_rows], proba[live_rows], threshold, decisions[live_rows])
        live = {k: on_live[k] if math.isfinite(on_live[k]) else None for k in names.METRIC_NAMES}
        support = metric_support(metric, on_live[names.CONFUSION_MATRIX])
        target, decided = (pd.Series(v[live_rows]).astype(int) for v in (y, decisions))
        scores = pd.Series(proba[live_rows])
        snapshot = classification_quality(target, decided, window_time(day), scores, metric).snapshot_json
        save_snapshot(workspace(), get_step_context().model.name, snapshot)  # the dashboard's series
    return {
        "labelled_rows": len(y),
        "decision_threshold": threshold,
        **{k: metrics[k] for k in (*names.METRIC_NAMES, names.CONFUSION_MATRIX)},
        names.SEEN_IN_TRAINING_ROWS: int(outcomes.seen.sum()),  # in-sample: not live evidence
        names.LIVE_ROWS: int(live_rows.sum()),
        names.LIVE_METRICS: live,
        names.LIVE_SUPPORT: support[0],  # the rows ``metric`` rests on among them, and which
        names.LIVE_SUPPORT_OF: support[1],
    }


@step(enable_cache=False)
def check_serving(monitoring: MonitoringSettings, day: str) -> Annotated[dict, names.SERVING_HEALTH]:
    """Volume, latency, error rate and cost from the inference logs (process server's and container's);
    purge rows past retention."""
    logs = state().inference_logs()
    paths = [path for path in logs if path.exists()]
    if not paths:
        where = " or ".join(str(path) for path in logs)
        return {"date": day, "available": False, "note": f"no inference log at {where} (nothing served yet)"}
    cutoff = time.time() - monitoring.retention_days * 86_400
    since, until = serving_window(day)
    purged, log = purge_and_read_all(paths, cutoff, since.timestamp(), until.timestamp())
    health = serving_health(log, since, None, monitoring.price_per_cpu_hour, until).to_metadata()
    return {"date": day, "available": True, "purged_rows": purged, **health}


def breaches_of(drift: dict, health: dict, monitoring: MonitoringSettings) -> list[Breach]:
    limits, found = monitoring.thresholds, []
    if drift["drift_share"] > limits.drift_share:
        columns = ", ".join(sorted(drift["drifted_columns"]))
        found.append(Breach("drift_share", drift["drift_share"], limits.drift_share, "above", columns))
    prediction = drift.get("prediction_drift") or {}
    if limits.prediction_drift and prediction.get("drifted"):
        found.append(
            Breach(
                "prediction_drift_score",
                float(prediction["score"]),
                float(prediction["threshold"]),
                "above" if prediction["score"] > prediction["threshold"] else "below",
                prediction.get("method", ""),
            )
        )
    quality = drift.get("quality") or {}
    live = quality.get(names.LIVE_VALUE)  # rows the model was trained on are not evidence of decay
    floor = quality.get(names.METRIC_FLOOR)  # report_drift's, from the release and the thresholds
    if live is not None and floor is not None and live < floor and live_judged(quality):
        rule = quality[names.METRIC_FLOOR_RULE]
        detail = f"{quality[names.LIVE_ROWS]} labelled rows not seen in training; floor: {rule}"
        found.append(Breach(quality[names.LIVE_METRIC], live, floor, "below", detail))
    if limits.fairness:  # the release's fairness gate on the live rows: a disparity beyond its limit
        found += fairness_breaches(quality.get(names.LIVE_FAIRNESS))
    p99 = (health.get("latency_ms") or {}).get("p99") if health.get("available") else None
    if p99 is not None and p99 > limits.p99_latency_ms:
        found.append(Breach("latency_p99_ms", p99, limits.p99_latency_ms, "above"))
    return found


@step(enable_cache=False)
def alert(
    drift: dict, serving_health: dict, monitoring: MonitoringSettings, project: str, launch_retraining: bool
) -> Annotated[dict, names.MONITORING_DECISION]:
    """On a breached threshold: webhook (Slack/Teams, EN + ES), incident and audit records. Drift and
    quality decay ask for a retraining (run.py launches it unless deferred); serving health does not."""
    this = get_step_context().model
    breaches = breaches_of(drift, serving_health, monitoring)
    actions = plan_actions(breaches, monitoring.retrain, launch_retraining)
    decision = {"date": drift["date"], "breaches": [b.__dict__ for b in breaches], "retrain": actions.retrain,
                "retraining_launched": actions.launched, "action": actions.text or None, "alert": None,
                "incident": None}  # fmt: skip
    if breaches:
        version = str(drift["model_version"])
        message = build_alert(
            project, this.name, version, breaches, actions.runbook, actions.text, drift["date"]
        )
        payload = (slack_payload if monitoring.webhook.format == "slack" else teams_payload)(message)
        hook = monitoring.webhook
        url = webhook_url(hook.env, hook.secret, zenml_secret)
        result = deliver(payload, url, dry_run_dir=str(state().alerts) if hook.dry_run or not url else None,
                         attempts=hook.attempts, url_origin=webhook_url_origin(hook.env, hook.secret),
                         keep_undelivered_in=str(state().alerts))  # fmt: skip
        decision["alert"] = {**result.__dict__, "format": monitoring.webhook.format,
                             "text_en": message["text_en"], "summary_es": message["summary_es"]}  # fmt: skip
        decision["incident"] = open_incident(state().incident_log, message)["id"]
        why = "; ".join(f"{b.metric} {b.value:.3f} {b.direction} {b.threshold}" for b in breaches)
        details = {"incident": decision["incident"], "delivered": result.delivered, "action": actions.text,
                   "undelivered_file": result.undelivered_file}  # fmt: skip
        audit(state().audit_log, getpass.getuser(), "alert", why, details)
        if actions.retraining_record:  # "retraining" (run.py trains next) or "retraining deferred"
            how = f"incident {decision['incident']}; training settings of production version {version}"
            audit(state().audit_log, "monitoring", actions.retraining_record, how)
    delivered = bool(decision["alert"] and decision["alert"]["delivered"])
    outcome = outcome_snapshot(
        len(breaches), bool(breaches), actions.launched, delivered, window_time(drift["date"])
    )
    save_snapshot(workspace(), this.name, outcome)  # the dashboard's incident and action counters
    log_metadata({f"{names.MONITORING_DECISION_PREFIX}{drift['date']}": decision}, infer_model=True)
    return decision


def window_time(day: str) -> datetime:
    """The monitored window's date as the snapshots' time: the dashboard plots windows, not run times."""
    return datetime.fromisoformat(day)


def workspace() -> str:
    """The local Evidently workspace (`evidently ui --workspace <this>` shows the dashboard)."""
    return str(state().evidently)


def zenml_secret(name: str) -> dict:
    """The values of the ZenML secret ``name`` (the active store's secrets: local, or the team server's)."""
    from zenml.client import Client

    return Client().get_secret(name).secret_values
