"""Figure 6 — nightly scoring on Dask: N customers (default 10M) end to end with the functions of
`engine: dask` (adapters/dask_scoring.py: the demo generated partition by partition, features,
scores with the production release shipped to each worker once, staged into SQLite by the workers,
then one transaction replacing the date's rows) on a LocalCluster of 1 and of 2 single-threaded
workers, in turn, ROUNDS times; the figure is the fastest run of each (interference only adds time).
Against the raw LightGBM booster's batched predict on one thread (a ready float matrix, its own
process): throughput per worker (= per core) over the booster's. Peak memory: each worker's own
(ru_maxrss, read on the worker after the run), and the driver's, which never holds the table.

    python benchmarks/dask_scoring.py [--customers 10000000] [--rounds 2] [--sizes 1 2] [--smoke]
                                      [--state DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, helper, peak_rss_mb, run_json, trained_state, write_result  # noqa: E402

DAY = date(2026, 11, 1)
PARTITION_ROWS = 100_000  # configs/scoring.yaml's default
STAGE_PARTITIONS = 5  # partitions whose stages are timed one by one in one process (stage_costs)
RAW_ROWS = 1_000_000  # the raw booster's rows/s on one thread do not depend on the batch size


def worker_peak_rss_mb() -> float:
    """On a worker: its process's peak resident set size."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def shipped_model(model_dir: Path):
    """The production release as `run.py score` ships it to the workers (export_model.py's files)."""
    import joblib

    from adapters.dask_scoring import ShippedModel
    from ml.features import FeatureSchema

    release = joblib.load(model_dir / "model.joblib")
    schema = FeatureSchema.from_dict(json.loads((model_dir / "schema.json").read_text()))
    meta = json.loads((model_dir / "meta.json").read_text())
    return ShippedModel(release, schema, meta["threshold"], meta["version"])


def stage_costs(model_dir: Path, workdir: Path, partitions: int) -> dict:
    """One process, one thread, no Dask: each stage of a partition of PARTITION_ROWS demo customers
    timed on its own with the functions a worker runs (ml.scoring.demo_partition's generator and
    features, stage_partition's scoring and staged write, then the one transaction's share). Their sum
    is a partition's cost on a worker with no Dask overhead at all. The trees are also timed alone
    (the booster on the partition's ready matrix, as the raw peer; scoring holds them), so trees / sum
    is the highest per-core ratio these stages allow."""
    import statistics

    from adapters.dask_scoring import scores_engine
    from adapters.scores_db import replace_from_staging, stage_scores
    from ml import names
    from ml.data.validation import as_declared
    from ml.features import build_customer_features
    from ml.scoring import demo_partition_tables, score, unseen_categories
    from ml.settings import DataSettings, ScoringSettings
    from ml.training import booster_input

    def summary(labels, frame, schema):  # what stage_partition returns besides the rows
        return labels.value_counts().to_dict(), unseen_categories(frame, schema)

    shipped, data, scoring = shipped_model(model_dir), DataSettings(), ScoringSettings()
    booster = shipped.model.named_steps["clf"].booster_
    database = workdir / "stages.sqlite"
    database.unlink(missing_ok=True)
    engine = scores_engine(f"sqlite:///{database}")
    seconds: dict[str, list[float]] = {}

    def timed(stage: str, call, *args, **kwargs):
        started = time.perf_counter()
        out = call(*args, **kwargs)
        seconds.setdefault(stage, []).append(time.perf_counter() - started)
        return out

    for index in range(partitions + 1):  # the first one warms up (imports, first-touch memory)
        tables = timed(
            "generate", demo_partition_tables, data, scoring, DAY, index, index * PARTITION_ROWS,
            PARTITION_ROWS,
        )  # fmt: skip
        frame = timed("features", build_customer_features, tables.customers, tables.sales, DAY)
        frame = as_declared(frame, data)
        scored = timed(
            "score", score, shipped.model, frame, shipped.schema, shipped.threshold, shipped.version, DAY,
            data.id_column,
        )  # fmt: skip
        timed("trees", booster.predict, booster_input(shipped.model, frame), num_threads=1)
        timed("stage", stage_scores, engine, "stages", scored, index, DAY, shipped.version)
        timed("summary", summary, scored[names.TARGET], frame, shipped.schema)
        if index == 0:
            seconds.clear()
    transaction = time.perf_counter()
    replace_from_staging(engine, "customer_scores", "stages", DAY, shipped.version)
    transaction = time.perf_counter() - transaction
    engine.dispose()
    per = {stage: statistics.median(found) for stage, found in seconds.items()}
    per["transaction_share"] = transaction / (partitions + 1)
    total = sum(value for stage, value in per.items() if stage != "trees")  # "score" holds its trees
    return {
        "partitions": partitions,
        "partition_rows": PARTITION_ROWS,
        "median_s": {stage: round(value, 3) for stage, value in per.items()},
        "total_s": round(total, 3),
        "trees_rows_per_s": round(PARTITION_ROWS / per["trees"]),
        "ceiling_vs_trees": round(per["trees"] / total, 3),
    }


def one_run(model_dir: Path, workdir: Path, customers: int, workers: int, url: str | None = None) -> dict:
    """`run.py score` with engine dask, minus ZenML: the same adapter calls as steps/score.py, into
    a fresh SQLite file in ``workdir``, or into the database at ``url`` (scores_write.py's runs)."""
    import adapters.dask_scoring as dask_scoring
    from adapters.dask_cluster import dask_client
    from adapters.state import StatePaths
    from ml.settings import DataSettings, ScoringSettings

    shipped = shipped_model(model_dir)
    database = StatePaths(workdir).scores_db  # the work dir stands in for the state dir
    for path in (database, database.with_name(database.name + "-journal")):
        path.unlink(missing_ok=True)
    url = url or f"sqlite:///{database}"
    data = DataSettings()  # the demo source
    scoring = ScoringSettings(
        customers=customers, dask={"workers": workers, "partition_rows": PARTITION_ROWS}
    )
    replace = dask_scoring.replace_from_staging
    timed: dict = {}

    def timed_replace(*args, **kwargs):  # the one serial transaction at the end, timed on its own
        started = time.perf_counter()
        try:
            return replace(*args, **kwargs)
        finally:
            timed["replace_s"] = time.perf_counter() - started

    dask_scoring.replace_from_staging = timed_replace
    started = time.perf_counter()
    with dask_client(scoring.dask) as client:
        ready = time.perf_counter()
        partitions = dask_scoring.feature_partitions(data, scoring, DAY, ROOT)
        scored = dask_scoring.score_on_cluster(client, partitions, shipped, data, "customer_scores", url, DAY)
        written, labels = scored.rows, scored.labels
        done = time.perf_counter()
        peaks = client.run(worker_peak_rss_mb)
    dask_scoring.replace_from_staging = replace
    seconds = done - ready  # the scoring itself; the cluster's start-up is shown apart
    return {
        "workers": workers,
        "partitions": len(partitions),
        "rows": int(written),
        "seconds": round(seconds, 1),
        "rows_per_s": round(written / seconds),
        "rows_per_s_per_worker": round(written / seconds / workers),
        "cluster_start_s": round(ready - started, 1),
        "replace_transaction_s": round(timed["replace_s"], 1) if timed else None,
        "label_counts": {str(k): int(v) for k, v in labels.items()},
        "worker_peak_rss_mb": sorted(peaks.values()),
        "driver_peak_rss_mb": peak_rss_mb(),
        "database_mb": round(database.stat().st_size / 1024**2) if database.exists() else None,
    }


def child(args, *extra: str) -> dict:
    command = [sys.executable, __file__, "--customers", str(args.customers), "--state", str(args.state)]
    return run_json([*command, *extra], ROOT, timeout=3600)


def measured(args, sizes: list[int], runs: dict, kept: Path | None) -> dict:
    """The raw booster, then ``args.rounds`` runs of each cluster size in ``sizes`` in turn, added to
    ``runs`` (and saved to ``kept`` after each); each run carries the raw booster's rows/s of its
    own invocation and the machine's load when it ended."""
    raw = run_json(
        [sys.executable, str(Path(__file__).parent / "batch_scoring.py"), "--part", "raw", "--rows",
         str(min(RAW_ROWS, args.customers)), "--state", str(args.state)],
        ROOT, timeout=1800,
    )  # fmt: skip
    raw = {"rows": raw["rows"], "1_thread": raw["1_thread"], "all_cores": raw["all_cores"]}
    runs["stages"] = child(args, "--stages", str(1 if args.smoke else STAGE_PARTITIONS))
    print(json.dumps(runs["stages"]), flush=True)
    runs |= {str(size): [] for size in sizes}  # this invocation's runs replace earlier ones of a size
    for _ in range(args.rounds):
        for size in sizes:
            run = child(args, "--workers", str(size))
            run |= {"raw_booster": raw, "load_average_after": [round(x, 2) for x in os.getloadavg()]}
            run["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            runs[str(size)].append(run)
            print(json.dumps(run), flush=True)
            if kept is not None:
                kept.write_text(json.dumps(runs, indent=1))
    return runs


def figure_of(runs: dict, customers: int) -> dict:
    best = {size: min(found, key=lambda run: run["seconds"]) for size, found in runs.items()}
    scaling = best["2"]["rows_per_s"] / best["1"]["rows_per_s"]
    per_core = {
        size: run["rows_per_s_per_worker"] / run["raw_booster"]["1_thread"]["rows_per_s"]
        for size, run in best.items()
    }
    peak = max(max(run["worker_peak_rss_mb"]) for run in best.values())
    rounds = {size: len(found) for size, found in runs.items()}
    return {
        "customers": customers,
        "partition_rows": PARTITION_ROWS,
        "method": f"fastest of {rounds['1']} and {rounds['2']} runs of 1 and 2 workers; per worker "
        "against the raw booster measured in the same invocation",
        "one_worker": best["1"],
        "two_workers": best["2"],
        "runs": runs,
        "raw_booster": best["1"]["raw_booster"],
        "scaling_2_vs_1": round(scaling, 3),
        "per_core_vs_raw_1_thread": {f"{size}_workers": round(x, 3) for size, x in per_core.items()},
        "max_worker_peak_rss_mb": peak,
        "targets": {
            "scaling_ge_1.7": scaling >= 1.7,
            "per_core_ge_0.7_of_raw": min(per_core.values()) >= 0.7,
            "worker_peak_lt_2GB": peak < 2048,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", choices=(1, 2), default=[1, 2],
                        help="cluster sizes measured now; the other size's runs are taken from the last "
                        "invocation's (kept in STATE/dask-bench/runs.json): on a busy machine, one "
                        "invocation per size keeps each under 15 min")  # fmt: skip
    parser.add_argument("--state", type=Path, default=Path("/tmp/andamio-bench/state"))
    parser.add_argument("--smoke", action="store_true", help="20,000 customers, one round, not recorded")
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stages", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        args.customers, args.rounds = 20_000, 1
    os.environ.pop("DASK_SCHEDULER_ADDRESS", None)  # a LocalCluster of the measured size
    workdir, model_dir = args.state / "dask-bench", args.state / "export"
    if args.workers:
        print(json.dumps(one_run(model_dir, workdir, args.customers, args.workers)))
        return
    if args.stages:
        print(json.dumps(stage_costs(model_dir, workdir, args.stages)))
        return

    env, _ = trained_state(args.state)
    helper(env, str(model_dir))
    workdir.mkdir(parents=True, exist_ok=True)
    kept = workdir / "runs.json"
    runs = json.loads(kept.read_text()) if kept.is_file() and not args.smoke else {}
    if runs.get("customers") != args.customers:
        runs = {"customers": args.customers}
    runs = measured(args, sorted(set(args.sizes)), runs, None if args.smoke else kept)
    missing = [size for size in ("1", "2") if size not in runs]
    if missing:
        print(f"runs of {missing} worker(s) still to measure: --sizes {' '.join(missing)}")
        return
    figure = figure_of({size: runs[size] for size in ("1", "2")}, args.customers)
    figure["stages_one_process"] = runs.get("stages")
    print(json.dumps(figure, indent=1))
    if not args.smoke:
        print("wrote", write_result("dask_scoring", figure))


if __name__ == "__main__":
    main()
