"""The promotion gate: quality floor, fairness, then the current production on the same data."""

import getpass
from dataclasses import replace
from typing import Annotated

import mlflow
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from zenml import get_step_context, log_metadata, step

from adapters.records import audit
from ml import names
from ml.evaluation import classification_metrics
from ml.features import binary_target
from ml.monitoring import key_columns, seen_in
from ml.promotion import Candidate, candidates_from, decide, with_mitigation_note
from ml.settings import TrainingSettings
from ml.training import model_kind
from registry import models as registry
from registry.models import RegistryError
from registry.release import Release, release_of, release_record
from steps._context import inherit_cached_metadata, state
from steps.mlflow_logging import log_sklearn_model


def _metric_on(release: Release, frame: pd.DataFrame, metric: str) -> float:
    """``metric`` of a release on ``frame``, deciding as it is served (its own threshold)."""
    y_true = binary_target(frame[release.schema.target_column], release.schema.positive_label)
    y_pred, proba = release.decisions(frame)
    return classification_metrics(y_true, proba, release.threshold, y_pred=y_pred)[metric]


def yardstick(
    production, frame: pd.DataFrame, metric: str
) -> tuple[float | None, str | None, str | None, str | None]:
    """(production's ``metric`` on ``frame``, why it could not be measured, why production does not
    count, how many of ``frame``'s rows it was trained on). A production version without a release
    (promoted before releases were recorded) is served by no consumer, so a candidate is judged on
    the gates alone; one that cannot score this data is no yardstick (the candidate may reach
    staging, never production)."""
    if production is None:
        return None, None, None, None
    try:
        release = release_of(production)
    except RegistryError as exc:
        return None, None, f"{exc}; the candidate is judged on the gates alone", None
    try:
        measured = _metric_on(release, frame, metric)
    except Exception as exc:  # a production model that cannot score today's data is not a yardstick
        text = f"{type(exc).__name__}: {exc}"
        return None, f"production version {production.name} could not score this data ({text})", None, None
    return measured, None, None, trained_on(release, frame)


def trained_on(release: Release, frame: pd.DataFrame) -> str | None:
    """How many of the evaluation rows ``release`` was trained on (its inputs, as monitoring keys
    them), said with the comparison: a grown table or another engine's split moves rows from one
    split to another, and production's figure on those rows is in-sample."""
    columns = key_columns(release.schema)
    if any(column not in frame for column in columns):
        return None
    seen = int(seen_in(frame, release.training_row_keys(), columns).sum())
    if not seen:
        return None
    return (
        f"production version {release.number} was trained on {seen} of these {len(frame)} evaluation rows "
        "(a grown table or another engine's split moves rows between splits): its figure is in-sample "
        "on them, so a candidate trails it more easily"
    )


def _release(
    candidate: str, metric: float, training: TrainingSettings, evaluation: dict | None, code: dict, kind: str
):
    """The release entry of this step's model version for ``candidate`` (registry/release.py)."""
    context = get_step_context()
    this, inputs = context.model, context.inputs
    mitigation = {"method": "none"}
    if candidate == names.MITIGATED_MODEL:
        mitigation = {
            "method": training.fairness.mitigation,
            "constraint": training.fairness.mitigation_constraint,
            "features": list((evaluation or {}).get("features", [])),
        }
    return release_record(
        model_name=this.name,
        version=str(this.version),
        artifact=candidate,
        artifact_id=str(inputs[candidate][0].id),
        schema_artifact_id=str(inputs["feature_schema"][0].id),
        decision_threshold=training.decision_threshold,
        mitigation=mitigation,
        model_kind=kind,  # the selected candidate's estimator (search.candidates may name another kind)
        primary_metric={"name": training.primary_metric, "value": metric},
        data_fingerprint=this.run_metadata.get(names.DATA_FINGERPRINT) or {},
        code_reference=code,
    )


def judge(
    candidates: list[Candidate], production, frame: pd.DataFrame, training: TrainingSettings, version: str
):
    """The decision for ``candidates`` (of model version ``version``) against ``production``
    measured on ``frame``, and that measure (None when there was no yardstick)."""
    metric = training.primary_metric
    production_metric, note, unreleased, overlap = yardstick(production, frame, metric)
    if unreleased:  # no consumer can serve it: as if there were no production version
        production = None
    name = production.name if production else None
    decision = decide(candidates, metric, training.promotion, production_metric, name, note, version)
    for said in (unreleased, overlap):
        if said:
            decision = replace(decision, reasons=(*decision.reasons, said))
    return decision, production_metric


def release_chosen(
    decision, candidates, training, mitigated: tuple, frame: pd.DataFrame, code: dict, kind: str
) -> None:
    """Register the chosen candidate in MLflow, record its release and move the version's stage.
    ``mitigated``: (the mitigated model, its evaluation), either None when there is none."""
    (mitigated_model, mitigated_evaluation), this = mitigated, get_step_context().model
    uri = this.run_metadata.get(names.MLFLOW_MODEL_URI)
    if decision.candidate == names.MITIGATED_MODEL:
        example = frame.head(5)[mitigated_model.draw_columns]  # what it reads: never the label
        uri = log_sklearn_model(mitigated_model, example, name=names.MITIGATED_MODEL)
    mlflow_version = registry.register_in_mlflow(this.name, uri, decision.summary()) if uri else None
    chosen = next(c.metric for c in candidates if c.name == decision.candidate)
    release = _release(decision.candidate, chosen, training, mitigated_evaluation, code, kind)
    log_metadata({names.RELEASE: release, names.MLFLOW_VERSION: mlflow_version}, infer_model=True)
    registry.set_stage(this.name, str(this.version), decision.stage, decision.summary())


@step(enable_cache=False, experiment_tracker=True)  # depends on the registry's state: never cached
def promote(
    model: Pipeline,
    feature_schema: dict,
    metrics: dict,
    fairness: dict,
    dataset_test: pd.DataFrame,
    training: TrainingSettings,
    mitigated_model: BaseEstimator | None = None,
    mitigated_evaluation: dict | None = None,
    code_reference: dict | None = None,
) -> Annotated[dict, names.PROMOTION_DECISION]:
    inherit_cached_metadata()  # a run resumed from the cache: its version gets the cached steps' metadata
    this = get_step_context().model
    candidates = candidates_from(metrics, fairness, mitigated_evaluation, training.primary_metric)
    production = registry.production_version(this.name)
    decision, production_metric = judge(candidates, production, dataset_test, training, str(this.version))
    decision = with_mitigation_note(decision, candidates, mitigated_evaluation)
    record = {**decision.to_dict(), "production_metric_on_this_data": production_metric,
              "decision_threshold": training.decision_threshold}  # fmt: skip
    code = code_reference or {"git_commit": None, "note": "not recorded: the pipeline was run without it"}
    if decision.candidate is not None:
        mitigated = (mitigated_model, mitigated_evaluation)
        release_chosen(decision, candidates, training, mitigated, dataset_test, code, model_kind(model))
    settings = training.model_dump(mode="json")
    log_metadata(
        {names.PROMOTION_DECISION: record, names.CODE_REFERENCE: code, names.TRAINING_SETTINGS: settings},
        infer_model=True,
    )
    version = {"model": this.name, "version": str(this.version)}
    audit(state().audit_log, getpass.getuser(), f"promotion: {decision.stage}", decision.summary(), version)
    mlflow.set_tag("promotion", decision.stage)
    print(f"Promotion decision for {this.name} version {this.version}: {decision.summary()}")
    return record
