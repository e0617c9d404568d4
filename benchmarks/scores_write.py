"""Figure 9 — writing the scores table: N score rows (default 1M, as ml.scoring.score makes them) written
to a PostgreSQL server (started on 127.0.0.1 by this script, as the tests start theirs) by the
project's calls: `adapters.scores_db.write_scores` (engine: pandas; psycopg's binary COPY inside the
transaction that replaces the date) and `stage_scores` per partition of 100,000 rows then
`replace_from_staging` (engine: dask). Peers on the same server and rows: psycopg's executemany of the
compiled INSERT (what write_scores ran before), pandas' `DataFrame.to_sql` (its default method) and
SQLAlchemy Core's executemany (insertmanyvalues batches); and the same calls on SQLite. Every way
must leave the same rows (count and sum of probabilities); ROUNDS rounds, the fastest of each.

Then `engine: dask` end to end into that server (dask_scoring.py's run: CUSTOMERS demo customers
generated, scored and staged on a LocalCluster of 1 and of 2 workers, each run its own process):
the date's transaction moving each partition as it finishes (`replace_as_staged`, what PostgreSQL
gets) against moving them all after the last one is staged (`replace_from_staging`, SQLite's way
and PostgreSQL's before), alternating, the fastest of ROUNDS each.

    python benchmarks/scores_write.py [--rows 1000000] [--customers 2000000] [--rounds 3] [--smoke]
                                      [--state DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, write_result  # noqa: E402

sys.path.insert(0, str(ROOT))

DAY = date(2026, 11, 1)
PARTITION_ROWS = 100_000  # configs/scoring.yaml's default dask.partition_rows


def score_rows(rows: int):
    """Rows as ml.scoring.score returns them: integer ids, two labels, float64 probabilities."""
    import numpy as np
    import pandas as pd

    from ml import names

    rng = np.random.default_rng(9)
    probability = rng.random(rows)
    return pd.DataFrame(
        {
            names.ID: np.arange(1, rows + 1),
            names.TARGET: np.asarray((names.BAD, names.GOOD), dtype=object)[(probability >= 0.5).astype(int)],
            "probability": probability,
            "model_version": "7",
            "scoring_date": DAY.isoformat(),
        }
    )


def ways(frame) -> dict:
    """Each way of writing ``frame`` as the date's rows of a fresh ``customer_scores`` table."""

    from adapters.scores_db import (
        drop_staging,
        replace_from_staging,
        scores_table,
        stage_scores,
        write_scores,
    )
    from ml import names

    def project(engine):
        write_scores(engine, "customer_scores", frame, DAY)

    def staged(engine):
        for index, start in enumerate(range(0, len(frame), PARTITION_ROWS)):
            part = frame.iloc[start : start + PARTITION_ROWS]
            stage_scores(engine, "customer_scores_staging_b", part, index, DAY, "7")
        replace_from_staging(engine, "customer_scores", "customer_scores_staging_b", DAY, "7")
        drop_staging(engine, "customer_scores_staging_b")

    @contextmanager
    def replacing_the_date(engine):
        """The peers' transaction, opened by deleting the date's rows as write_scores does."""
        target = scores_table("customer_scores")
        with engine.begin() as conn:
            conn.execute(target.delete().where(target.c.scoring_date == DAY.isoformat()))
            yield target, conn

    def executemany(engine):  # write_scores before COPY: the driver's executemany on plain rows
        with replacing_the_date(engine) as (target, conn):
            columns = target.columns.keys()
            values = [frame[c].astype(str) if c == names.ID else frame[c] for c in columns]
            rows = zip(*(column.tolist() for column in values), strict=True)
            params = (
                list(rows) if conn.dialect.positional else [dict(zip(columns, r, strict=True)) for r in rows]
            )
            conn.exec_driver_sql(str(target.insert().compile(dialect=conn.dialect)), params)

    def pandas_to_sql(engine):
        with replacing_the_date(engine) as (_, conn):
            frame.astype({names.ID: str}).to_sql("customer_scores", conn, if_exists="append", index=False)

    def core_insertmanyvalues(engine):
        records = frame.astype({names.ID: str}).to_dict("records")
        with replacing_the_date(engine) as (target, conn):
            conn.execute(target.insert(), records)

    return {
        "write_scores": project,
        "staged": staged,
        "executemany": executemany,
        "pandas_to_sql": pandas_to_sql,
        "sqlalchemy_core_executemany": core_insertmanyvalues,
    }


def measure(url: str, frame, rounds: int, only: tuple[str, ...]) -> dict:
    import sqlalchemy as sa

    from adapters.scores_db import scores_table

    out = {}
    for name, write in ways(frame).items():
        if name not in only:
            continue
        seconds, stored = [], None
        for _ in range(rounds):
            engine = sa.create_engine(url)
            try:
                scores_table("customer_scores").drop(engine, checkfirst=True)
                scores_table("customer_scores").create(engine)
                started = time.perf_counter()
                write(engine)
                seconds.append(time.perf_counter() - started)
                with engine.connect() as conn:
                    count, total = conn.exec_driver_sql(
                        "SELECT COUNT(*), SUM(probability) FROM customer_scores"
                    ).one()
            finally:
                engine.dispose()
            stored = (int(count), round(float(total), 6))
        best = min(seconds)
        out[name] = {
            "seconds": round(best, 2),
            "rounds_s": [round(s, 2) for s in seconds],
            "rows_per_s": round(len(frame) / best),
            "rows": stored[0],
            "probability_sum": stored[1],
        }
        print(name, out[name], flush=True)
    return out


def dask_run(url: str, state: Path, customers: int, workers: int, moving: bool) -> dict:
    """One `engine: dask` run into ``url`` (in its own process: the child's --dask-run)."""
    import sqlalchemy as sa
    from dask_scoring import one_run  # benchmarks/dask_scoring.py

    import adapters.dask_scoring as adapter
    from adapters.scores_db import scores_table

    if not moving:  # the way SQLite moves them: all at once after the last partition is staged
        adapter.moves_while_staging = lambda engine: False
    engine = sa.create_engine(url)
    try:  # a fresh table, as one_run's fresh SQLite file (a replaced date leaves dead rows behind)
        scores_table("customer_scores").drop(engine, checkfirst=True)
    finally:
        engine.dispose()
    run = one_run(state / "export", state / "dask-bench", customers, workers, url)
    return {key: run[key] for key in ("workers", "rows", "seconds", "rows_per_s", "label_counts")}


def dask_part(args, url: str) -> dict:
    from common import helper, run_json, trained_state

    env, _ = trained_state(args.state)
    helper(env, str(args.state / "export"))
    runs: dict = {}
    for _ in range(args.rounds):
        for workers in (1, 2):
            for way, moving in (("as_staged", "1"), ("after_staging", "0")):
                command = [sys.executable, __file__, "--dask-run", str(workers), moving, url,
                           "--customers", str(args.customers), "--state", str(args.state)]  # fmt: skip
                run = run_json(command, ROOT, timeout=1800)
                runs.setdefault(f"{workers}_{way}", []).append(run)
                print(f"dask {workers} worker(s), moved {way}: {run['seconds']} s", flush=True)
    best = {key: min(found, key=lambda run: run["seconds"]) for key, found in runs.items()}
    return {
        "customers": args.customers,
        "best": best,
        "rounds_s": {key: [run["seconds"] for run in found] for key, found in runs.items()},
        "time_as_staged_vs_after": {
            f"{workers}_workers": round(
                best[f"{workers}_as_staged"]["seconds"] / best[f"{workers}_after_staging"]["seconds"], 2
            )
            for workers in (1, 2)
        },
        "same_rows_both_ways": len({json.dumps(run["label_counts"], sort_keys=True) for run in best.values()})
        == 1,
    }


def main() -> None:
    os.environ.pop("DASK_SCHEDULER_ADDRESS", None)  # LocalClusters of the measured sizes
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--customers", type=int, default=2_000_000, help="of the Dask runs")
    parser.add_argument("--smoke", action="store_true", help="20,000 rows, one round, not recorded")
    parser.add_argument("--state", type=Path, default=Path("/tmp/andamio-bench/state"))
    parser.add_argument("--dask-run", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dask_run:
        workers, moving, url = args.dask_run
        print(json.dumps(dask_run(url, args.state, args.customers, int(workers), moving == "1")))
        return
    if args.smoke:
        args.rows, args.rounds, args.customers = 20_000, 1, 20_000
    from tests.e2e.postgres import postgres_server

    frame = score_rows(args.rows)
    with tempfile.TemporaryDirectory() as tmp, postgres_server() as url:
        postgresql = measure(url, frame, args.rounds, tuple(ways(frame)))
        sqlite = measure(f"sqlite:///{tmp}/benchmark.sqlite", frame, args.rounds, ("write_scores", "staged"))
        dask = dask_part(args, url)
    stored = {(run["rows"], run["probability_sum"]) for run in [*postgresql.values(), *sqlite.values()]}
    project = postgresql["write_scores"]["seconds"]
    peers = ("executemany", "pandas_to_sql", "sqlalchemy_core_executemany")
    figure = {
        "rows": args.rows,
        "partition_rows": PARTITION_ROWS,
        "method": f"fastest of {args.rounds} rounds each, a fresh table each round",
        "postgresql": postgresql,
        "sqlite": sqlite,
        "same_rows_every_way": len(stored) == 1,
        "speedup_vs": {peer: round(postgresql[peer]["seconds"] / project, 1) for peer in peers},
        "dask_postgresql": dask,
    }
    print(figure)
    if not args.smoke:
        print("wrote", write_result("scores_write", figure))


if __name__ == "__main__":
    main()
