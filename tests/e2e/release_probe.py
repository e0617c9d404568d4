"""Print, as JSON, what the production release decides on the rows the tests compare.

Run in a subprocess with the test's ZENML_CONFIG_PATH (``python -m tests.e2e.release_probe MODEL``):
the release's record; its decisions on its own test split, with the confusion matrix the training
pipeline recorded for the released candidate; its decisions on the newest scoring run's dataset and
the newest monitoring run's quality figures (when those pipelines have run). The rows come as JSON
records of the columns the served API takes, so the test can replay them against a real server.
With a second argument (a JSON file of records), it prints the release's probabilities for them.
"""

import json
import sys

from zenml.client import Client

from ml import names
from ml.evaluation import classification_metrics
from ml.features import binary_target
from registry.release import production_release


def _rows(release, frame) -> dict:
    decisions, proba = release.decisions(frame)
    truth = (
        binary_target(frame[release.schema.target_column], release.schema.positive_label).tolist()
        if release.schema.target_column in frame
        else None
    )
    return {
        "records": json.loads(frame[release.input_columns].to_json(orient="records", double_precision=15)),
        "proba": proba.tolist(),
        "decisions": [int(d) for d in decisions],
        "truth": truth,
    }


def _newest_output(pipeline: str, step: str, name: str):
    """The newest run's output, or None when the pipeline has not run."""
    try:
        run = Client().get_pipeline(pipeline).last_run
    except KeyError:
        return None
    return run.steps[step].outputs[name][0].load()


def main(model_name: str) -> None:
    release = production_release(model_name)
    test = release.artifact(names.DATASET_TEST)
    recorded = release.version.run_metadata
    mitigated = release.record["artifact"] == names.MITIGATED_MODEL
    evaluation = recorded[names.MITIGATED_EVALUATION]["metrics"] if mitigated else recorded[names.METRICS]
    rows = _rows(release, test)
    recomputed = classification_metrics(rows["truth"], rows["proba"], release.threshold, rows["decisions"])
    out = {
        "record": release.record,
        "schema": release.schema.to_dict(),
        "recorded_confusion_matrix": evaluation[names.CONFUSION_MATRIX],
        "trained_metrics": recorded[names.METRICS],  # the plain model's, mitigated or not
        "fairness": recorded[names.FAIRNESS],  # the plain model's fairness record
        "served_fairness": recorded[names.MITIGATED_EVALUATION][names.FAIRNESS] if mitigated else None,
        "search_results": recorded[names.SEARCH_RESULTS],
        # the served model's primary metric, on its test split
        "released_value": evaluation[release.primary_metric],
        "recomputed_confusion_matrix": recomputed[names.CONFUSION_MATRIX],
        "test": rows,
        # each test row's rule (bands of the probability, the share decided positive), and for a
        # fairness-mitigated release each group's rule and each test row's group
        "bands": release.decision_bands(test),
        "group_rules": release.model.group_rules() if hasattr(release.model, "group_rules") else None,
        "groups": release.model.groups_of(test).tolist() if hasattr(release.model, "groups_of") else None,
    }
    scoring = _newest_output("scoring_pipeline", "load_current", names.SCORING_DATASET)
    if scoring is not None:
        out["scoring"] = _rows(release, scoring)
        id_column = release.schema.id_column
        out["scoring"]["ids"] = (scoring[id_column] if id_column else scoring.index.to_series()).tolist()
    drift = _newest_output("monitoring_pipeline", "check_drift", names.DRIFT)
    out["monitoring"] = drift.get("quality") if drift is not None else None
    out["monitoring_decision"] = _newest_output("monitoring_pipeline", "alert", names.MONITORING_DECISION)
    print(json.dumps(out, default=str))


def score_records(model_name: str, path: str) -> None:
    """The production release's probabilities for the JSON records in ``path``."""
    from pathlib import Path

    import pandas as pd

    release = production_release(model_name)
    frame = pd.DataFrame(json.loads(Path(path).read_text(encoding="utf-8")))
    print(json.dumps(release.decisions(frame)[1].tolist()))


if __name__ == "__main__":
    if len(sys.argv) > 2:  # MODEL RECORDS.json: score those records
        score_records(sys.argv[1], sys.argv[2])
    else:
        main(sys.argv[1])
