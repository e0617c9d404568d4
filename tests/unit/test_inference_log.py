"""Reading and purging the inference log (adapters/inference_log.py), on a log as the service writes it."""

import sqlite3

import pytest

from adapters.inference_log import purge_and_read, purge_and_read_all, purge_before
from bentos.inference_log import TABLE
from tests.unit import test_monitoring

log_db = test_monitoring.log_db  # the fixture: an inference log as the service writes it


def test_purge_deletes_exactly_the_rows_older_than_the_cutoff(log_db):
    before = [ts for (ts,) in log_db.execute(f"SELECT ts FROM {TABLE}")]
    deleted = purge_before(log_db, cutoff_ts=110.0)
    older = [ts for ts in before if ts < 110.0]
    assert deleted == len(older) == 7, f"4 'old' rows + 3 rows of r1 are older than 110, deleted {deleted}"
    left = sorted(ts for (ts,) in log_db.execute(f"SELECT ts FROM {TABLE}"))
    assert left == sorted(ts for ts in before if ts >= 110.0), f"the rest stays, including ts == 110: {left}"
    assert purge_before(log_db, cutoff_ts=110.0) == 0, "a second purge finds nothing older"


def test_purge_is_committed_and_rejects_unknown_tables(log_db, tmp_path):
    purge_before(log_db, cutoff_ts=1e9)
    other = sqlite3.connect(tmp_path / "log.sqlite")
    assert other.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] == 0, "another connection sees it"
    other.close()
    with pytest.raises(ValueError, match="no table 'predictions'"):
        purge_before(log_db, 0.0, table="predictions")
    with pytest.raises(ValueError, match="plain SQL name"):
        purge_before(log_db, 0.0, table="log; DROP TABLE x")


def test_purge_and_read_purges_past_retention_then_reads_the_window(log_db, tmp_path):
    log_db.commit()
    purged, window = purge_and_read(tmp_path / "log.sqlite", cutoff_ts=100.0, since_ts=120.0)
    assert purged == 4, "the 4 rows of the request before the retention cutoff"
    assert sorted(window["ts"].unique()) == [120.0, 130.0, 140.0], window["ts"].tolist()
    assert [ts for (ts,) in log_db.execute(f"SELECT min(ts) FROM {TABLE}")] == [100.0], "rows at 100 kept"
    _, bounded = purge_and_read(tmp_path / "log.sqlite", cutoff_ts=100.0, since_ts=120.0, until_ts=140.0)
    assert sorted(bounded["ts"].unique()) == [120.0, 130.0], "a window's end is excluded"


def test_the_process_and_the_container_logs_are_read_together(tmp_path):
    """Monitoring reads both logs (StatePaths.inference_logs): each is purged past retention, and their
    windows are read as one."""
    from bentos.inference_log import connect, row

    def log(path, timestamps):
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect(path)
        with conn:
            rows = [
                row(ts, f"r{ts}", "/predict", "1", 0, {"n_orders": 1}, "good", 0.5, 10.0) for ts in timestamps
            ]
            conn.executemany(f"INSERT INTO {TABLE} VALUES ({', '.join('?' * 9)})", rows)
        conn.close()
        return path

    process, container = (
        log(tmp_path / "a.sqlite", [90, 120, 130]),
        log(tmp_path / "c" / "a.sqlite", [95, 99, 140]),
    )
    purged, window = purge_and_read_all([process, container], cutoff_ts=100.0, since_ts=120.0)
    assert purged == 3, "one row of the process log and two of the container's are past retention"
    assert sorted(window["ts"]) == [120.0, 130.0, 140.0] and window.index.is_unique, window


def test_the_state_lists_the_process_and_the_container_logs(tmp_path):
    from adapters.state import StatePaths

    paths = StatePaths(tmp_path)
    assert paths.inference_logs() == (paths.inference_log, StatePaths(paths.container_state).inference_log)
    assert len(set(paths.inference_logs())) == 2
