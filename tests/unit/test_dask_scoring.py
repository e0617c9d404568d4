"""The pure parts of `engine: dask` on small frames: demo partitions, the dask settings and the
scheduler address (staged writes: test_scores_db.py; the cluster itself: tests/e2e)."""

import sys
import time
from datetime import date

import pandas as pd
import pytest

from adapters.dask_cluster import ADDRESS_ENV, DaskClusterError, dask_client, scheduler_address
from ml import names
from ml.data.demo import generate_demo
from ml.features import build_customer_features
from ml.scoring import PARTITION_SEED_STRIDE, demo_customers, demo_partition, demo_partitions
from ml.settings import DaskSettings, DataSettings, ScoringSettings

DAY = date(2026, 3, 1)


def test_one_demo_partition_is_exactly_the_pandas_engines_batch():
    data, scoring = DataSettings(), ScoringSettings(customers=300)
    assert demo_partitions(data, scoring, 1000) == [(0, 300)], "300 customers fit one partition of 1000"
    pd.testing.assert_frame_equal(
        demo_partition(data, scoring, DAY, 0, 0, 300), demo_customers(data, scoring, DAY)
    )


def test_demo_partitions_hold_each_customers_sales_so_features_equal_the_whole_tables():
    data, scoring = DataSettings(), ScoringSettings(customers=250, drift=0.2)
    parts = demo_partitions(data, scoring, 100)
    assert parts == [(0, 100), (100, 100), (200, 50)], parts
    features = pd.concat(
        [demo_partition(data, scoring, DAY, i, offset, n) for i, (offset, n) in enumerate(parts)],
        ignore_index=True,
    )
    customers, sales = [], []
    for i, (offset, n) in enumerate(parts):  # the same raw tables, put together in one process
        tables = generate_demo(
            n, data.demo.seed + DAY.toordinal() + i * PARTITION_SEED_STRIDE, 0.2, data.demo.bias, DAY
        )
        customers.append(tables.customers.assign(**{names.ID: tables.customers[names.ID] + offset}))
        sales.append(tables.sales.assign(**{names.ID: tables.sales[names.ID] + offset}))
    whole = build_customer_features(pd.concat(customers), pd.concat(sales, ignore_index=True), DAY)
    assert features[names.ID].is_unique and len(features) == 250, "every customer once, with its own id"
    pd.testing.assert_frame_equal(
        features.sort_values(names.ID, ignore_index=True),
        whole.sort_values(names.ID, ignore_index=True),
        obj="features built per partition vs on the whole tables",
    )


def test_dask_settings_reject_unknown_keys_and_engines():
    with pytest.raises(ValueError, match="extra"):
        ScoringSettings(dask={"workers": 2, "scheduler": "tcp://x:1"})
    with pytest.raises(ValueError, match="pandas"):
        ScoringSettings(engine="spark")
    assert ScoringSettings().engine == "pandas", "the default engine is today's pandas path"


def test_scheduler_address_from_settings_then_dasks_variable(monkeypatch):
    monkeypatch.delenv(ADDRESS_ENV, raising=False)
    assert scheduler_address(DaskSettings()) == (None, ADDRESS_ENV), "nothing set: a LocalCluster"
    monkeypatch.setenv(ADDRESS_ENV, "tcp://127.0.0.1:8786")
    assert scheduler_address(DaskSettings()) == ("tcp://127.0.0.1:8786", ADDRESS_ENV)
    setting = DaskSettings(scheduler_address="tcp://10.0.0.1:1")
    assert scheduler_address(setting) == ("tcp://10.0.0.1:1", "scoring.dask.scheduler_address")


def test_a_scheduler_that_does_not_answer_is_named_with_the_setting_and_the_fix():
    settings = DaskSettings(scheduler_address="tcp://127.0.0.1:9", connect_timeout_seconds=1)
    with pytest.raises(DaskClusterError) as caught, dask_client(settings):
        pass
    message = str(caught.value)
    for part in (
        "tcp://127.0.0.1:9",
        "scoring.dask.scheduler_address",
        "connect_timeout_seconds=1",
        "dask worker",
    ):
        assert part in message, message


def test_dask_reads_the_demo_in_partitions_and_refuses_what_it_cannot_split(tmp_path):
    from adapters.dask_scoring import feature_partitions
    from adapters.sources import DataSourceError
    from ml.settings import ConfigError

    scoring = ScoringSettings(customers=250, dask={"partition_rows": 100})
    parts = feature_partitions(DataSettings(), scoring, DAY, tmp_path)
    assert len(parts) == 3, "250 demo customers in partitions of 100"
    flat = {"source": "parquet", "path": "today", "target_column": "y", "positive_label": "1"}
    with pytest.raises(ConfigError, match="id_column"):
        feature_partitions(DataSettings(**flat, id_column=None), scoring, DAY, tmp_path)
    with pytest.raises(DataSourceError, match="does not exist"):
        feature_partitions(DataSettings(**flat), scoring, DAY, tmp_path)


@pytest.mark.parametrize("source", ["csv", "parquet"])
def test_a_flat_sources_partitions_hold_the_rows_pandas_reads(tmp_path, source):
    import dask

    from adapters.dask_scoring import feature_partitions

    tables = generate_demo(customers=120, seed=3, as_of=DAY)
    flat = build_customer_features(tables.customers, tables.sales, DAY)
    if source == "csv":
        flat.to_csv(tmp_path / "today.csv", index=False)
        path, whole = "today.csv", pd.read_csv(tmp_path / "today.csv", dtype={names.ID: str})  # ids: text
    else:
        (tmp_path / "today").mkdir()
        for part, start in enumerate(range(0, 120, 50)):
            flat.iloc[start : start + 50].to_parquet(tmp_path / "today" / f"{part}.parquet", index=False)
        path, whole = "today", flat
    data = DataSettings(source=source, path=path, target_column=names.TARGET, positive_label=names.GOOD)
    parts = dask.compute(*feature_partitions(data, ScoringSettings(), DAY, tmp_path), scheduler="sync")
    assert len(parts) == 1, "a small CSV is one block; small Parquet files, one partition together"
    pd.testing.assert_frame_equal(  # a CSV's whole numbers are floats on Dask (assume_missing)
        pd.concat(parts, ignore_index=True).sort_values(names.ID, ignore_index=True),
        whole.sort_values(names.ID, ignore_index=True),
        obj=f"{source} partitions vs pandas",
        check_dtype=source != "csv",
    )


@pytest.mark.parametrize("id_kind", ["integer", "text"])
def test_a_sql_querys_partitions_hold_every_row_pandas_reads_once(tmp_path, id_kind):
    """Integer ids: ranges between min and max (NULL ids in the first); text ids: ordered slices."""
    import dask
    import sqlalchemy as sa

    from adapters.dask_scoring import feature_partitions
    from adapters.sources import read_flat_table, sql_partitions

    tables = generate_demo(customers=230, seed=4, as_of=DAY)
    flat = build_customer_features(tables.customers, tables.sales, DAY)
    if id_kind == "text":
        flat[names.ID] = "C" + flat[names.ID].astype(str).str.zfill(5)
    url = f"sqlite:///{tmp_path}/source.sqlite"
    engine = sa.create_engine(url)
    flat.to_sql("today", engine, index=False)
    if id_kind == "integer":  # a row without id: read as pandas reads it, exactly once
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE today SET {names.ID} = NULL WHERE {names.ID} = 7"))
    engine.dispose()
    data = DataSettings(source="sql", sql_url=url, sql_query="SELECT * FROM today WHERE age >= 0;")
    assert len(sql_partitions(data, 100)) == 3, "230 rows in partitions of about 100"
    scoring = ScoringSettings(dask={"partition_rows": 100})
    parts = dask.compute(*feature_partitions(data, scoring, DAY, tmp_path), scheduler="sync")
    assert len(parts) == 3 and all(len(part) for part in parts), [len(part) for part in parts]
    key = [names.ID, "age"]
    pd.testing.assert_frame_equal(
        pd.concat(parts, ignore_index=True).sort_values(key, ignore_index=True),
        read_flat_table(data, tmp_path).sort_values(key, ignore_index=True),
        obj=f"SQL partitions ({id_kind} id) vs the pandas engine's read",
    )


def _profiling(dask_worker) -> bool:
    """On a worker: whether it samples the running task's stack for the dashboard's profiles."""
    return "profile" in dask_worker.periodic_callbacks


def _malloc_thresholds() -> tuple:
    """On a worker: the glibc allocator's thresholds its process was started with."""
    import os

    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("MALLOC_MMAP_THRESHOLD_")


def _status(url: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=30) as page:
            return page.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_local_cluster_serves_the_dashboard_only_when_asked(monkeypatch):
    import socket
    import warnings

    monkeypatch.delenv(ADDRESS_ENV, raising=False)
    with socket.socket() as busy, warnings.catch_warnings():
        try:  # Dask's default port taken (another cluster, a notebook's dashboard): no matter
            busy.bind(("127.0.0.1", 8787))
            busy.listen()
        except OSError:
            pass  # already taken
        warnings.filterwarnings("error", message="Port 8787 is already in use")
        with dask_client(DaskSettings(workers=1)) as client:
            # the scheduler's plain HTTP routes (health, metrics) on 127.0.0.1, but no dashboard page
            link = client.dashboard_link
            http = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.http_server.port)
            assert http != 8787 and link == f"http://127.0.0.1:{http}/status", (link, http)
            assert (_status(link), _status(link.replace("/status", "/health"))) == (404, 200), link
            assert not any(client.run(_profiling).values()), "no dashboard: no profiles sampled for it"
            thresholds = set(client.run(_malloc_thresholds).values())
            assert thresholds == {("65536", str(32 * 2**20))}, (
                f"Dask's trim, our mmap threshold: {thresholds}"
            )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with dask_client(DaskSettings(workers=1, dashboard_address=f"127.0.0.1:{port}")) as client:
        assert client.dashboard_link == f"http://127.0.0.1:{port}/status", client.dashboard_link
        assert _status(client.dashboard_link) == 200, "Dask's dashboard, where it was asked for"
        assert all(client.run(_profiling).values()), "the dashboard's profiles are sampled"


def test_asking_for_the_dashboard_without_bokeh_names_the_setting_and_the_fix(monkeypatch):
    monkeypatch.delenv(ADDRESS_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "bokeh", None)  # import bokeh fails as when it is not installed
    settings = DaskSettings(dashboard_address="127.0.0.1:8787")
    with pytest.raises(DaskClusterError) as caught, dask_client(settings, "training.dask"):
        pass
    message = str(caught.value)
    for part in ("training.dask.dashboard_address='127.0.0.1:8787'", "bokeh", "scripts/install.sh"):
        assert part in message, message


def _rows(index: int) -> dict:
    return {"rows": index + 1}


def test_a_staged_partition_is_let_go_before_the_date_moves_it(monkeypatch):
    """PostgreSQL moves each staged partition in the date's open transaction while the others are
    scored. The generator's loop variable still held the finished future while the driver moved
    it: a worker killed then made Dask stage it again, into the table the transaction had locked,
    and the run hung (tests/e2e: 600 s). While a partition is handed over, nothing holds it."""
    from dask import delayed

    from adapters.dask_scoring import _as_staged

    monkeypatch.delenv(ADDRESS_ENV, raising=False)
    with dask_client(DaskSettings(workers=1)) as client:
        futures = client.compute([delayed(_rows, pure=False)(index) for index in range(3)])
        keys = [future.key for future in futures]
        results: dict = {}
        handed = []
        for index, rows in _as_staged(futures, results):
            deadline = time.monotonic() + 5  # a future's release reaches the client on its event loop
            while client.refcount.get(keys[index], 0) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert client.refcount.get(keys[index], 0) == 0, f"partition {index} is still held"
            handed.append((index, rows))
        assert sorted(handed) == [(0, 1), (1, 2), (2, 3)] and futures == [None] * 3, (handed, futures)


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("postgresql+psycopg://u@h/db", "-c lock_timeout=120000"),
        (
            "postgresql+psycopg://u@h/db?options=-csearch_path%3Danalytics",
            "-csearch_path=analytics -c lock_timeout=120000",
        ),
    ],
)
def test_the_workers_postgresql_connections_keep_the_urls_options_beside_their_lock_timeout(url, options):
    """The schema in the URL's search path was dropped by the lock timeout the workers add: the
    Dask engine wrote the date to public.customer_scores, the pandas engine to analytics
    (tests/e2e/test_nightly.py, on a real server)."""
    from adapters.dask_scoring import scores_connect_args

    assert scores_connect_args(url) == {"options": options}
    assert scores_connect_args("sqlite:///s.db") == {"timeout": 120}
