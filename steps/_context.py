"""Where a step finds the project's files (relative paths resolve against ZenML's source root), and
the model-version metadata that must survive the step cache."""

from pathlib import Path

from zenml.utils.source_utils import get_source_root

from adapters.state import StatePaths, state_paths


def project_root() -> Path:
    return Path(get_source_root())


def state() -> StatePaths:
    """The project's state files (adapters/state.py)."""
    return state_paths(project_root())


def log_version_metadata(values: dict) -> None:
    """Log ``values`` on the run's model version and on the step run itself.

    ZenML copies a cached step's own metadata to the step run of the rerun, not what it logged on
    the model version; ``promote`` (never cached) carries it over with ``inherit_cached_metadata``,
    so a version trained from the cache has the same metadata as one trained from scratch."""
    from zenml import log_metadata

    log_metadata(values)
    log_metadata(values, infer_model=True)


def inherit_cached_metadata() -> dict[str, dict]:
    """Log on this run's model version the metadata of this run's cached steps; return it by step."""
    from zenml import get_step_context, log_metadata
    from zenml.client import Client
    from zenml.enums import ExecutionStatus

    run = Client().get_pipeline_run(get_step_context().pipeline_run.id)
    cached = {
        name: dict(step.run_metadata)
        for name, step in run.steps.items()
        if step.status == ExecutionStatus.CACHED
    }
    for metadata in cached.values():
        if metadata:
            log_metadata(metadata, infer_model=True)
    return cached
