"""Where a step finds the project's files: relative paths resolve against ZenML's source root."""

from pathlib import Path

from zenml.utils.source_utils import get_source_root

from ml import settings


def project_root() -> Path:
    return Path(get_source_root())


def state_dir() -> Path:
    return settings.state_dir(project_root())
