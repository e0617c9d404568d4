"""Figure 8 — training on Dask: N customers (default 5M) of demo features written as a Parquet
dataset (one file per 100,000 customers, written a file at a time), then trained on by each engine
in its own process, each fitting the shipped default LightGBM (configs/training.yaml's
`model`, n_jobs 1):

- `engine: dask` (adapters/dask_training.py): the table read and split on a LocalCluster of 2
  single-threaded workers (`split_on_cluster`), the preprocessing fitted on the train sample that
  comes back, lightgbm.dask fitting every train row on the workers (`train_model` with the
  engine's fit hook), then the table read again for the keys of every train row that monitoring's
  seen_in_training reads (`train_keys_on_cluster`);
- the peer, `engine: pandas` (steps load_data → split_data → train_candidate's functions): the
  whole table read into the process, split (stratified) and fitted there.

Recorded: wall time of each stage, the driver's peak RSS (the step's process: for Dask it never
holds the table, only `training.dask.holdout_rows` rows of each split), each worker's peak RSS, the
rows each model was fitted on and its ROC AUC on its own test split (dask: the seeded test
holdout). No target in the issue; the figure shows where the table's memory goes.

    python benchmarks/dask_training.py [--customers 5000000] [--smoke] [--workdir DIR]
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

from common import ROOT, peak_rss_mb, run_json, write_result  # noqa: E402

AS_OF = date(2026, 3, 1)
FILE_ROWS = 100_000  # customers per Parquet file (= training.dask.partition_rows: one file, one partition)
SEED = 7


def write_table(folder: Path, customers: int) -> int:
    """The demo's features of ``customers`` customers, a file per FILE_ROWS: never all in memory."""
    from ml.data.demo import generate_demo
    from ml.features import build_customer_features

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    for index, start in enumerate(range(0, customers, FILE_ROWS)):
        n = min(FILE_ROWS, customers - start)
        tables = generate_demo(customers=n, seed=SEED + index, as_of=AS_OF, first_id=start + 1)
        frame = build_customer_features(tables.customers, tables.sales, AS_OF)
        frame.to_parquet(folder / f"{index:05d}.parquet", index=False)
    return index + 1


def settings(folder: Path, engine: str, workers: int):
    from ml import names
    from ml.settings import DataSettings, TrainingSettings, load_settings

    data = DataSettings(source="parquet", path=str(folder), target_column=names.TARGET,
                        positive_label=names.GOOD, id_column=names.ID,
                        sensitive_features=["gender", "age"])  # fmt: skip
    shipped = load_settings(ROOT / "configs/training.yaml", TrainingSettings)
    training = shipped.model_copy(
        update={
            "engine": engine,
            "dask": shipped.dask.model_copy(update={"workers": workers, "partition_rows": FILE_ROWS}),
        }
    )
    return data, training


def worker_peak_rss_mb() -> float:
    """On a worker: its process's peak resident set size."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def schema_of(train, data, training, facts=None):
    from ml.data.validation import validate_training_table
    from ml.features import feature_columns, infer_schema

    negative = validate_training_table(train, data)
    return infer_schema(train, feature_columns(train, data, training.features), data, negative, facts=facts)


def auc_of(model, test, schema) -> float:
    from sklearn.metrics import roc_auc_score

    from ml.features import binary_target
    from ml.training import predict_proba

    y = binary_target(test[schema.target_column], schema.positive_label)
    return round(float(roc_auc_score(y, predict_proba(model, test, schema))), 4)


def on_dask(folder: Path, workers: int) -> dict:
    """The split and the fit on one LocalCluster, reached by its address (training.dask.
    scheduler_address), as a team's cluster would be: both steps' work, then each worker's peak."""
    from distributed import Client, LocalCluster

    from adapters.dask_cluster import dask_client
    from adapters.dask_training import estimator_fit, split_on_cluster, train_keys_on_cluster
    from ml.training import train_model

    data, training = settings(folder, "dask", workers)
    seconds = {}
    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None) as cluster:
        training = training.model_copy(
            update={"dask": training.dask.model_copy(update={"scheduler_address": cluster.scheduler_address})}
        )
        start = time.perf_counter()
        with dask_client(training.dask, "training.dask") as client:
            split = split_on_cluster(client, data, training, ROOT)
        seconds["read_and_split"] = round(time.perf_counter() - start, 2)
        schema = schema_of(split.train, data, training, split.facts)  # as build_schema: every row's facts
        start = time.perf_counter()
        with estimator_fit(training, data, schema, ROOT) as fit:
            model = train_model(split.train, schema, training.model, training.seed, fit=fit)
        seconds["fit"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        with dask_client(training.dask, "training.dask") as client:
            keys = train_keys_on_cluster(client, data, training, schema, ROOT)
        seconds["train_row_keys"] = round(time.perf_counter() - start, 2)
        with Client(cluster) as client:
            workers_peak = sorted(client.run(worker_peak_rss_mb).values())
    rows = {name: sum(by_class.values()) for name, by_class in split.rows.items()}
    return {
        "engine": "dask",
        "workers": workers,
        "seconds": seconds,
        "total_s": round(sum(seconds.values()), 2),
        "rows": rows,
        "fitted_rows": rows["train"],
        "train_row_keys": len(keys),
        "first_tree_rows": model[-1].booster_.dump_model()["tree_info"][0]["tree_structure"][
            "internal_count"
        ],
        "holdout_rows": training.dask.holdout_rows,
        "test_rows": len(split.test),
        "roc_auc": auc_of(model, split.test, schema),
        "driver_peak_rss_mb": peak_rss_mb(),
        "worker_peak_rss_mb": workers_peak,
    }


def in_one_process(folder: Path) -> dict:
    import pandas as pd

    from ml.data.validation import as_declared
    from ml.training import split_dataset, train_model

    data, training = settings(folder, "pandas", 1)
    seconds = {}
    start = time.perf_counter()
    table = as_declared(pd.read_parquet(folder), data)
    seconds["read"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    split = split_dataset(table, data.target_column, training.split, training.seed)
    seconds["split"] = round(time.perf_counter() - start, 2)
    schema = schema_of(split.train, data, training)
    start = time.perf_counter()
    model = train_model(split.train, schema, training.model, training.seed)
    seconds["fit"] = round(time.perf_counter() - start, 2)
    return {
        "engine": "pandas",
        "seconds": seconds,
        "total_s": round(sum(seconds.values()), 2),
        "rows": {"train": len(split.train), "validation": len(split.validation), "test": len(split.test)},
        "fitted_rows": len(split.train),
        "test_rows": len(split.test),
        "roc_auc": auc_of(model, split.test, schema),
        "driver_peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/andamio-bench/dask-training"))
    parser.add_argument("--smoke", action="store_true", help="20,000 customers, not recorded")
    parser.add_argument("--side", choices=("dask", "pandas"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        args.customers = 20_000
    folder = args.workdir / "customers"
    os.environ.pop("DASK_SCHEDULER_ADDRESS", None)  # a LocalCluster of 2
    if args.side:  # one side, in its own process: its peak RSS is its own
        print(json.dumps(on_dask(folder, 2) if args.side == "dask" else in_one_process(folder)))
        return
    start = time.perf_counter()
    files = write_table(folder, args.customers)
    written = round(time.perf_counter() - start, 1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = [sys.executable, str(Path(__file__).resolve()), "--workdir", str(args.workdir)]
    sides = {side: run_json([*script, "--side", side], ROOT, env) for side in ("dask", "pandas")}
    dask, pandas = sides["dask"], sides["pandas"]
    figure = {
        "customers": args.customers,
        "files": files,
        "table_written_s": written,
        "table_mb_on_disk": round(sum(p.stat().st_size for p in folder.glob("*.parquet")) / 2**20, 1),
        "dask": dask,
        "pandas": pandas,
        "driver_peak_dask_vs_pandas": round(dask["driver_peak_rss_mb"] / pandas["driver_peak_rss_mb"], 3),
        "time_dask_vs_pandas": round(dask["total_s"] / pandas["total_s"], 3),
        "roc_auc_gap": round(dask["roc_auc"] - pandas["roc_auc"], 4),
    }
    print(json.dumps(figure, indent=1))
    if not args.smoke:
        print("wrote", write_result("dask_training", figure))


if __name__ == "__main__":
    main()
