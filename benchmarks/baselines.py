"""Figure 7 — the released model against simple baselines on tables that are not ours: two public
data sets that statsmodels ships (no download), run through the project's own selection code with
the shipped configs/training.yaml (its search candidates, cross-validation on small tables, the
primary metric, the quality gates).

For each table, on the project's stratified split: the candidate the search selects (what the
training pipeline would promote), then on the same split and test rows, in the same run, the simple
baseline: a logistic regression with scikit-learn's defaults (after the project's one-hot and
scaling). Goal: the selected model's test ROC AUC ≥ the baseline's − 0.01. Shown for reference, not
as a baseline: LightGBM with the project's default parameters alone (the model the search chose
from before it had a linear candidate).

    python benchmarks/baselines.py [--smoke]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, write_result  # noqa: E402

from ml import names  # noqa: E402
from ml.evaluation import classification_metrics  # noqa: E402
from ml.features import binary_target, feature_columns, infer_schema  # noqa: E402
from ml.promotion import candidates_from, decide  # noqa: E402
from ml.settings import DataSettings, ModelSettings, TrainingSettings, load_settings  # noqa: E402
from ml.training import (  # noqa: E402
    candidate_score,
    candidate_settings,
    predict_proba,
    select_best,
    split_dataset,
    train_model,
)

GOAL = 0.01  # the selected model's ROC AUC may trail the best baseline by at most this


def tables() -> dict[str, tuple[pd.DataFrame, DataSettings]]:
    """Each table as a user's CSV would arrive: a text target, a sensitive column, no id."""
    import statsmodels.api as sm

    fair = sm.datasets.fair.load_pandas().data
    fair = fair.assign(had_affair=(fair.pop("affairs") > 0).map({True: "yes", False: "no"}))
    anes = sm.datasets.anes96.load_pandas().data
    anes = anes.assign(voted_dole=anes.pop("vote").map({1.0: "yes", 0.0: "no"}))
    common = {"positive_label": "yes", "id_column": None, "sensitive_features": ("age",), "source": "csv"}
    return {
        "statsmodels fair (affairs > 0)": (
            fair,
            DataSettings(target_column="had_affair", path="-", **common),
        ),
        "statsmodels anes96 (vote)": (anes, DataSettings(target_column="voted_dole", path="-", **common)),
    }


def measure(frame: pd.DataFrame, data: DataSettings, training: TrainingSettings) -> dict:
    split = split_dataset(frame, data.target_column, training.split, training.seed)
    schema = infer_schema(split.train, feature_columns(split.train, data, training.features), data, "no")
    y_test = binary_target(split.test[data.target_column], data.positive_label)

    def on_test(model) -> dict:
        return classification_metrics(
            y_test, predict_proba(model, split.test, schema), training.decision_threshold
        )

    started = time.perf_counter()
    scores, models, kinds, method = [], [], [], ""
    for overrides in training.search.candidates:
        settings = candidate_settings(training.model, overrides)
        model = train_model(split.train, schema, settings, training.seed)
        metrics, method = candidate_score((split.train, split.validation), schema, settings, training, model)
        scores.append(metrics[training.primary_metric])
        models.append(model)
        kinds.append(settings.kind)
    best = select_best(scores, training.primary_metric)
    search_seconds = time.perf_counter() - started
    selected = on_test(models[best])
    no_fairness = {"violations": []}
    decision = decide(
        candidates_from(selected, no_fairness, None, training.primary_metric),
        training.primary_metric,
        training.promotion,
        None,
    )
    baselines = {
        "logistic regression (scikit-learn defaults)": on_test(
            train_model(
                split.train, schema, ModelSettings(kind="logistic_regression", params={}), training.seed
            )
        ),
    }
    reference = on_test(
        train_model(split.train, schema, ModelSettings(kind="lightgbm", params={}), training.seed)
    )
    best_baseline = max(b[names.ROC_AUC] for b in baselines.values())
    return {
        "rows": len(frame),
        "base_rate": float(binary_target(frame[data.target_column], "yes").mean()),
        "selection": method,
        "candidates": [
            {"kind": k, "overrides": o, f"selection_{training.primary_metric}": s}
            for k, o, s in zip(kinds, training.search.candidates, scores, strict=True)
        ],
        "selected": {"index": best, "kind": kinds[best], **_short(selected)},
        "search_seconds": round(search_seconds, 1),
        "gates": {"stage": decision.stage, "reasons": list(decision.reasons)},
        "baselines": {name: _short(metrics) for name, metrics in baselines.items()},
        "reference": {"LightGBM (project defaults, no search)": _short(reference)},
        "best_baseline_roc_auc": best_baseline,
        "met": selected[names.ROC_AUC] >= best_baseline - GOAL,
    }


def _short(metrics: dict) -> dict:
    return {key: round(metrics[key], 4) for key in (names.ROC_AUC, names.PRECISION, names.RECALL)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="the first table only; nothing recorded")
    args = parser.parse_args()
    training = load_settings(ROOT / "configs/training.yaml", TrainingSettings)
    results = {}
    for name, (frame, data) in tables().items():
        results[name] = measure(frame, data, training)
        r = results[name]
        print(
            f"{name}: {r['rows']} rows, base rate {r['base_rate']:.2f}, {r['selection']}; selected "
            f"{r['selected']['kind']} AUC {r['selected']['roc_auc']:.3f} vs best baseline "
            f"{r['best_baseline_roc_auc']:.3f} -> {'met' if r['met'] else 'MISSED'};"
            f" gates: {r['gates']['stage']}"
        )
        if args.smoke:
            return
    path = write_result(
        "baselines", {"goal": f"selected ROC AUC >= best baseline - {GOAL}", "tables": results}
    )
    print(f"recorded {path}")


if __name__ == "__main__":
    main()
