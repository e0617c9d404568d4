"""Nightly scoring with `engine: dask` as `run.py score` runs it: on a LocalCluster and on a real
`dask scheduler` + `dask worker` processes started here, the same rows as the pandas engine (demo,
Parquet, a PostgreSQL table); a worker killed mid-job never leaves half a date; a scheduler that does
not answer exits 2 naming it. Monitoring on dask gives the pandas engine's drift record; training on
dask reads and splits the table on the cluster, fits every train row there (lightgbm.dask) and
registers an ordinary LGBMClassifier as good as the pandas-trained one on the same test rows."""

import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from sklearn.metrics import roc_auc_score

from adapters.scores_db import read_scores, stage_scores
from adapters.sources import read_demo_tables
from bentos.local_server import free_port
from ml import names
from ml.data.demo import generate_demo
from ml.features import FeatureSchema, binary_target, build_customer_features, feature_columns, infer_schema
from ml.monitoring import training_keys
from ml.settings import DataSettings, FeatureSettings, ModelSettings, TrainingSettings
from ml.training import SPLITS, predict_proba, split_bands, split_dataset, split_keys, train_model
from tests.e2e.harness import (
    MODEL_NAME,
    PROJECT_ROOT,
    must,
    probe,
    run_cli,
    run_json,
    training_config,
)

pytestmark = pytest.mark.e2e
CUSTOMERS = 2000
DASK = [sys.executable, "-m", "dask"]  # the `dask` command with this interpreter, whatever its script says


@pytest.fixture(scope="module")
def trained(demo_release):
    """The trained demo project (tests/e2e/conftest.py) and its scores database."""
    return {**demo_release, "db": demo_release["state"] / "project" / "scores.sqlite"}


def scoring_config(state: Path, name: str, **values) -> str:
    path = state / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"customers": CUSTOMERS, **values}))
    return str(path)


def score(trained, day: str, config: str, project: Path | None = None, env: dict | None = None):
    project = project or trained["project"]
    args = ("score", "--project", str(project), "--config", config, "--date", day)
    return run_cli(PROJECT_ROOT, env or trained["env"], *args)


def rows_of(db: Path, day: str) -> pd.DataFrame:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        return read_scores(engine, "customer_scores", pd.Timestamp(day).date())
    finally:
        engine.dispose()


@contextmanager
def dask_processes(workers: int = 1, log_dir: Path | None = None):
    """A `dask scheduler` and ``workers`` `dask worker --no-nanny` processes on 127.0.0.1 (each its own
    pid, so one can be killed); yields (address, worker pids); stopped by pid."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}  # workers unpickle the project's functions
    log = (log_dir or Path("/tmp")) / f"dask-{port}.log"
    started = []
    with log.open("w") as out:
        scheduler = subprocess.Popen(
            [*DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=out, stderr=out, env=env, cwd=PROJECT_ROOT,
        )  # fmt: skip
        started.append(scheduler)
        try:
            for _ in range(workers):
                started.append(
                    subprocess.Popen(
                        [
                            *DASK,
                            "worker",
                            address,
                            "--nthreads",
                            "1",
                            "--no-nanny",
                            "--no-dashboard",
                            "--host",
                            "127.0.0.1",
                        ],
                        stdout=out,
                        stderr=out,
                        env=env,
                        cwd=PROJECT_ROOT,
                    )  # fmt: skip
                )
            yield address, [process.pid for process in started[1:]]
        finally:
            for process in reversed(started):
                if process.poll() is None:
                    os.kill(process.pid, signal.SIGTERM)
            for process in started:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait()


def test_dask_on_a_local_cluster_writes_the_pandas_engines_rows_on_the_demo_data(trained):
    state, day = trained["state"], "2026-03-01"
    must(score(trained, day, scoring_config(state, "pandas")))
    by_pandas = rows_of(trained["db"], day)
    local = scoring_config(state, "dask-local", engine="dask", dask={"partition_rows": CUSTOMERS})
    out = must(score(trained, day, local)).stdout
    assert f"Scored {CUSTOMERS} rows for {day} with model version 1" in out, out[-3000:]
    assert re.search(r"^Dask: a LocalCluster of 2 workers at tcp://127\.0\.0\.1:\d+$", out, re.M), out[-3000:]
    by_dask = rows_of(trained["db"], day)
    pd.testing.assert_frame_equal(by_dask, by_pandas, obj="rows written by engine dask vs engine pandas")


@pytest.fixture(scope="module")
def parquet_project(trained):
    """The same customers' features as one Parquet file (for the pandas engine) and as a folder of
    three files (for the dask engine: one partition each with partition_rows 500)."""
    state, day = trained["state"], pd.Timestamp("2026-03-05").date()
    tables = generate_demo(customers=1500, seed=5, as_of=day)
    flat = build_customer_features(tables.customers, tables.sales, day)
    flat.loc[[10, 600, 1200], "tenure_months"] = None  # never missing in training: reported by both engines
    flat.to_parquet(state / "today.parquet", index=False)
    folder = state / "today-parquet"
    folder.mkdir()
    for part, start in enumerate(range(0, len(flat), 500)):
        flat.iloc[start : start + 500].to_parquet(folder / f"part-{part}.parquet", index=False)
    projects = {}
    for name, path in (("file", state / "today.parquet"), ("folder", folder)):
        raw = yaml.safe_load(trained["project"].read_text())
        raw["data"].update(source="parquet", path=str(path))
        raw["data"].pop("demo", None)
        projects[name] = state / f"project-parquet-{name}.yaml"
        projects[name].write_text(yaml.safe_dump(raw))
    return projects


def test_dask_on_scheduler_and_worker_processes_writes_the_pandas_engines_rows(trained, parquet_project):
    state = trained["state"]
    with dask_processes(workers=2, log_dir=state) as (address, _):
        on_cluster = {"engine": "dask", "dask": {"scheduler_address": address, "partition_rows": 700}}
        day = "2026-03-04"  # demo data: 3 partitions of 700, 700, 600 customers
        must(score(trained, day, scoring_config(state, "remote-demo", **on_cluster)))
        demo = rows_of(trained["db"], day)
        assert len(demo) == CUSTOMERS and demo[names.ID].astype(int).is_unique, demo.head()
        day = "2026-03-05"  # a Parquet folder of three files vs the same rows in one file
        pandas_out = must(
            score(trained, day, scoring_config(state, "pandas-parquet"), project=parquet_project["file"])
        ).stdout
        by_pandas = rows_of(trained["db"], day)
        out = must(
            score(
                trained, day, scoring_config(state, "remote-parquet", **on_cluster), parquet_project["folder"]
            )
        ).stdout
        assert f"Scored 1500 rows for {day}" in out, out[-3000:]
        by_dask = rows_of(trained["db"], day)
    pd.testing.assert_frame_equal(by_dask, by_pandas, obj="Parquet folder on dask vs the file on pandas")
    blank = "tenure_months: 3 rows without a value, never missing in training"  # one in each partition
    assert blank in pandas_out and blank in out, (pandas_out[-2000:], out[-2000:])
    assert (by_dask.model_version == "1").all(), by_dask.model_version.unique()


def test_dask_reads_a_postgresql_table_in_id_ranges_and_writes_the_pandas_engines_rows(trained):
    """On a real PostgreSQL server (SQLite: the partitions hold the rows pandas reads, unit test)."""
    from tests.e2e.postgres import postgres_server

    state, day = trained["state"], "2026-03-09"
    tables = generate_demo(customers=1500, seed=9, as_of=pd.Timestamp(day).date())
    flat = build_customer_features(tables.customers, tables.sales, pd.Timestamp(day).date())
    with postgres_server() as url:
        engine = sa.create_engine(url)
        try:
            flat.to_sql("today", engine, index=False)
        finally:
            engine.dispose()
        raw = yaml.safe_load(trained["project"].read_text())
        raw["data"].update(source="sql", sql_url=url, sql_query="SELECT * FROM today")
        raw["data"].pop("demo", None)
        project = state / "project-sql.yaml"
        project.write_text(yaml.safe_dump(raw))
        must(score(trained, day, scoring_config(state, "pandas-sql"), project=project))
        by_pandas = rows_of(trained["db"], day)
        on_dask = scoring_config(state, "dask-sql", engine="dask", dask={"partition_rows": 500})
        out = must(score(trained, day, on_dask, project=project)).stdout
    assert f"Scored 1500 rows for {day}" in out and "engine dask: 3 partitions" in out, out[-3000:]
    by_dask = rows_of(trained["db"], day)
    pd.testing.assert_frame_equal(by_dask, by_pandas, obj="PostgreSQL on dask (3 ranges) vs pandas")


def test_drift_on_a_dask_window_gives_the_pandas_engines_verdicts_on_the_same_rows(trained, parquet_project):
    """The Parquet file on pandas, its three-file folder on a LocalCluster: the same sample of 500 of
    the 1500 rows, so the same Evidently verdicts and scores, and the same labelled-rows quality and
    live fairness (its own seeded sample of 500 live rows)."""
    state = trained["state"]
    plain = {"sample_rows": 500, "webhook": {"dry_run": True}}
    runs = {"pandas": ("2026-03-11", plain), "dask": ("2026-03-12", {**plain, "engine": "dask"})}
    for engine, (day, values) in runs.items():
        config = state / f"monitoring-{engine}.yaml"
        config.write_text(yaml.safe_dump(values))
        project = parquet_project["file" if engine == "pandas" else "folder"]
        args = ("monitor", "--project", str(project), "--config", str(config), "--defer-retraining")
        # three files of 500 rows, three partitions (small files are read together up to this)
        scoring = scoring_config(state, f"monitor-scoring-{engine}", dask={"partition_rows": 500})
        out = must(
            run_cli(PROJECT_ROOT, trained["env"], *args, "--scoring-config", scoring, "--date", day)
        ).stdout
        assert f"Monitoring {day}: drift share" in out, out[-3000:]
    version = probe(PROJECT_ROOT, trained["env"], MODEL_NAME)["model_versions"][0]["metadata"]
    by_pandas, by_dask = (version[f"{names.MONITORING_PREFIX}{day}"] for day, _ in runs.values())
    assert by_dask.pop(names.MONITORING_ENGINE) == {"engine": "dask", "partitions": 3}, by_dask
    assert by_pandas["sample"]["sampled_current"] == 500 and by_pandas["quality"]["labelled_rows"] == 1500
    fairness = by_pandas["quality"][names.LIVE_FAIRNESS]  # the release's gate on the live rows: compared too
    assert fairness["available"] and (fairness["judged_rows"], fairness[names.LIVE_ROWS]) == (500, 1500), (
        fairness
    )
    for record in (by_pandas, by_dask):
        del record["date"]
    # Equal, floats to 1e-12: Evidently's chi-square sums the categories in the order of a Python set,
    # which changes with each process's hash seed (two runs of one engine differ in the last bit too).
    flat_pandas, flat_dask = flattened(by_pandas), flattened(by_dask)
    assert flat_dask.keys() == flat_pandas.keys(), "monitoring a window on dask vs the same rows on pandas"
    differ = {
        key: (flat_dask[key], value)
        for key, value in flat_pandas.items()
        if not (
            math.isclose(flat_dask[key], value, rel_tol=1e-12)
            if isinstance(value, float) and isinstance(flat_dask[key], float)
            else flat_dask[key] == value
        )
    }
    assert not differ, f"monitoring a window on dask vs the same rows on pandas (dask, pandas): {differ}"


def flattened(record, prefix: str = "") -> dict:
    """A nested record as {"a/b/c": leaf}."""
    if not isinstance(record, dict):
        return {prefix: record}
    return {
        key: leaf
        for name, value in record.items()
        for key, leaf in flattened(value, f"{prefix}/{name}").items()
    }


def staged_rows(db: Path) -> int:
    """Rows in any staging table of ``db`` (0 while there is none or the file is busy)."""
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            tables = [
                t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '%_staging_%'")
            ]
            return sum(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)
    except sqlite3.Error:
        return 0


def staging_mid_job(trained, day: str, name: str, address: str) -> subprocess.Popen:
    """`run.py score` of ``day`` (12,000 customers in partitions of 600) on the scheduler at
    ``address``, returned once its workers have staged rows (it is still running then)."""
    config = scoring_config(
        trained["state"],
        name,
        customers=12_000,
        engine="dask",
        dask={"scheduler_address": address, "partition_rows": 600},
    )
    args = ("score", "--project", str(trained["project"]), "--config", config, "--date", day)
    run = subprocess.Popen(
        [sys.executable, "run.py", *args], cwd=PROJECT_ROOT, env=trained["env"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    while staged_rows(trained["db"]) == 0 and run.poll() is None:  # wait until partitions are staged
        time.sleep(0.2)
    assert run.poll() is None, "the run ended before any partition was staged: " + run.stdout.read()[-3000:]
    return run


def test_a_worker_killed_mid_job_never_leaves_half_a_date(trained):
    state, day = trained["state"], "2026-03-06"
    must(score(trained, day, scoring_config(state, "before", customers=300)))
    before = rows_of(trained["db"], day)
    assert len(before) == 300, before.head()
    with dask_processes(workers=2, log_dir=state) as (address, workers):
        run = staging_mid_job(trained, day, "killed", address)
        os.kill(workers[0], signal.SIGKILL)
        output, _ = run.communicate(timeout=600)
    after = rows_of(trained["db"], day)
    print(f"the run with a worker killed mid-job exited {run.returncode}; {len(after)} rows for {day}")
    if run.returncode == 0:  # Dask ran the lost partitions again on the other worker
        assert len(after) == 12_000 and after[names.ID].astype(int).is_unique, output[-3000:]
        assert sorted(after[names.ID].astype(int)) == list(range(1, 12_001)), "every customer once"
    else:
        pd.testing.assert_frame_equal(after, before, obj=f"the date after a failed run: {output[-2000:]}")
    assert not staged_rows(trained["db"]), "the staging table is dropped either way"


def test_on_postgresql_a_worker_killed_while_partitions_move_never_leaves_half_a_date(trained):
    """PostgreSQL: the date's transaction moves partitions while others are scored; a worker killed
    then leaves either every customer once (Dask ran its partitions again) or the earlier rows, and
    until the commit a reader sees the earlier rows."""
    from tests.e2e.postgres import postgres_server

    state, day = trained["state"], "2026-03-09"
    with postgres_server() as url:
        engine = sa.create_engine(url)
        staging = sa.text(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'customer\\_scores\\_staging\\_%'"
        )
        try:
            must(score(trained, day, scoring_config(state, "pg-before", customers=300, database_url=url)))
            before = read_scores(engine, "customer_scores", pd.Timestamp(day).date())
            with dask_processes(workers=2, log_dir=state) as (address, workers):
                config = scoring_config(
                    state, "pg-killed", customers=12_000, engine="dask", database_url=url,
                    dask={"scheduler_address": address, "partition_rows": 600},
                )  # fmt: skip
                args = ("score", "--project", str(trained["project"]), "--config", config, "--date", day)
                run = subprocess.Popen(
                    [sys.executable, "run.py", *args], cwd=PROJECT_ROOT, env=trained["env"],
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                )  # fmt: skip
                while run.poll() is None:  # until three partitions are staged (the first ones moved)
                    with engine.connect() as conn:
                        if conn.execute(staging).scalar_one() >= 3:
                            break
                    time.sleep(0.1)
                mid_run = read_scores(engine, "customer_scores", pd.Timestamp(day).date())
                assert run.poll() is None, "the run ended before partitions were staged: " + run.stdout.read()
                os.kill(workers[0], signal.SIGKILL)
                output, _ = run.communicate(timeout=600)
            after = read_scores(engine, "customer_scores", pd.Timestamp(day).date())
            with engine.connect() as conn:
                left = conn.execute(staging).scalar_one()
        finally:
            engine.dispose()
    print(f"the PostgreSQL run with a worker killed exited {run.returncode}; {len(after)} rows for {day}")
    pd.testing.assert_frame_equal(mid_run, before, obj="what a reader saw while the date was replaced")
    if run.returncode == 0:  # Dask ran the lost partitions again on the other worker
        assert sorted(after[names.ID].astype(int)) == list(range(1, 12_001)), "every customer once"
        assert set(after["model_version"]) == set(before["model_version"]), after.head()
    else:
        pd.testing.assert_frame_equal(after, before, obj=f"the date after a failed run: {output[-2000:]}")
    assert left == 0, "the staging tables are dropped either way"


def staging_tables(db: Path) -> list[str]:
    with sqlite3.connect(db, timeout=30) as conn:
        return [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '%_staging_%'")]


def test_a_driver_killed_outright_changes_nothing_and_the_next_run_of_the_date_clears_its_tables(trained):
    state, day, db = trained["state"], "2026-03-08", trained["db"]
    must(score(trained, day, scoring_config(state, "before-driver-killed", customers=300)))
    before = rows_of(db, day)
    with dask_processes(workers=2, log_dir=state) as (address, workers):
        run = staging_mid_job(trained, day, "driver-killed", address)
        os.kill(run.pid, signal.SIGKILL)  # no finally, no clean-up: as an OOM kill or a reboot does
        run.wait()
        for pid in workers:  # the machine's reboot takes the workers too (and busy ones stop slowly)
            os.kill(pid, signal.SIGKILL)
    # scheduler and workers stopped: nothing of the killed run can still write
    left = staging_tables(db)
    killed = sorted({name.rpartition("_p")[0] for name in left})
    assert len(killed) == 1 and killed[0].startswith("customer_scores_staging_20260308_"), left
    pd.testing.assert_frame_equal(rows_of(db, day), before, obj="the date after its driver was killed")
    again = scoring_config(state, "after-driver-killed", customers=12_000, engine="dask",
                           dask={"partition_rows": 3000})  # fmt: skip
    out = must(score(trained, day, again))
    text = out.stdout + out.stderr
    after = rows_of(db, day)
    assert sorted(after[names.ID].astype(int)) == list(range(1, 12_001)), "every customer once"
    assert staging_tables(db) == [], "the killed run's tables are dropped, and this run's own"
    assert f"dropping the staging tables {killed[0]}_p*" in text and "never finished" in text, text[-3000:]
    assert f"dropped the staging tables {killed[0]}_p* that a killed run" in out.stdout, out.stdout[-3000:]
    # the pandas engine's run of a date clears such tables too (a team may switch engines after a crash)
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        staged = read_scores(engine, "customer_scores", pd.Timestamp(day).date()).head(5)
        stage_scores(engine, killed[0], staged, 3, pd.Timestamp(day).date(), staged["model_version"][0])
    finally:
        engine.dispose()
    out = must(score(trained, day, scoring_config(state, "pandas-after-driver-killed", customers=300)))
    assert f"dropped the staging tables {killed[0]}_p* that a killed run" in out.stdout, out.stdout[-3000:]
    assert staging_tables(db) == [] and len(rows_of(db, day)) == 300


def test_a_scheduler_that_does_not_answer_exits_2_naming_it(trained):
    state, address = trained["state"], f"tcp://127.0.0.1:{free_port()}"
    config = scoring_config(
        state, "nobody", engine="dask", dask={"scheduler_address": address, "connect_timeout_seconds": 3}
    )
    result = score(trained, "2026-03-07", config)
    text = result.stdout + result.stderr
    assert result.returncode == 2, text[-4000:]
    assert address in text and "scoring.dask.scheduler_address" in text, text[-4000:]


def test_staged_partitions_replace_a_date_in_one_transaction_on_postgresql():
    from adapters.scores_db import drop_staging, replace_from_staging, write_scores
    from tests.e2e.postgres import postgres_server
    from tests.unit.test_scores_db import DAY, scores

    with postgres_server() as url:
        engine = sa.create_engine(url)
        try:
            write_scores(engine, "customer_scores", scores(40, version="1"), DAY)
            before = read_scores(engine, "customer_scores", DAY)
            stage_scores(engine, "customer_scores_staging_t", scores(30, version="2"), 0, DAY, "2")
            # customer 1 twice
            stage_scores(engine, "customer_scores_staging_t", scores(1, version="2"), 1, DAY, "2")
            with pytest.raises(sa.exc.IntegrityError):
                replace_from_staging(engine, "customer_scores", "customer_scores_staging_t", DAY, "2")
            kept = read_scores(engine, "customer_scores", DAY)
            # partition 1 rewritten: empty
            stage_scores(engine, "customer_scores_staging_t", scores(0), 1, DAY, "2")
            moved = replace_from_staging(engine, "customer_scores", "customer_scores_staging_t", DAY, "2")
            after = read_scores(engine, "customer_scores", DAY)
            drop_staging(engine, "customer_scores_staging_t")
        finally:
            engine.dispose()
    pd.testing.assert_frame_equal(kept, before, obj="the date after a failed replacement on PostgreSQL")
    assert moved == 30 and len(after) == 30 and set(after.model_version) == {"2"}, after.head()
    assert set(after.scoring_date) == {DAY.isoformat()}, after.head()


def test_dask_workers_stage_into_a_real_postgresql_server_with_the_password_from_the_environment(trained):
    import secrets

    from tests.e2e.postgres import postgres_server

    password, state, day = f"pw-{secrets.token_hex(8)}", trained["state"], "2026-03-08"
    with postgres_server(password=password) as url:
        config = scoring_config(
            state,
            "dask-postgres",
            engine="dask",
            dask={"partition_rows": 800},
            database_url=url.replace(f":{password}@", "@"),
            database_password_env="SCORES_DB_PASSWORD",
        )
        out = must(score(trained, day, config, env={**trained["env"], "SCORES_DB_PASSWORD": password})).stdout
        assert "postgresql+psycopg://andamio:***@127.0.0.1" in out and password not in out, out[-3000:]
        engine = sa.create_engine(url)
        try:
            rows = read_scores(engine, "customer_scores", pd.Timestamp(day).date())
            tables = sa.inspect(engine).get_table_names()
        finally:
            engine.dispose()
    assert len(rows) == CUSTOMERS and rows[names.ID].is_unique, rows.head()
    assert tables == ["customer_scores"], f"the staging table is dropped after the run: {tables}"


def test_training_on_dask_splits_on_the_cluster_fits_every_train_row_and_is_as_good_as_pandas(trained):
    """The demo read in 4 partitions and split on the cluster (a `dask scheduler` and two `dask worker`
    processes: training.dask.scheduler_address); only samples of 1,500 rows per split come back, yet
    LightGBM's first tree grew on 80 % (its bagging) of every train row there."""
    state, env = trained["state"], trained["env"]
    with dask_processes(workers=2, log_dir=state) as (address, _):
        config = training_config(
            state, "dask-training", search={"candidates": [{}]}, engine="dask",
            dask={"partition_rows": 2_500, "holdout_rows": 1_500, "scheduler_address": address},
        )  # fmt: skip
        project = str(trained["project"])
        out = must(run_cli(PROJECT_ROOT, env, "train", "--project", project, "--config", config))
    ran = f"Dask: the scheduler at {address} (training.dask.scheduler_address), 2 workers"
    assert out.stdout.count(ran) == 3, f"split, fit and train keys on that cluster: {out.stdout[-3000:]}"
    assert "Parameter n_jobs will be ignored" not in out.stdout + out.stderr, out.stderr[-3000:]
    versions = {v["number"]: v for v in probe(PROJECT_ROOT, env, MODEL_NAME)["model_versions"]}
    on_dask = max(versions)
    meta = versions[on_dask]["metadata"]
    per_split = {split: sum(by_class.values()) for split, by_class in meta[names.SPLIT_ROWS].items()}
    total = sum(per_split.values())
    assert meta[names.DATA_FINGERPRINT]["rows"] == total and meta[names.DATA_FINGERPRINT]["partitions"] == -(
        -total // 2_500
    ), meta[names.DATA_FINGERPRINT]
    for split, share in (("train", 0.6), ("validation", 0.2), ("test", 0.2)):
        assert per_split[split] == pytest.approx(share * total, rel=0.1), per_split
    registered = run_json(
        [sys.executable, "-m", "tests.e2e.model_probe", MODEL_NAME, str(on_dask)], PROJECT_ROOT, env
    )
    assert len(registered["labels"]) == 1_500, "the test holdout: a sample of the test split"
    assert registered["first_tree_rows"] == pytest.approx(0.8 * per_split["train"], rel=0.03), (
        f"grown on {registered['first_tree_rows']} rows: every train row ({per_split['train']}) "
        "on the cluster, bagged at 0.8, not the 1,500-row sample"
    )
    # the same split of the whole table in this process: LightGBM fitted here on every train row
    tables = read_demo_tables(trained["state"] / "demo.sqlite")
    table = build_customer_features(tables.customers, tables.sales, DataSettings().demo.as_of)
    table.columns = [str(column) for column in table.columns]
    keys = split_keys(table[names.ID], TrainingSettings().seed)
    table = table.assign(_key=keys, _split=split_bands(keys, TrainingSettings().split))
    train = table[table._split == "train"]
    assert len(train) == per_split["train"], "the cluster's train rows are the split's train rows"
    holdout = table[table._split == "test"].nsmallest(1_500, "_key")
    y = binary_target(holdout[names.TARGET], names.GOOD)
    assert y.tolist() == registered["labels"], "the test holdout: the test split's 1,500 smallest keys"
    data = DataSettings(sensitive_features=["gender", "age"])
    splits = [table[table._split == split].drop(columns=["_key", "_split"]) for split in SPLITS]
    columns = feature_columns(splits[0], data, FeatureSettings())  # not the key and split added here
    schema = infer_schema(train, columns, data, names.BAD)
    whole = infer_schema(splits[0], columns, data, names.BAD, others=splits[1:])
    assert FeatureSchema.from_dict(registered["schema"]).features == whole.features, (
        "the API's ranges and missing values: every row's (split_facts), not the 1,500-row samples'"
    )
    expected_keys = training_keys(train, registered["key_columns"]).tolist()
    assert registered["train_row_keys"] == expected_keys, (
        "monitoring's seen_in_training knows every train row the cluster fitted on, not the 1,500-row "
        f"sample: {len(registered['train_row_keys'])} keys vs {len(expected_keys)} expected"
    )
    here = predict_proba(
        train_model(train, schema, ModelSettings(), TrainingSettings().seed), holdout, schema
    )
    auc = {"dask": roc_auc_score(y, registered["pipeline"]), "in one process": roc_auc_score(y, here)}
    assert abs(auc["dask"] - auc["in one process"]) <= 0.02, f"ROC AUC on the same test rows: {auc}"
    assert registered["class"] == "lightgbm.sklearn.LGBMClassifier", registered["class"]
    assert registered["n_jobs"] == 1, (
        "scored with the configured threads (n_jobs: 1), as a pandas-trained one"
    )
    for path in ("sklearn", "served"):  # the booster path of batch scoring, scikit-learn, the Bento bundle
        assert registered[path] == pytest.approx(registered["pipeline"], abs=1e-12), path
    # production (version 1, trained on pandas: a stratified split) was trained on some of these test
    # rows: the two are compared on the rest, found here by customer id
    production_train = split_dataset(
        table, names.TARGET, TrainingSettings().split, TrainingSettings().seed
    ).train
    unseen = holdout[~holdout[names.ID].isin(production_train[names.ID])]
    decision = meta[names.PROMOTION_DECISION]
    assert 0 < len(unseen) < 1_500 and decision["comparison"]["rows"] == len(unseen), (len(unseen), decision)
    assert f"on the {len(unseen)} evaluation rows production version 1 was not trained on" in " ".join(
        decision["reasons"]
    ), decision["reasons"]
