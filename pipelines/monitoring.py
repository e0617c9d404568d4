"""Monitoring: today's customers -> drift/decay vs training data; serving health; alerts."""

from zenml import pipeline

from ml.settings import DataSettings, MonitoringSettings, ScoringSettings
from steps.monitor import alert, check_drift, check_drift_on_dask, check_serving
from steps.score import load_current, window_date


@pipeline(enable_cache=False)
def monitoring_pipeline(
    data: DataSettings,
    scoring: ScoringSettings,
    monitoring: MonitoringSettings,
    day: str,
    project: str,
    launch_retraining: bool = False,
) -> None:
    """``launch_retraining``: the caller trains right after a breach asking for it (run.py monitor);
    a scheduled or deferred run records the retraining as deferred."""
    day = window_date(day=day)
    if monitoring.engine == "dask":  # the window read, scored and sampled on scoring.dask's cluster
        drift, _ = check_drift_on_dask(data=data, scoring=scoring, monitoring=monitoring, day=day)
    else:
        dataset = load_current(data=data, scoring=scoring, day=day)
        drift, _ = check_drift(dataset, monitoring=monitoring, day=day)
    health = check_serving(monitoring=monitoring, day=day)
    alert(drift, health, monitoring=monitoring, project=project, launch_retraining=launch_retraining)
