"""Run a pipeline and, when it fails, say which step failed and why in one line each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Exceptions that mean "fix your data or config", not "the code is broken".
USER_ERROR_SOURCES = (
    "ml.settings.ConfigError",
    "ml.data.validation.DataValidationError",
    "adapters.sources.DataSourceError",
    "adapters.dask_cluster.DaskClusterError",
)


class PipelineFailed(RuntimeError):
    def __init__(self, pipeline: str, failures: list[str], user_error: bool) -> None:
        self.failures = failures
        self.user_error = user_error
        detail = "\n".join(f"  - {line}" for line in failures) or "  (no step reported an exception)"
        super().__init__(f"pipeline {pipeline!r} failed:\n{detail}")


def run_pipeline(pipeline: Any, **params: Any) -> Any:
    """Call ``pipeline(**params)`` with the active stack's run settings (configs/stacks/<stack>.yaml,
    if any); on failure raise PipelineFailed with the steps' own messages."""
    from stacks.run_settings import with_stack_settings

    pipeline = with_stack_settings(pipeline, Path(__file__).resolve().parents[1])
    before = last_run(pipeline.name)
    try:
        return pipeline(**params)
    except Exception as exc:
        run = last_run(pipeline.name)
        if run is None or (before is not None and run.id == before.id):
            raise  # it failed before a run was made (compiling, say): its own error says why
        failures, user_error = [], False
        for name, step in run.steps.items():
            info = step.exception_info
            if info is None:
                continue
            failures.append(f"step {name!r}: {info.message}")
            user_error = user_error or (info.source or "") in USER_ERROR_SOURCES
        if not failures:
            raise
        raise PipelineFailed(pipeline.name, failures, user_error) from exc


def last_run(name: str) -> Any:
    """The newest run of pipeline ``name``, or None when it has none."""
    from zenml.client import Client

    try:
        return Client().get_pipeline(name).last_run
    except (KeyError, RuntimeError):  # no such pipeline yet; a pipeline without runs
        return None
