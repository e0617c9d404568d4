"""Executive brief: Model Control Plane + incident and audit logs -> two-page HTML/Markdown brief."""

from zenml import pipeline

from ml.settings import MonitoringSettings, ProjectSettings, TrainingSettings
from steps.brief import executive_brief


@pipeline(enable_cache=False)
def brief_pipeline(
    project: ProjectSettings, monitoring: MonitoringSettings, training: TrainingSettings
) -> None:
    executive_brief(project=project, monitoring=monitoring, training=training)
