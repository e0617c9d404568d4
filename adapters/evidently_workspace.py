"""The local Evidently workspace: drift, quality and outcome snapshots (``ml.monitoring``) and live
fairness snapshots (``ml.live_fairness``) stored per project, and the project's dashboard (a "Drift",
a "Model health" and, once a window's fairness was judged, a "Fairness" tab) created once.

``evidently ui --workspace <state dir>/evidently`` shows it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from adapters.state import StatePaths
from ml import names
from ml.live_fairness import SNAPSHOT_TAG as FAIRNESS_TAG
from ml.monitoring import (
    EVIDENTLY_METRICS,
    JUDGED_METRIC_METADATA_KEY,
    OUTCOME_COLUMNS,
    PREDICTION_METADATA_KEY,
)

if TYPE_CHECKING:
    from evidently.ui.workspace import Workspace

DRIFT_SHARE_PANEL = "Share of drifted features"
PREDICTION_DRIFT_PANEL = "Prediction drift score"
DRIFT_TAB = "Drift"
HEALTH_TAB = "Model health"
FAIRNESS_TAB = "Fairness"
FAIRNESS_PANEL = "Live fairness over time: disparities and the release's limits"
QUALITY_PANEL = "Live quality over time (labelled rows not trained on)"
INCIDENTS_PANEL = "Incidents opened"
RETRAININGS_PANEL = "Actions: retrainings launched"
ALERTS_PANEL = "Actions: alerts delivered"
ACTIONS_TEXT_PANEL = "Actions taken"
_SHOWN = StatePaths(Path("<state dir>"))  # the logs as the dashboard's text names them


def _metric(metric: str, tag: str, legend: str, **labels: str):
    from evidently.sdk.models import PanelMetric

    return PanelMetric(legend=legend, metric=metric, metric_labels=labels, tags=[tag])


def latest_panel(metric: str) -> str:
    """The title of the counter of the latest live value of ``metric`` (one of names.METRIC_NAMES)."""
    return f"Model health: latest live {metric}"


def _dashboard_panels(prediction: str | None, judged: str | None, fairness: bool) -> list[tuple[str, object]]:
    """(tab, panel) pairs of a project's dashboard; the prediction panel only with a prediction,
    the latest-value counter of the metric monitoring judges live once a snapshot names it, the
    live fairness panel once a snapshot holds a window's fairness."""
    from evidently.sdk.panels import counter_panel, line_plot_panel, text_panel

    drift_share = _metric("DriftedColumnsCount", "drift", "drifted share", value_type="share")
    quality = {name: _metric(EVIDENTLY_METRICS[name], "quality", name) for name in names.METRIC_NAMES}
    panels = [
        (
            DRIFT_TAB,
            line_plot_panel(
                title=DRIFT_SHARE_PANEL,
                description="Share of the feature columns Evidently found drifted, per run",
                values=[drift_share],
                size="half",
            ),
        )
    ]
    if prediction is not None:
        panels.append(
            (
                DRIFT_TAB,
                line_plot_panel(
                    title=PREDICTION_DRIFT_PANEL,
                    description=(
                        f"Evidently's drift score of {prediction}: a p-value (low = drift) up to 1000 "
                        "reference rows, a distance (high = drift) above"
                    ),
                    values=[_metric("ValueDrift", "drift", prediction, column=prediction)],
                    size="half",
                ),
            )
        )
    outcome = {column: _metric("SumValue", "outcome", column, column=column) for column in OUTCOME_COLUMNS}
    if judged in quality:
        latest = counter_panel(title=latest_panel(judged), values=[quality[judged]], aggregation="last")
        panels.append((HEALTH_TAB, latest))
    panels += [
        (HEALTH_TAB, counter_panel(title=INCIDENTS_PANEL, values=[outcome["incidents"]], aggregation="sum")),
        (
            HEALTH_TAB,
            counter_panel(title=RETRAININGS_PANEL, values=[outcome["retrainings"]], aggregation="sum"),
        ),
        (
            HEALTH_TAB,
            counter_panel(title=ALERTS_PANEL, values=[outcome["alerts_delivered"]], aggregation="sum"),
        ),
        (
            HEALTH_TAB,
            line_plot_panel(
                title=QUALITY_PANEL,
                description=(
                    "Evidently's precision, recall, F1, accuracy and ROC AUC of the served decisions on "
                    "the rows whose labels have arrived and whose inputs the model was not trained on "
                    "(concept drift); monitoring judges the release's primary metric"
                ),
                values=list(quality.values()),
                size="full",
            ),
        ),
        (
            HEALTH_TAB,
            text_panel(
                title=ACTIONS_TEXT_PANEL,
                description=(
                    "Every alert, retraining, promotion and rollback is in the audit log "
                    f"({_SHOWN.audit_log.as_posix()}) and every incident in {_SHOWN.incident_log.name}; "
                    "the response is in runbooks/en/07-incident-playbook.md "
                    "(es: runbooks/es/07-incident-playbook.md)."
                ),
            ),
        ),
    ]
    if fairness:
        panels.append((FAIRNESS_TAB, _fairness_panel()))
    return panels


def _fairness_panel():
    """One line per judged disparity of each sensitive column (``equalized_odds_difference[gender]``)
    and of their intersection, and one per limit: every series of the live fairness snapshots (their
    names, not a fixed list: the columns are the release's)."""
    from evidently.sdk.panels import line_plot_panel

    return line_plot_panel(
        title=FAIRNESS_PANEL,
        description=(
            "The release's fairness gate on each window's labelled rows not trained on: the demographic "
            "parity ratio (its limit a floor), the equalized odds difference and, when limited, the "
            "equal opportunity difference (ceilings) per sensitive column and of their intersection "
            "(judged when fairness.judge_intersection); a point past its limit is a breach only when "
            "the gate judged it (not parity out of reach) and its whole bootstrap interval is past too "
            "(the monitor command's live fairness lines and the alert say which)"
        ),
        values=[_metric("MeanValue", FAIRNESS_TAG, "{{column}}")],
        size="full",
    )


def save_snapshot(workspace_dir: str, project_name: str, snapshot_json: str) -> str:
    """Store an Evidently snapshot (``DriftResult.snapshot_json``, ``QualityResult.snapshot_json`` or
    ``outcome_snapshot(...)``) in the local Evidently workspace at ``workspace_dir`` (created when
    missing) under the project named ``project_name`` (created on first use, reused after) and return
    the project id.

    The project's dashboard gets, once, a "Drift" tab (share of drifted features; the prediction's
    drift score once a snapshot has a prediction column) and a "Model health" tab (the live quality
    over time; the latest live value of the metric monitoring judges, once a quality snapshot names
    it; incidents, retrainings and alerts counters; where to read the actions) and, once a snapshot
    holds a window's live fairness (``ml.live_fairness.fairness_snapshot``), a "Fairness" tab;
    ``evidently ui --workspace <workspace_dir>`` shows them.
    """
    if not project_name.strip():
        raise ValueError("project_name must be a non-empty name for the Evidently project")
    from evidently.core.report import Snapshot
    from evidently.ui.workspace import Workspace

    try:
        snapshot = Snapshot.loads(snapshot_json)
        stored = json.loads(snapshot_json)
        metadata, tags = stored.get("metadata", {}), stored.get("tags") or []
    except Exception as error:  # JSON or schema errors: both mean "not a snapshot"
        raise ValueError(
            f"snapshot_json is not an Evidently snapshot ({type(error).__name__}: {str(error)[:200]}); "
            "pass DriftResult.snapshot_json, QualityResult.snapshot_json, outcome_snapshot(...) or "
            "fairness_snapshot(...)"
        ) from error

    os.makedirs(workspace_dir, exist_ok=True)
    workspace = Workspace(workspace_dir)
    found = workspace.search_project(project_name)
    if len(found) > 1:
        ids = sorted(str(p.id) for p in found)
        raise ValueError(
            f"{len(found)} Evidently projects are named {project_name!r} in {workspace_dir} ({ids}); "
            "delete the extra ones (Workspace.delete_project) so runs land in one place"
        )
    project = found[0] if found else workspace.create_project(project_name, description="Model monitoring")
    prediction, judged = (metadata.get(key) for key in (PREDICTION_METADATA_KEY, JUDGED_METRIC_METADATA_KEY))
    _add_missing_panels(workspace, project.id, prediction, judged, FAIRNESS_TAG in tags)
    workspace.add_run(project.id, snapshot, include_data=False)
    return str(project.id)


def _add_missing_panels(
    workspace: Workspace, project_id: UUID, prediction: str | None, judged: str | None, fairness: bool
) -> None:
    """Add the panels the project's dashboard lacks (by title), each to its tab.

    The dashboard model is edited and saved whole: ``ProjectDashboard.add_panel(panel, tab=...)`` of
    evidently 0.7 lists a panel twice when the tab already exists.
    """
    from evidently.sdk.models import DashboardTabModel

    dashboard = workspace.get_dashboard(project_id)
    titles = {panel.title for panel in dashboard.panels}
    new = [
        (tab, panel)
        for tab, panel in _dashboard_panels(prediction, judged, fairness)
        if panel.title not in titles
    ]
    if not new:
        return
    for tab_title, panel in new:
        tab = next((t for t in dashboard.tabs if t.title == tab_title), None)
        if tab is None:
            tab = DashboardTabModel(title=tab_title, panels=[])
            dashboard.tabs.append(tab)
        dashboard.panels.append(panel)
        tab.panels.append(panel.id)
    workspace.save_dashboard(project_id, dashboard)
