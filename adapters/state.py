"""Every file and folder under the project's state directory, named once.

``state_paths(project_root)`` is the state directory ($PROJECT_STATE_DIR, else <project>/.state);
its properties are the files the pipelines, the service, run.py and the notebooks read and write.
No other module spells these file names (tests/unit/test_state_paths.py checks it).

Standard library only: the Bento includes this file (bentos/runtime.py takes its default inference
log from here)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STATE_DIR_ENV = "PROJECT_STATE_DIR"
DEFAULT_STATE_DIR = ".state"  # relative to the project root


@dataclass(frozen=True)
class StatePaths:
    """The project's local state (stores, logs, scores, reports) under ``root``."""

    root: Path

    @property
    def serving(self) -> Path:
        """The local server's record, logs and smoke-test files."""
        return self.root / "serving"

    @property
    def server_record(self) -> Path:
        """JSON record of the running local server (url, pid, model tag); `run.py stop` reads it."""
        return self.serving / "server.json"

    @property
    def server_log(self) -> Path:
        return self.serving / "server.log"

    @property
    def example_request(self) -> Path:
        """The request body the deployment's smoke test sent (reused by scripts/check_deployment.sh)."""
        return self.serving / "example_request.json"

    def smoke_log(self, port: int) -> Path:
        """Output of the smoke-test server started on ``port``."""
        return self.serving / f"smoke-{port}.log"

    @property
    def container_state(self) -> Path:
        """The service container's own state directory (`runtime: container`), mounted into it; its
        inference log is ``StatePaths(container_state).inference_log``."""
        return self.serving / "container"

    @property
    def smoke_inference_log(self) -> Path:
        """The smoke-test server's inference log (kept apart from the real one)."""
        return self.serving / "smoke_inference_log.sqlite"

    @property
    def inference_log(self) -> Path:
        """SQLite inference log the service appends to and the monitoring reads."""
        return self.root / "inference_log.sqlite"

    def inference_logs(self) -> tuple[Path, Path]:
        """Every inference log monitoring reads: the process server's and the service container's
        (`serving.runtime: container`). One deployment serves at a time, so their rows never overlap."""
        return self.inference_log, StatePaths(self.container_state).inference_log

    @property
    def scores_db(self) -> Path:
        """SQLite database of the batch scores (when configs/scoring.yaml names no database)."""
        return self.root / "scores.sqlite"

    @property
    def audit_log(self) -> Path:
        """JSONL: every promotion, deployment, rollback, retraining and alert, who and why."""
        return self.root / "audit.jsonl"

    @property
    def incident_log(self) -> Path:
        """JSONL: every incident the monitoring opened."""
        return self.root / "incidents.jsonl"

    @property
    def alerts(self) -> Path:
        """Dry-run alerts: the webhook payloads written instead of sent."""
        return self.root / "alerts"

    @property
    def reports(self) -> Path:
        """The executive brief and the model cards."""
        return self.root / "reports"

    @property
    def evidently(self) -> Path:
        """The local Evidently workspace (`evidently ui --workspace <this>`)."""
        return self.root / "evidently"

    @property
    def zenml(self) -> Path:
        """ZenML's local store (ZENML_CONFIG_PATH)."""
        return self.root / "zenml"

    @property
    def bentoml(self) -> Path:
        """BentoML's model and Bento store (BENTOML_HOME)."""
        return self.root / "bentoml"

    def run_log(self, pipeline: str, started: str) -> Path:
        """The full log (tracebacks included) of one pipeline run started by run.py."""
        return self.root / "logs" / f"{pipeline}-{started}.log"


def state_dir(project_root: Path) -> Path:
    """Where the project's local state lives (stores, logs, scores): $PROJECT_STATE_DIR, else
    <project>/.state."""
    return Path(os.environ.get(STATE_DIR_ENV) or project_root / DEFAULT_STATE_DIR)


def state_paths(project_root: Path) -> StatePaths:
    """The project's state files (under ``state_dir(project_root)``)."""
    return StatePaths(state_dir(project_root))
