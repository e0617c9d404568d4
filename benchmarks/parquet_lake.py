"""Figure 10 — nightly scoring on Dask from a folder of small daily Parquet files (a year of a
warehouse's daily exports: DAYS files of the demo's customer features), end to end with the functions
of `engine: dask` (adapters/dask_scoring.py: the files read as partitions, scored with the production
release, staged into SQLite by the workers, one transaction replacing the date's rows) on a
LocalCluster of 2 single-threaded workers. Neighbouring files read together as one partition (up to
adapters.sources.BLOCKSIZE, uncompressed) against the call before: one partition per file. Fastest of
ROUNDS runs each, taken in turn; the date's rows compared both ways.

    python benchmarks/parquet_lake.py [--days 365] [--rows-per-day 2000] [--rounds 2] [--smoke]
                                      [--state DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, helper, peak_rss_mb, run_json, trained_state, write_result  # noqa: E402
from dask_scoring import shipped_model  # noqa: E402

DAY = date(2026, 11, 1)
ONE_FILE_EACH = 1  # a BLOCKSIZE no two files fit in: the partitions of the call before


def write_lake(lake: Path, days: int, rows_per_day: int) -> int:
    """DAYS Parquet files of ROWS_PER_DAY customers' features each (the demo's, seeded), as a
    warehouse exports a day's new customers: ``lake/2025-11-01.parquet``, ..."""
    import pandas as pd

    from ml.data.demo import generate_demo
    from ml.features import build_customer_features

    tables = generate_demo(customers=days * rows_per_day, seed=11, as_of=DAY)
    flat = build_customer_features(tables.customers, tables.sales, DAY)
    lake.mkdir(parents=True, exist_ok=True)
    for old in lake.glob("*.parquet"):
        old.unlink()
    first = pd.Timestamp(DAY) - pd.Timedelta(days=days)
    for day in range(days):
        part = flat.iloc[day * rows_per_day : (day + 1) * rows_per_day]
        part.to_parquet(lake / f"{first + pd.Timedelta(days=day):%Y-%m-%d}.parquet", index=False)
    return len(flat)


def one_run(model_dir: Path, workdir: Path, blocksize: int) -> dict:
    """`run.py score` with engine dask on the lake, minus ZenML (steps/score.py's adapter calls),
    into a fresh SQLite file; the date's rows are kept for the comparison."""
    import adapters.dask_scoring as dask_scoring
    from adapters import sources
    from adapters.dask_cluster import dask_client
    from adapters.state import StatePaths
    from ml import names
    from ml.settings import DataSettings, ScoringSettings

    if blocksize:
        sources.BLOCKSIZE = blocksize
    database = StatePaths(workdir).scores_db
    database.unlink(missing_ok=True)
    data = DataSettings(
        source="parquet", path=str(workdir / "lake"), target_column=names.TARGET, positive_label=names.GOOD
    )
    scoring = ScoringSettings(engine="dask", dask={"workers": 2})
    started = time.perf_counter()
    with dask_client(scoring.dask) as client:
        ready = time.perf_counter()
        partitions = dask_scoring.feature_partitions(data, scoring, DAY, ROOT)
        scored = dask_scoring.score_on_cluster(
            client,
            partitions,
            shipped_model(model_dir),
            data,
            "customer_scores",
            f"sqlite:///{database}",
            DAY,
        )
        done = time.perf_counter()
    with sqlite3.connect(database) as db:
        rows = db.execute(f"SELECT {names.ID}, label, probability FROM customer_scores ORDER BY {names.ID}")
        (workdir / f"scores-{blocksize or 'default'}.json").write_text(json.dumps(rows.fetchall()))
    seconds = done - ready
    return {
        "partitions": len(partitions),
        "rows": int(scored.rows),
        "seconds": round(seconds, 2),
        "rows_per_s": round(scored.rows / seconds),
        "cluster_start_s": round(ready - started, 1),
        "driver_peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rows-per-day", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--state", type=Path, default=Path("/tmp/andamio-bench/state"))
    parser.add_argument("--smoke", action="store_true", help="30 days of 200 rows, one round, not recorded")
    parser.add_argument("--blocksize", type=int, help=argparse.SUPPRESS)  # a child's run
    args = parser.parse_args()
    if args.smoke:
        args.days, args.rows_per_day, args.rounds = 30, 200, 1
    os.environ.pop("DASK_SCHEDULER_ADDRESS", None)  # a LocalCluster of 2 workers
    workdir, model_dir = args.state / "lake-bench", args.state / "export"
    if args.blocksize is not None:
        print(json.dumps(one_run(model_dir, workdir, args.blocksize)))
        return

    env, _ = trained_state(args.state)
    helper(env, str(model_dir))
    customers = write_lake(workdir / "lake", args.days, args.rows_per_day)
    ways = {"together": 0, "one_file_each": ONE_FILE_EACH}  # 0: BLOCKSIZE as it is
    runs: dict[str, list] = {way: [] for way in ways}
    for _ in range(args.rounds):
        for way, blocksize in ways.items():
            command = [sys.executable, __file__, "--state", str(args.state), "--blocksize", str(blocksize)]
            run = run_json(command, ROOT, timeout=3600)
            run["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
            runs[way].append(run)
            print(way, json.dumps(run), flush=True)
    best = {way: min(found, key=lambda run: run["seconds"]) for way, found in runs.items()}
    same = (workdir / "scores-default.json").read_text() == (
        workdir / f"scores-{ONE_FILE_EACH}.json"
    ).read_text()
    figure = {
        "days": args.days,
        "rows_per_day": args.rows_per_day,
        "customers": customers,
        "workers": 2,
        "method": f"fastest of {args.rounds} runs each way, taken in turn",
        "best": best,
        "runs": runs,
        "time_together_vs_one_file_each": round(
            best["together"]["seconds"] / best["one_file_each"]["seconds"], 3
        ),
        "same_rows_both_ways": same,
    }
    print(json.dumps(figure, indent=1))
    if not args.smoke:
        print("wrote", write_result("parquet_lake", figure))


if __name__ == "__main__":
    main()
