"""The Evidently workspace (adapters/evidently_workspace.py): snapshots stored per project and the
dashboard `evidently ui` plots from them."""

import asyncio
import json
import re

import pandas as pd
import pytest

from adapters.evidently_workspace import (
    ALERTS_PANEL,
    DRIFT_SHARE_PANEL,
    INCIDENTS_PANEL,
    PREDICTION_DRIFT_PANEL,
    QUALITY_PANEL,
    RETRAININGS_PANEL,
    latest_panel,
    save_snapshot,
)
from ml.monitoring import classification_quality, outcome_snapshot
from tests.unit import test_monitoring

# The drift results test_monitoring checks (fixtures).
reference = test_monitoring.reference
no_drift = test_monitoring.no_drift
with_prediction = test_monitoring.with_prediction


def dashboard_series(path: str, project_id) -> tuple[object, dict]:
    """What `evidently ui` plots: the series each panel of the dashboard selects from the stored runs
    (a panel of several series: legend -> values)."""
    from evidently.ui.service.base import SeriesFilter
    from evidently.ui.service.storage.local.base import InMemoryDataStorage
    from evidently.ui.workspace import Workspace

    dashboard = Workspace(path).get_dashboard(project_id)
    storage = InMemoryDataStorage(path)
    points = {}
    for panel in dashboard.panels:
        filters = [
            SeriesFilter(tags=v.tags, metadata=v.metadata, metric=v.metric, metric_labels=v.metric_labels)
            for v in panel.values
        ]
        if not filters:  # a text panel
            continue
        series = asyncio.run(storage.get_data_series(project_id, filters, None, None)).series
        points[panel.title] = [value for s in series for value in s.values if value is not None]
        legends = [value.legend or "" for value in panel.values]
        if len(filters) > 1 or any("{{" in legend for legend in legends):
            points[panel.title] = {legend: [] for legend in legends if "{{" not in legend}
            for s in series:
                legend = series_legend(legends[s.filter_index], s.params)
                points[panel.title].setdefault(legend, []).extend(v for v in s.values if v is not None)
    return dashboard, points


def series_legend(legend: str, params: dict) -> str:
    """A series' legend as the UI writes it: ``{{label}}`` replaced by the metric's label."""
    return re.sub(r"\{\{(\w+)\}\}", lambda m: str(params.get(m.group(1), m.group(0))), legend)


def test_snapshots_land_in_one_project_whose_dashboard_plots_them(tmp_path, no_drift, with_prediction):
    from evidently.ui.workspace import Workspace

    path = str(tmp_path / "workspace")
    first = save_snapshot(path, "customer scoring", with_prediction.snapshot_json)
    second = save_snapshot(path, "customer scoring", no_drift.snapshot_json)
    assert first == second, "the second run reuses the project"

    workspace = Workspace(path)
    projects = workspace.list_projects()
    assert [(str(p.id), p.name) for p in projects] == [(first, "customer scoring")], projects
    assert len(workspace.list_runs(first)) == 2, "both runs stored"

    dashboard, points = dashboard_series(path, projects[0].id)
    titles = [panel.title for panel in dashboard.panels]
    assert len(titles) == len(set(titles)), f"panels once: {titles}"
    tabs = {t.title: len(t.panels) for t in dashboard.tabs}
    assert tabs == {"Drift": 2, "Model health": 5}, "no quality snapshot yet: no latest-value counter"
    assert sorted(points[DRIFT_SHARE_PANEL]) == sorted([no_drift.drift_share, with_prediction.drift_share]), (
        points
    )
    assert points[PREDICTION_DRIFT_PANEL] == [with_prediction.prediction_drift["score"]], points
    assert not any(points[QUALITY_PANEL].values()) and points[INCIDENTS_PANEL] == [], "no labels, no outcomes"


def test_health_tab_plots_live_quality_over_time_and_counts_incidents_and_actions(tmp_path):
    """Every metric of the served decisions over time (ROC AUC of the scores, left out of a window
    with one class labelled), and the latest value of the one monitoring judges (recall here)."""
    path = str(tmp_path / "workspace")
    scores = pd.Series([0.9, 0.4, 0.2, 0.6])
    first = classification_quality(pd.Series([1, 1, 0, 0]), pd.Series([1, 1, 0, 0]), None, scores, "recall")
    later = classification_quality(pd.Series([1, 0, 0, 0]), pd.Series([1, 1, 1, 0]), None, scores, "recall")
    one_class = classification_quality(
        pd.Series([1, 1, 1, 1]), pd.Series([1, 0, 1, 1]), None, scores, "recall"
    )
    project = save_snapshot(path, "p", first.snapshot_json)
    save_snapshot(
        path, "p", outcome_snapshot(breaches=0, incident=False, retraining=False, alert_delivered=False)
    )
    save_snapshot(path, "p", later.snapshot_json)
    save_snapshot(
        path, "p", outcome_snapshot(breaches=2, incident=True, retraining=True, alert_delivered=True)
    )
    save_snapshot(path, "p", one_class.snapshot_json)

    from uuid import UUID

    dashboard, points = dashboard_series(path, UUID(project))
    expected = {
        "precision": [1.0, 1 / 3, 1.0],
        "recall": [1.0, 1.0, 0.75],
        "f1": [1.0, 0.5, 6 / 7],
        "accuracy": [1.0, 0.5, 0.75],
        "roc_auc": [0.75, 1.0],  # of the scores, not of the served decisions; one class: none
    }
    for metric, values in expected.items():
        assert points[QUALITY_PANEL][metric] == pytest.approx(values), (metric, points[QUALITY_PANEL])
    assert points[latest_panel("recall")] == pytest.approx([1.0, 1.0, 0.75])
    assert [p.title for p in dashboard.panels].count(latest_panel("recall")) == 1, "added once"
    # counters with aggregation "sum" add these per-run values up in the UI
    assert points[INCIDENTS_PANEL] == [0.0, 1.0]
    assert points[RETRAININGS_PANEL] == [0.0, 1.0]
    assert points[ALERTS_PANEL] == [0.0, 1.0]
    with pytest.raises(ValueError, match="breaches must be a count"):
        outcome_snapshot(breaches=-1, incident=False, retraining=False, alert_delivered=False)


def test_save_snapshot_rejects_text_that_is_not_a_snapshot(tmp_path, no_drift):
    with pytest.raises(ValueError, match="snapshot_json is not an Evidently snapshot"):
        save_snapshot(str(tmp_path), "p", json.dumps(no_drift.to_metadata()))
    with pytest.raises(ValueError, match="project_name must be a non-empty name"):
        save_snapshot(str(tmp_path), " ", no_drift.snapshot_json)
