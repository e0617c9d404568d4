"""Run the benchmark figures and rewrite their results (results/*.json) and the table in
benchmarks/README.md. Each figure compares against its peer measured in the same run.

    .venv/bin/python benchmarks/run_all.py              # all ten (~45 min on 2 cores)
    .venv/bin/python benchmarks/run_all.py --only serving batch_scoring
    .venv/bin/python benchmarks/run_all.py --readme     # only rebuild the table from results/
    .venv/bin/python benchmarks/run_all.py --smoke      # every script in its tiny mode, nothing recorded
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
FIGURES = (
    "serving",
    "batch_scoring",
    "monitoring",
    "pipeline_overhead",
    "cli_help",
    "dask_scoring",
    "baselines",
    "dask_training",
    "scores_write",
    "parquet_lake",
)
SCRIPTS = {
    "serving": "serving.py",
    "batch_scoring": "batch_scoring.py",
    "monitoring": "monitoring_drift.py",
    "pipeline_overhead": "pipeline_overhead.py",
    "cli_help": "cli_help.py",
    "dask_scoring": "dask_scoring.py",
    "baselines": "baselines.py",
    "dask_training": "dask_training.py",
    "scores_write": "scores_write.py",
    "parquet_lake": "parquet_lake.py",
}
TRAINED = (
    "serving",
    "batch_scoring",
    "monitoring",
    "dask_scoring",
    "parquet_lake",
)  # measured on a trained project (--state)


def yes(flag: bool) -> str:
    return "met" if flag else "**missed**"


def grown(r: dict) -> float:
    return r["peak_rss_mb"] - r["rss_before_mb"]


def agrees(flag: bool) -> str:
    return "agrees" if flag else "differs"


def serving_rows(r: dict) -> list[str]:
    rows = []
    for n in (1, 100):
        for c in (1, 10, 50):
            cells = []
            for name in ("bento", "mlflow", "fastapi"):
                run = next(x for x in r["servers"][name]["cells"] if x["rows"] == n and x["concurrency"] == c)
                cells.append(
                    f"{run['requests_per_s']:.0f} req/s, p50 {run['p50_ms']:.1f} / p99 {run['p99_ms']:.1f} ms"
                )
            ratio = r["ratios"][f"{n}row_c{c}"]
            rows.append(
                f"| Serving, {n} row{'s' if n > 1 else ''}, {c} client{'s' if c > 1 else ''} | {cells[0]} | "
                f"mlflow serve: {cells[1]}; FastAPI+joblib: {cells[2]} | "
                f"{ratio['vs_mlflow']:.2f}× mlflow, {ratio['vs_fastapi']:.2f}× FastAPI |"
            )
    call = r["model_call"]
    for n in ("1_rows", "100_rows"):
        c = call[n]
        rows.append(
            f"| Model call on the hot path, {n.replace('_rows', '')} row(s) (in-process median) | "
            f"Bento native path {c['bento_native_us']:.0f} µs | raw booster {c['raw_booster_us']:.0f} µs; "
            f"scikit-learn pipeline (what the peers call) {c['sklearn_pipeline_us']:.0f} µs | "
            f"{c['bento_native_us'] / c['raw_booster_us']:.2f}× raw booster |"
        )
    return rows


def batch_rows(r: dict) -> list[str]:
    e2e, raw = r["end_to_end"], r["raw_booster"]
    stages = ", ".join(f"{k.removesuffix('_s')} {v:.1f} s" for k, v in e2e["stages_s"].items())
    return [
        f"| Batch scoring, {r['customers']:,} customers end to end ({stages}) | "
        f"{e2e['rows_per_s']:,} rows/s ({e2e['seconds']:.1f} s), peak RSS {e2e['peak_rss_mb']:,.0f} MB | "
        f"raw booster batched predict: {raw['1_thread']['rows_per_s']:,} rows/s (1 thread), "
        f"{raw['all_cores']['rows_per_s']:,} rows/s (all cores); peak RSS {raw['peak_rss_mb']:,.0f} MB | "
        f"{r['ratio_vs_raw_1_thread']:.2f}× raw (1 thread){spread(r)}, "
        f"{r['ratio_vs_raw_all_cores']:.2f}× (all cores); "
        f"score stage alone {r['score_stage_ratio_vs_raw_1_thread']:.2f}× |"
    ]


def spread(r: dict) -> str:
    """How a best-of-N ratio was taken, and what the rounds side by side gave."""
    ratios = [x["ratio_vs_raw_1_thread"] for x in r.get("rounds", [])]
    if len(ratios) < 2:
        return ""
    return (
        f", fastest of {len(ratios)} runs each; round by round {min(ratios):.2f}–{max(ratios):.2f}, "
        f"median {r['median_round_ratio_vs_raw_1_thread']:.2f}"
    )


def monitoring_rows(r: dict) -> list[str]:
    s, f, a = r["sampled"], r["full_frame"], r["agreement"]
    return [
        f"| Drift, {r['rows']:,}-row window vs training data (sample_rows {r['sample_rows']:,}) | "
        f"{s['seconds']:.1f} s, peak RSS {s['peak_rss_mb']:,.0f} MB (+{grown(s):,.0f}) | "
        f"Evidently on the full frame: {f['seconds']:.1f} s, peak RSS {f['peak_rss_mb']:,.0f} MB "
        f"(+{grown(f):,.0f}) | {r['speedup']:.0f}× faster; verdicts: "
        f"{a['columns_agreeing']} columns agree, prediction drift {agrees(a['prediction_drift_agrees'])}, "
        f"overall {agrees(a['overall_verdict']['agree'])} (drift share "
        f"{a['drift_share']['sampled']:.2f} vs {a['drift_share']['full']:.2f}) |"
    ]


def overhead_rows(r: dict) -> list[str]:
    phases = ", ".join(f"{k} {v['seconds']:.1f} s" for k, v in r["phases"].items())
    return [
        f"| Pipeline overhead: copier copy → trained, gated, registered, served, stopped | "
        f"{r['total_s']:.0f} s ({phases}) | target ≤ 90 s | {yes(r['target_met'])} |"
    ]


def cli_help_rows(r: dict) -> list[str]:
    c = r["commands"]

    def shown(name: str) -> str:
        return f"{c[name]['median_s']:.2f} s ({c[name]['modules']:,} modules)"

    return [
        f"| CLI start-up: `run.py --help`, median of {r['rounds']} fresh processes | {shown('run_py')} | "
        f"argparse run.py ({r['old_ref']}): {shown('argparse_run_py')}; `zenml --help`: {shown('zenml')}; "
        f"`python -c pass`: {shown('python')} | {r['ratio_argparse_over_click']}× faster than the argparse "
        f"run.py, {r['ratio_zenml_over_click']}× faster than `zenml --help` |"
    ]


def dask_rows(r: dict) -> list[str]:
    one, two, raw = r["one_worker"], r["two_workers"], r["raw_booster"]

    def shown(run: dict) -> str:
        return (
            f"{run['rows_per_s']:,} rows/s ({run['seconds']:.0f} s, of which the one transaction "
            f"{run['replace_transaction_s']:.0f} s), worker peak RSS {max(run['worker_peak_rss_mb']):,.0f} MB"
        )

    per_core = r["per_core_vs_raw_1_thread"]
    cores = raw["all_cores"]["rows_per_s"] / raw["1_thread"]["rows_per_s"]
    return [
        f"| Nightly scoring on Dask, {r['customers']:,} customers end to end (generate, features, score, "
        f"stage, one transaction; {one['partitions']} partitions of {r['partition_rows']:,}) | "
        f"1 worker: {shown(one)}; 2 workers: {shown(two)}; the driver's peak RSS "
        f"{max(one['driver_peak_rss_mb'], two['driver_peak_rss_mb']):,.0f} MB | "
        f"raw booster batched predict, 1 thread: {raw['1_thread']['rows_per_s']:,} rows/s; all cores: "
        f"{raw['all_cores']['rows_per_s']:,} rows/s ({cores:.2f}× one thread: the cores this run had) | "
        f"2 vs 1 worker {r['scaling_2_vs_1']:.2f}×; per worker {per_core['1_workers']:.2f}× (1) and "
        f"{per_core['2_workers']:.2f}× (2) the raw booster's rows/s{ceiling(r.get('stages_one_process'))} |"
    ]


def dask_training_rows(r: dict) -> list[str]:
    dask, pandas = r["dask"], r["pandas"]
    d, p = dask["seconds"], pandas["seconds"]
    workers = ", ".join(f"{w:,.0f}" for w in dask["worker_peak_rss_mb"])
    return [
        f"| Training on Dask, {r['customers']:,} customers as {r['files']} Parquet files: read and split "
        f"on {dask['workers']} workers, LightGBM (lightgbm.dask) fitted on every train row "
        f"({dask['fitted_rows']:,}; the first tree on {dask['first_tree_rows']:,}: bagging 0.8), "
        f"{dask['holdout_rows']:,}-row samples of each split back | {dask['total_s']:.0f} s (read and "
        f"split {d['read_and_split']:.0f}, fit {d['fit']:.0f}{keys_part(dask)}); the driver's peak RSS "
        f"{dask['driver_peak_rss_mb']:,.0f} MB, workers' {workers} MB; "
        f"test ROC AUC {dask['roc_auc']:.4f} ({dask['test_rows']:,} rows) | `engine: pandas`, the table "
        f"in one process: {pandas['total_s']:.0f} s (read {p['read']:.0f}, split {p['split']:.0f}, fit "
        f"{p['fit']:.0f}) on {pandas['fitted_rows']:,} train rows; peak RSS "
        f"{pandas['driver_peak_rss_mb']:,.0f} MB; test ROC AUC {pandas['roc_auc']:.4f} "
        f"({pandas['test_rows']:,} rows) | the driver's peak {r['driver_peak_dask_vs_pandas']:.2f}× the "
        f"pandas process's; time {r['time_dask_vs_pandas']:.2f}×; ROC AUC {r['roc_auc_gap']:+.4f} |"
    ]


def rate(run: dict) -> str:
    return f"{run['rows_per_s']:,} rows/s ({run['seconds']:.1f} s)"


def scores_write_rows(r: dict) -> list[str]:
    pg, lite, speedup = r["postgresql"], r["sqlite"], r["speedup_vs"]
    dask = r["dask_postgresql"]
    best, ratio = dask["best"], dask["time_as_staged_vs_after"]
    same = "the same rows every way" if r["same_rows_every_way"] else "**the rows differ between ways**"
    labels = "the same labels both ways" if dask["same_rows_both_ways"] else "**the labels differ**"
    return [
        f"| Writing the scores table, {r['rows']:,} rows, PostgreSQL | `write_scores` (psycopg binary "
        f"COPY in the date's transaction): {rate(pg['write_scores'])}; staged in partitions of "
        f"{r['partition_rows']:,} then one transaction: {rate(pg['staged'])}; SQLite: "
        f"{rate(lite['write_scores'])} and {rate(lite['staged'])} staged | psycopg executemany (the "
        f"call before): {rate(pg['executemany'])}; pandas `to_sql`: {rate(pg['pandas_to_sql'])}; "
        f"SQLAlchemy Core executemany: {rate(pg['sqlalchemy_core_executemany'])} | "
        f"{speedup['executemany']:.1f}× executemany, {speedup['pandas_to_sql']:.1f}× pandas, "
        f"{speedup['sqlalchemy_core_executemany']:.1f}× Core; {same} |",
        f"| Nightly scoring on Dask into PostgreSQL, {dask['customers']:,} customers | each partition "
        f"moved as it finishes, in the date's one transaction: 1 worker {rate(best['1_as_staged'])}, "
        f"2 workers {rate(best['2_as_staged'])} | moved after the last partition is staged (SQLite's "
        f"way, and PostgreSQL's before): 1 worker {rate(best['1_after_staging'])}, 2 workers "
        f"{rate(best['2_after_staging'])} | time {ratio['1_workers']:.2f}× (1 worker), "
        f"{ratio['2_workers']:.2f}× (2 workers); {labels} |",
    ]


def parquet_lake_rows(r: dict) -> list[str]:
    together, alone = r["best"]["together"], r["best"]["one_file_each"]
    same = "the same rows both ways" if r["same_rows_both_ways"] else "**the rows differ**"
    return [
        f"| Nightly scoring on Dask from {r['days']} daily Parquet files of {r['rows_per_day']:,} customers "
        f"({r['customers']:,}), 2 workers | neighbouring files read together: {together['partitions']} "
        f"partition(s), {rate(together)} | a partition per file (the call before): {alone['partitions']} "
        f"partitions, {rate(alone)} | time {r['time_together_vs_one_file_each']:.2f}×; {same} |"
    ]


def keys_part(dask: dict) -> str:
    """The keys of every train row read again on the cluster (recorded since monitoring needs them)."""
    if "train_row_keys" not in dask["seconds"]:
        return ""
    return f", keys of the {dask['train_row_keys']:,} train rows {dask['seconds']['train_row_keys']:.0f}"


def ceiling(stages: dict | None) -> str:
    """The stages of one partition timed one by one in one process (no Dask): what they allow."""
    if not stages:
        return ""
    s = stages["median_s"]
    return (
        f"; the same stages of one {stages['partition_rows']:,}-customer partition in one process, no "
        f"Dask (median of {stages['partitions']}): generate {s['generate']:.2f} s, features "
        f"{s['features']:.2f}, score {s['score']:.2f} (the trees alone {s['trees']:.2f}), "
        f"staged write {s['stage']:.2f}, summary {s['summary']:.2f}, share of the one transaction "
        f"{s['transaction_share']:.2f}: {stages['total_s']:.2f} s, of which the trees "
        f"{stages['ceiling_vs_trees']:.2f} (the most a worker with no overhead could reach)"
    )


def baselines_rows(r: dict) -> list[str]:
    rows = []
    for name, t in r["tables"].items():
        (baseline, b), (reference, ref) = (
            next(iter(t["baselines"].items())),
            next(iter(t["reference"].items())),
        )
        chosen = t["selected"]
        figure = (
            f"Released model vs a simple baseline: {name}, {t['rows']:,} rows, base rate {t['base_rate']:.2f}"
        )
        ours = (
            f"selected {chosen['kind']}: ROC AUC {chosen['roc_auc']:.3f}, precision {chosen['precision']:.3f}"
        )
        peer = f"{baseline}: ROC AUC {b['roc_auc']:.3f}, precision {b['precision']:.3f}"
        seen = f"for reference, {reference}: ROC AUC {ref['roc_auc']:.3f}"
        gap = f"AUC {chosen['roc_auc'] - b['roc_auc']:+.3f} vs baseline: {yes(t['met'])}"
        rows.append(
            f"| {figure} ({t['selection']}) | {ours}; gates: {t['gates']['stage']} | {peer}; {seen} | {gap} |"
        )
    return rows


def targets(results: dict) -> list[str]:
    lines = []
    if "serving" in results and "targets" in results["serving"]:
        t = results["serving"]["targets"]
        one = next(
            x
            for x in results["serving"]["servers"]["bento"]["cells"]
            if x["rows"] == 1 and x["concurrency"] == 1
        )
        lines += [
            f"- Serving 1-row p50 ≤ 3 ms, 1 client: {yes(t['single_row_p50_le_3ms'])} ({one['p50_ms']} ms)",
            f"- Serving 1-row p99 ≤ 10 ms, 1 client: {yes(t['single_row_p99_le_10ms'])} ({one['p99_ms']} ms)",
            f"- Serving req/s at 10 and 50 clients ≥ 1.5× mlflow: {yes(t['rps_c10_c50_ge_1.5x_mlflow'])}",
            f"- Serving req/s at 10 and 50 clients ≥ 1.0× FastAPI: {yes(t['rps_c10_c50_ge_1.0x_fastapi'])}",
        ]
    if "batch_scoring" in results:
        r = results["batch_scoring"]
        lines.append(
            f"- Batch scoring ≥ 50% of the raw booster's rows/s (1 thread, as the model is trained): "
            f"{yes(r['target_ge_0.5_of_raw'])} ({r['ratio_vs_raw_1_thread']:.0%})"
        )
    if "pipeline_overhead" in results:
        r = results["pipeline_overhead"]
        lines.append(f"- copier copy → served ≤ 90 s: {yes(r['target_met'])} ({r['total_s']:.0f} s)")
    if "cli_help" in results:
        r = results["cli_help"]
        seconds = r["commands"]["run_py"]["median_s"]
        lines.append(f"- `run.py --help` < {r['target_s']} s: {yes(r['target_met'])} ({seconds:.2f} s)")
    if "dask_scoring" in results:
        r = results["dask_scoring"]
        t, per_core = r["targets"], r["per_core_vs_raw_1_thread"]
        lines += [
            f"- Dask, 2 workers vs 1 ≥ 1.7× on 2 cores: {yes(t['scaling_ge_1.7'])} "
            f"({r['scaling_2_vs_1']:.2f}×)",
            f"- Dask, rows/s per worker ≥ 0.7 of the raw booster's (1 thread): "
            f"{yes(t['per_core_ge_0.7_of_raw'])} ({per_core['1_workers']:.2f} with 1, "
            f"{per_core['2_workers']:.2f} with 2)",
            f"- Dask, peak memory per worker < 2 GB at {r['customers']:,} customers: "
            f"{yes(t['worker_peak_lt_2GB'])} ({r['max_worker_peak_rss_mb']:,.0f} MB)",
        ]
    if "baselines" in results:
        met = all(t["met"] for t in results["baselines"]["tables"].values())
        lines.append(
            f"- Released model's ROC AUC ≥ a logistic regression's − 0.01 on two public tables: {yes(met)}"
        )
    return lines


def table(results: dict) -> str:
    machine = next(iter(results.values()))["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB RAM, "
        f"{machine['os']}, Python {machine['python']}.  ",
        f"Versions: {versions}.",
        "",
        "| Figure | Andamio | Peer (same run, same machine) | Ratio |",
        "|---|---|---|---|",
    ]
    makers = {
        "serving": serving_rows,
        "batch_scoring": batch_rows,
        "monitoring": monitoring_rows,
        "pipeline_overhead": overhead_rows,
        "cli_help": cli_help_rows,
        "dask_scoring": dask_rows,
        "baselines": baselines_rows,
        "dask_training": dask_training_rows,
        "scores_write": scores_write_rows,
        "parquet_lake": parquet_lake_rows,
    }
    for name in FIGURES:
        if name in results:
            lines += makers[name](results[name])
    lines += ["", "Targets:", *targets(results), "", "Measured:"]
    for name in FIGURES:
        if name in results:
            r = results[name]
            other = f" (on {r['machine']['cpu']})" if r["machine"]["cpu"] != machine["cpu"] else ""
            lines.append(
                f"- {name}: {r['measured_at']}, `{r['command']}`{other}, machine load average (1/5/15 min) "
                f"when recorded {r['machine']['load_average_at_end']}"
            )
    return "\n".join(lines)


def render_readme() -> None:
    results = {
        name: json.loads((RESULTS / f"{name}.json").read_text())
        for name in FIGURES
        if (RESULTS / f"{name}.json").is_file()
    }
    if not results:
        raise SystemExit(f"no results in {RESULTS}: run the benchmarks first")
    text = README.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    README.write_text(f"{head}{START}\n{table(results)}\n{END}{tail}")
    print(f"rewrote the table in {README}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=FIGURES, default=list(FIGURES))
    parser.add_argument("--readme", action="store_true", help="only rebuild the README table")
    parser.add_argument("--smoke", action="store_true", help="tiny runs, nothing recorded")
    parser.add_argument("--state", help="where the trained project lives (figures 1-3)")
    args = parser.parse_args()
    if not args.readme:
        for name in args.only:
            print(f"== {name}", flush=True)
            command = [sys.executable, str(HERE / SCRIPTS[name]), *(["--smoke"] if args.smoke else [])]
            if args.state and name in TRAINED:  # figure 4 renders and trains its own, 5 needs none
                command += ["--state", args.state]
            subprocess.run(command, check=True)
    if not args.smoke:
        render_readme()


if __name__ == "__main__":
    main()
