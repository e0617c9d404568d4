"""Run a pipeline and, when it fails, say which step failed and why in one line each."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Exceptions that mean "fix your data or config", not "the code is broken".
USER_ERROR_SOURCES = (
    "ml.settings.ConfigError",
    "ml.data.validation.DataValidationError",
    "adapters.sources.DataSourceError",
    "adapters.dask_cluster.DaskClusterError",
)
ROOT = Path(__file__).resolve().parents[1]  # the project: its state dir holds the runs' logs


class PipelineFailed(RuntimeError):
    def __init__(self, pipeline: str, failures: list[str], user_error: bool, log: Path | None = None) -> None:
        self.failures = failures
        self.user_error = user_error
        detail = "\n".join(f"  - {line}" for line in failures) or "  (no step reported an exception)"
        where = f"\n  full log, tracebacks included: {log}" if log else ""
        super().__init__(f"pipeline {pipeline!r} failed:\n{detail}{where}")


class _WithoutTraceback(logging.Formatter):
    """The console's formatter, minus exception tracebacks (the run's log file keeps them)."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


@contextmanager
def run_log(path: Path) -> Iterator[None]:
    """While a run executes: everything logged goes to ``path`` in full, and the console (ZenML's
    handler) shows each message without its traceback: a failed step reads as one line, not 140."""
    from zenml.logger import ZenMLConsoleHandler

    path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    consoles = [h for h in root.handlers if isinstance(h, ZenMLConsoleHandler)]
    saved = [h.formatter for h in consoles]
    root.addHandler(to_file)
    for handler in consoles:
        handler.setFormatter(_WithoutTraceback(handler.formatter))
    try:
        yield
    finally:
        for handler, formatter in zip(consoles, saved, strict=True):
            handler.setFormatter(formatter)
        root.removeHandler(to_file)
        to_file.close()


def run_pipeline(pipeline: Any, **params: Any) -> Any:
    """Call ``pipeline(**params)`` with the active stack's run settings (configs/stacks/<stack>.yaml,
    if any); on failure raise PipelineFailed with the steps' own messages."""
    from adapters.state import state_paths
    from stacks.run_settings import with_stack_settings

    pipeline = with_stack_settings(pipeline, ROOT)
    before = last_run(pipeline.name)
    log = state_paths(ROOT).run_log(pipeline.name, datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
    try:
        with run_log(log):
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
        raise PipelineFailed(pipeline.name, failures, user_error, log) from exc


def last_run(name: str) -> Any:
    """The newest run of pipeline ``name``, or None when it has none."""
    from zenml.client import Client

    try:
        return Client().get_pipeline(name).last_run
    except (KeyError, RuntimeError):  # no such pipeline yet; a pipeline without runs
        return None
