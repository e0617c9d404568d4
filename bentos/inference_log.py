"""Append-only inference log in SQLite, written by a background thread so that requests only
enqueue rows. Monitoring reads it (table ``inference_log``)."""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from ml.names import INFERENCE_LOG_COLUMNS, INFERENCE_LOG_TABLE

TABLE = INFERENCE_LOG_TABLE
COLUMNS = INFERENCE_LOG_COLUMNS
DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
  ts REAL NOT NULL, request_id TEXT NOT NULL, endpoint TEXT NOT NULL, model_version TEXT NOT NULL,
  record_id TEXT, inputs TEXT NOT NULL, label TEXT, probability REAL, latency_ms REAL)"""


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(DDL)
    return conn


class InferenceLog:
    """``append`` puts rows on a queue; a daemon thread inserts them in batches.

    ``append`` also takes a function that returns the rows: the thread calls it, so that building
    and JSON-encoding a request's rows happens off the request's path."""

    def __init__(self, path: str | Path, flush_every: float = 0.2) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connect(self.path).close()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._flush_every = flush_every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="inference-log", daemon=True)
        self._thread.start()

    def append(self, rows: list[tuple] | Callable[[], list[tuple]]) -> None:
        self._queue.put(rows)

    def _drain(self, conn: sqlite3.Connection, first: list[tuple] | Callable | None) -> None:
        rows: list[tuple] = []
        item = first
        while True:
            if item is not None:
                rows.extend(item() if callable(item) else item)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
        if rows:
            with conn:
                conn.executemany(f"INSERT INTO {TABLE} VALUES ({', '.join('?' * len(COLUMNS))})", rows)

    def _run(self) -> None:
        conn = connect(self.path)
        try:
            while not self._stopped.is_set():
                try:
                    first = self._queue.get(timeout=self._flush_every)
                except queue.Empty:
                    continue
                self._drain(conn, first)
            self._drain(conn, None)
        finally:
            conn.close()

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)


def row(ts, request_id, endpoint, version, record_id, inputs, label, probability, latency_ms) -> tuple:
    return (
        ts,
        request_id,
        endpoint,
        version,
        None if record_id is None else str(record_id),
        json.dumps(inputs, default=str),
        label,
        probability,
        latency_ms,
    )
