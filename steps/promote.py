"""The promotion gate: quality floor, fairness, then the current production on the same data."""

import getpass
from dataclasses import replace
from typing import Annotated, Any

import mlflow
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.pipeline import Pipeline
from zenml import get_step_context, log_metadata, step

from ml import names
from ml.alerts import audit
from ml.evaluation import classification_metrics, release_decisions
from ml.features import FeatureSchema, binary_target
from ml.promotion import Candidate, decide
from ml.settings import TrainingSettings
from registry import models as registry
from steps._context import inherit_cached_metadata, state_dir
from steps.mlflow_logging import log_sklearn_model


def _metric_on(release: Any, schema: FeatureSchema, frame: pd.DataFrame, training: TrainingSettings) -> float:
    y_true = binary_target(frame[schema.target_column], schema.positive_label)
    y_pred, proba = release_decisions(release, frame, schema, training.decision_threshold)
    return classification_metrics(y_true, proba, training.decision_threshold, y_pred=y_pred)[
        training.primary_metric
    ]


@step(enable_cache=False, experiment_tracker=True)  # depends on the registry's state: never cached
def promote(
    model: Pipeline,
    feature_schema: dict,
    metrics: dict,
    fairness: dict,
    dataset_test: pd.DataFrame,
    training: TrainingSettings,
    mitigated_model: ClassifierMixin | None = None,
    mitigated_evaluation: dict | None = None,
    code_reference: dict | None = None,
) -> Annotated[dict, names.PROMOTION_DECISION]:
    inherit_cached_metadata()  # a run resumed from the cache: its version gets the cached steps' metadata
    metric = training.primary_metric
    candidates = [Candidate(names.MODEL, metrics[metric], tuple(fairness["violations"]))]
    if mitigated_evaluation and mitigated_evaluation.get("available"):
        candidates.append(
            Candidate(
                names.MITIGATED_MODEL,
                mitigated_evaluation["metrics"][metric],
                tuple(mitigated_evaluation[names.FAIRNESS]["violations"]),
            )
        )
    this = get_step_context().model
    production = registry.production_version(this.name)
    production_metric, note = None, None
    if production is not None:
        try:
            release, schema = registry.load_release(production)
            production_metric = _metric_on(release, schema, dataset_test, training)
        except Exception as exc:  # a production model that cannot score today's data is not a yardstick
            note = f"production version {production.name} could not score this data: {exc}"
    decision = decide(
        candidates, metric, training.promotion, production_metric, production.name if production else None
    )
    if note:  # without a yardstick a candidate may reach staging, never production
        stage = "staging" if decision.stage == "production" else decision.stage
        decision = replace(decision, stage=stage, reasons=(*decision.reasons, note))
    record = {**decision.to_dict(), "production_metric_on_this_data": production_metric}
    if decision.candidate is not None:
        releases = {names.MODEL: model, names.MITIGATED_MODEL: mitigated_model}
        uri = this.run_metadata.get("mlflow_model_uri")
        if decision.candidate == names.MITIGATED_MODEL:
            uri = log_sklearn_model(
                releases[decision.candidate], dataset_test.head(5), name="mitigated_model"
            )
        mlflow_version = registry.register_in_mlflow(this.name, uri, decision.summary()) if uri else None
        log_metadata(
            {registry.RELEASE_ARTIFACT: decision.candidate, registry.MLFLOW_VERSION: mlflow_version},
            infer_model=True,
        )
        registry.set_stage(this.name, str(this.version), decision.stage, decision.summary())
    log_metadata({names.PROMOTION_DECISION: record, "code_reference": code_reference or {}}, infer_model=True)
    audit(
        state_dir() / names.AUDIT_LOG,
        getpass.getuser(),
        f"promotion: {decision.stage}",
        decision.summary(),
        {"model": this.name, "version": str(this.version)},
    )
    mlflow.set_tag("promotion", decision.stage)
    print(f"Promotion decision for {this.name} version {this.version}: {decision.summary()}")
    return record
