"""Executive brief: the model's KPIs, monitoring history, incidents and actions on two pages."""

from datetime import UTC, datetime
from typing import Annotated

from zenml import step
from zenml.types import HTMLString, MarkdownString

from adapters.records import read_jsonl
from ml import names
from ml.brief import Thresholds, build_brief
from ml.settings import MonitoringSettings, ProjectSettings, TrainingSettings
from registry.models import describe_versions
from steps._context import state


@step(enable_cache=False)
def executive_brief(
    project: ProjectSettings, monitoring: MonitoringSettings, training: TrainingSettings
) -> tuple[
    Annotated[HTMLString, names.BRIEF_HTML],
    Annotated[MarkdownString, names.BRIEF_MARKDOWN],
    Annotated[dict, names.BRIEF_SUMMARY],
]:
    """Reads the Model Control Plane (versions, metrics, monitoring metadata) and the incident and
    audit logs; writes <state>/reports/brief.html and brief.md and returns them as visualizations."""
    paths = state()
    limits = Thresholds(
        drift_share=monitoring.thresholds.drift_share,
        min_metric=monitoring.thresholds.min_metric,
        min_fairness=training.fairness.min_demographic_parity_ratio,
        live_fairness=monitoring.thresholds.fairness,
    )
    brief = build_brief(
        project.project_name,
        project.model_name,
        describe_versions(project.model_name),
        read_jsonl(paths.incident_log),
        read_jsonl(paths.audit_log),
        limits,
        datetime.now(UTC),
    )
    folder = paths.reports
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "brief.html").write_text(brief.html, encoding="utf-8")
    (folder / "brief.md").write_text(brief.markdown, encoding="utf-8")
    summary = {
        "html": str(folder / "brief.html"),
        "markdown": str(folder / "brief.md"),
        "status": brief.kpis["status"],
        "findings": [en for en, _ in brief.kpis["findings"]],
    }
    return HTMLString(brief.html), MarkdownString(brief.markdown), summary
