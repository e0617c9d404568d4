"""Figure 3 — monitoring: drift of a 1M-row window against the production model's training data
with ml.monitoring.detect_drift at the configured sample_rows (configs/monitoring.yaml) vs the same
Evidently report on the full frames: time, peak memory, and agreement of the drift verdicts (per
column and overall). Each side runs in its own process (its own peak memory).

    python benchmarks/monitoring_drift.py [--rows 1000000] [--drift 0.15] [--smoke] [--state DIR]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    ROOT,
    helper,
    peak_rss_mb_since_reset,
    reset_peak_rss,
    rss_mb,
    run_json,
    trained_state,
    write_result,
)

PREDICTION = "prediction"  # as steps/monitor.py names it


def frames(model_dir: Path, rows: int, drift: float):
    """Reference: the project's demo training data; current: ``rows`` customers of a day with the
    scoring drift knob; both with the release's predicted probability, as steps/monitor.py does."""
    import joblib

    from ml.data.demo import generate_demo
    from ml.evaluation import release_decisions
    from ml.features import FeatureSchema, build_customer_features

    release = joblib.load(model_dir / "model.joblib")
    schema = FeatureSchema.from_dict(json.loads((model_dir / "schema.json").read_text()))
    out = {}
    for name, tables, anchor in (
        ("reference", generate_demo(), None),
        (
            "current",
            generate_demo(customers=rows, seed=99, drift=drift, as_of=date(2026, 11, 1)),
            date(2026, 11, 1),
        ),
    ):
        frame = build_customer_features(tables.customers, tables.sales, anchor)
        _, proba = release_decisions(release, frame, schema, 0.5)
        out[name] = frame[schema.names].assign(**{PREDICTION: proba})
    return out["reference"], out["current"], schema


def measure(model_dir: Path, rows: int, drift: float, sample_rows: int) -> dict:
    from ml.monitoring import detect_drift

    reference, current, schema = frames(model_dir, rows, drift)
    gc.collect()
    before = rss_mb()
    if not reset_peak_rss():
        raise RuntimeError(
            "cannot reset the peak RSS (/proc/self/clear_refs): the memory figure would be wrong"
        )
    started = time.perf_counter()
    result = detect_drift(
        reference,
        current,
        schema.numeric,
        schema.categorical,
        prediction=PREDICTION,
        sample_rows=sample_rows,
        seed=0,
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mb_since_reset(),
        "reference_rows": len(reference),
        "current_rows": len(current),
        "cells_compared": result.sample["sampled_current"] * (len(schema.names) + 1),
        "sample": result.sample,
        "drift_share": result.drift_share,
        "columns": {
            c: {"drifted": s["drifted"], "score": s["score"], "method": s["method"]}
            for c, s in result.column_scores.items()
        },
        "prediction_drift": {k: result.prediction_drift[k] for k in ("drifted", "score", "method")},
    }


def child(mode: str, args, sample_rows: int) -> dict:
    command = [
        sys.executable,
        __file__,
        "--part",
        str(sample_rows),
        "--rows",
        str(args.rows),
        "--drift",
        str(args.drift),
        "--state",
        str(args.state),
    ]
    return run_json(command, ROOT, timeout=3600)


def agreement(sampled: dict, full: dict, threshold: float) -> dict:
    columns = sorted(full["columns"])
    same = [c for c in columns if sampled["columns"][c]["drifted"] == full["columns"][c]["drifted"]]
    breach = {name: r["drift_share"] > threshold for name, r in (("sampled", sampled), ("full", full))}
    return {
        "columns_agreeing": f"{len(same)}/{len(columns)}",
        "disagreeing_columns": [c for c in columns if c not in same],
        "prediction_drift_agrees": sampled["prediction_drift"]["drifted"]
        == full["prediction_drift"]["drifted"],
        "drift_share": {"sampled": sampled["drift_share"], "full": full["drift_share"]},
        "overall_verdict": {
            "drift_share_threshold": threshold,
            **breach,
            "agree": breach["sampled"] == breach["full"],
        },
        "max_score_difference": round(
            max(
                abs((sampled["columns"][c]["score"] or 0) - (full["columns"][c]["score"] or 0))
                for c in columns
            ),
            4,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--drift", type=float, default=0.15, help="the demo generator's drift knob")
    parser.add_argument("--state", type=Path, default=Path("/tmp/andamio-bench/state"))
    parser.add_argument("--smoke", action="store_true", help="5,000 rows, results not recorded")
    parser.add_argument("--part", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        args.rows = 5_000
    model_dir = args.state / "export"
    if args.part:
        print(json.dumps(measure(model_dir, args.rows, args.drift, args.part)))
        return

    import yaml

    monitoring = yaml.safe_load((ROOT / "configs/monitoring.yaml").read_text())
    sample_rows = int(monitoring["sample_rows"]) if not args.smoke else 1_000
    env, _ = trained_state(args.state)
    helper(env, str(model_dir))
    sampled = child("sampled", args, sample_rows)
    full = child("full", args, args.rows)
    figure = {
        "rows": args.rows,
        "drift_knob": args.drift,
        "sample_rows": sample_rows,
        "sampled": sampled,
        "full_frame": full,
        "speedup": round(full["seconds"] / sampled["seconds"], 1),
        "memory_ratio": round(
            (full["peak_rss_mb"] - full["rss_before_mb"])
            / max(sampled["peak_rss_mb"] - sampled["rss_before_mb"], 1),
            1,
        ),
        "agreement": agreement(sampled, full, monitoring["thresholds"]["drift_share"]),
    }
    print(json.dumps({k: figure[k] for k in ("speedup", "memory_ratio", "agreement")}, indent=1))
    if not args.smoke:
        print("wrote", write_result("monitoring", figure))


if __name__ == "__main__":
    main()
