"""Run a pipeline and, when it fails, say which step failed and why in one line each."""

from __future__ import annotations

import logging
from collections import deque
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
# ZenML's container engines log an image build's output at DEBUG: the run log keeps it in full, and a
# build that fails is reported with its last lines (the pip/uv or apt error), not just "exit status 1".
BUILD_LOGGER = "zenml.container_engines"
BUILD_LINES_SHOWN = 15
# ZenML 0.98 logs this after every step against a store that is not ZenML Pro (step_run_utils'
# log_model_version_dashboard_url): an advertisement with a sign-up link, nothing about the run. The
# console leaves it out; the run's log file keeps it.
ZENML_PRO_ADVERT = "Models can be viewed in the dashboard using ZenML Pro."


class PipelineFailed(RuntimeError):
    def __init__(self, pipeline: str, failures: list[str], user_error: bool, log: Path | None = None) -> None:
        self.failures = failures
        self.user_error = user_error
        # a failure of several lines (a list of its own) is indented under its step's bullet
        detail = "\n".join("  - " + line.replace("\n", "\n  ") for line in failures)
        detail = detail or "  (no step reported an exception)"
        where = f"\n  full log, tracebacks included: {log}" if log else ""
        super().__init__(f"pipeline {pipeline!r} failed:\n{detail}{where}")


class ImageBuildFailed(RuntimeError):
    """The image a pipeline's steps run in did not build (container stacks): the engine's error and the
    last lines of the build's own output."""

    def __init__(self, pipeline: str, error: str, lines: list[str], log: Path | None = None) -> None:
        shown = "\n".join(f"    {line}" for line in lines) or "    (none)"
        where = f"\n  full build output: {log}" if log else ""
        super().__init__(
            f"the image of pipeline {pipeline!r} did not build: {error}\n  the build's last lines:\n{shown}\n"
            "  fix what they name in the image settings (configs/stacks/<stack>.yaml, requirements.lock) "
            f"and run again{where}"
        )


class _BuildOutput(logging.Handler):
    """Keeps the last BUILD_LINES_SHOWN lines an image build printed (BUILD_LOGGER's records, DEBUG
    included); the run log keeps them all."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: deque[str] = deque(maxlen=BUILD_LINES_SHOWN)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.extend(line for line in record.getMessage().splitlines() if line.strip())


class _Quiet(logging.Filter):
    """Drops ZenML's advertisement (ZENML_PRO_ADVERT) and the records of logger ``name`` under
    ``level`` (the console keeps its own verbosity)."""

    def __init__(self, name: str, level: int) -> None:
        super().__init__()
        self.prefix, self.level = name, level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("zenml") and ZENML_PRO_ADVERT in record.getMessage():
            return False  # the container orchestrator relays it in colour codes: not at the start
        return record.levelno >= self.level or not record.name.startswith(self.prefix)


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
def run_log(path: Path) -> Iterator[_BuildOutput]:
    """While a run executes: everything logged goes to ``path`` in full (an image build's output
    included), and the console (ZenML's handler) shows each message without its traceback: a failed
    step reads as one line, not 140. Yields the handler holding the build's newest lines."""
    from zenml.logger import ZenMLConsoleHandler

    path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    consoles = [h for h in root.handlers if isinstance(h, ZenMLConsoleHandler)]
    saved = [h.formatter for h in consoles]
    build_logger, build_output = logging.getLogger(BUILD_LOGGER), _BuildOutput()
    build_level, quiet = build_logger.level, _Quiet(BUILD_LOGGER, build_logger.getEffectiveLevel())
    root.addHandler(to_file)
    build_logger.addHandler(build_output)
    build_logger.setLevel(logging.DEBUG)
    for handler in consoles:
        handler.setFormatter(_WithoutTraceback(handler.formatter))
        handler.addFilter(quiet)
    try:
        yield build_output
    finally:
        for handler, formatter in zip(consoles, saved, strict=True):
            handler.setFormatter(formatter)
            handler.removeFilter(quiet)
        build_logger.setLevel(build_level)
        build_logger.removeHandler(build_output)
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
    build_output = None
    try:
        with run_log(log) as build_output:
            return pipeline(**params)
    except Exception as exc:
        run = last_run(pipeline.name)
        if run is None or (before is not None and run.id == before.id):
            if build_output is not None and build_output.lines and _is_build_error(exc):
                raise ImageBuildFailed(pipeline.name, str(exc), list(build_output.lines), log) from exc
            raise  # it failed before a run was made (compiling, say): its own error says why
        failures, user_error = [], False
        for name, step in run.steps.items():
            info = step.exception_info
            if info is None:
                continue
            failures.append(f"step {name!r}: {info.message}")
            user_error = user_error or (info.source or "") in USER_ERROR_SOURCES
        if not failures:  # ZenML failed a step after it returned (an output of the wrong type, say)
            failures = [
                f"step {name!r} failed; ZenML recorded no exception of it: its error is in the log"
                for name, step in run.steps.items()
                if str(step.status) == "failed"
            ]
        if not failures:
            raise
        raise PipelineFailed(pipeline.name, failures, user_error, log) from exc


def _is_build_error(error: Exception) -> bool:
    """ZenML's container engines raise RuntimeError("Docker error: …") (API) or "Failed to build image"
    (CLI) for a failed build."""
    text = str(error)
    failed = text.startswith("Docker error") or "Failed to build image" in text
    return isinstance(error, RuntimeError) and failed


def last_run(name: str) -> Any:
    """The newest run of pipeline ``name``, or None when it has none."""
    from zenml.client import Client

    try:
        return Client().get_pipeline(name).last_run
    except (KeyError, RuntimeError):  # no such pipeline yet; a pipeline without runs
        return None
