"""Reading and purging the inference log the service writes (SQLite, ``bentos/inference_log.py``)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pandas as pd

from ml.names import INFERENCE_LOG_TABLE

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def purge_before(conn: sqlite3.Connection, cutoff_ts: float, table: str = INFERENCE_LOG_TABLE) -> int:
    """Delete the rows of ``table`` with ``ts < cutoff_ts`` (unix seconds) in one transaction and
    return how many were deleted (rows at exactly ``cutoff_ts`` stay)."""
    if not _IDENTIFIER.match(table):
        raise ValueError(f"table must be a plain SQL name (letters, digits, _), got {table!r}")
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    exists = conn.execute(query, (table,)).fetchone()
    if exists is None:
        raise ValueError(f"no table {table!r} in this database; pass the inference log table's name")
    with conn:  # commits on success, rolls back on error
        cursor = conn.execute(f'DELETE FROM "{table}" WHERE ts < ?', (float(cutoff_ts),))
    return int(cursor.rowcount)


def purge_and_read(
    path: Path, cutoff_ts: float, since_ts: float, until_ts: float | None = None
) -> tuple[int, pd.DataFrame]:
    """Purge the rows older than ``cutoff_ts`` (retention), then read the rows with ``since_ts <= ts
    < until_ts`` (only the window: the log keeps the retention period's inputs; no ``until_ts``: up to
    now); returns (rows purged, window)."""
    until = float("inf") if until_ts is None else float(until_ts)
    with sqlite3.connect(path) as conn:
        purged = purge_before(conn, cutoff_ts)
        log = pd.read_sql_query(
            f"SELECT * FROM {INFERENCE_LOG_TABLE} WHERE ts >= ? AND ts < ?", conn, params=(since_ts, until)
        )
    return purged, log


def purge_and_read_all(
    paths: list[Path], cutoff_ts: float, since_ts: float, until_ts: float | None = None
) -> tuple[int, pd.DataFrame]:
    """``purge_and_read`` on each log in ``paths`` (the process server's, the container's): the rows
    purged from all, and their windows in one frame."""
    found = [purge_and_read(path, cutoff_ts, since_ts, until_ts) for path in paths]
    return sum(purged for purged, _ in found), pd.concat([log for _, log in found], ignore_index=True)
