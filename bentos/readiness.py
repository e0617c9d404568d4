"""Readiness of a server of several workers (serving.workers > 1). Each worker loads its model in
the background and /readyz asks only the worker that happens to take the probe: the deploy's
smoke test was told "ready" by one worker and got 503 "still loading" from the other. Each worker
marks its model loaded in a directory the server's workers share, under their parent's pid (the
server process); a worker is ready when every worker of its server has marked."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


class WorkerReadiness:
    def __init__(self, directory: Path, workers: int, worker: int | None, server: int | None = None) -> None:
        self.workers = workers
        self.server = os.getppid() if server is None else server
        self.directory = directory
        self.marker = directory / f"{self.server}-{worker or 1}"
        self._all = workers <= 1  # one worker: its own model is the server's
        self.forget()  # a worker restarted after a crash (SIGKILL: no forget) starts not loaded

    def mark_loaded(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.marker.touch()
        except OSError:  # nowhere to share it: this worker answers for itself
            self._all = True

    def all_loaded(self) -> bool:
        if not self._all:
            self._all = len(list(self.directory.glob(f"{self.server}-*"))) >= self.workers
        return self._all

    def forget(self) -> None:
        """At start and shutdown: a later server with this pid, or this worker restarted by the server
        after a crash, must not count this worker loaded."""
        with contextlib.suppress(OSError):
            self.marker.unlink()
