"""The promotion gate: quality floor, fairness, then the current production on the same data."""

import getpass
from dataclasses import dataclass, replace
from typing import Annotated

import mlflow
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from zenml import get_step_context, log_metadata, step

from adapters.records import audit
from bentos.bundle import unservable
from ml import names
from ml.evaluation import classification_metrics, release_decisions
from ml.features import FeatureSchema, binary_target
from ml.monitoring import key_columns, seen_in
from ml.promotion import (
    Candidate,
    Decision,
    Yardstick,
    candidates_from,
    decide,
    with_mitigation_note,
    with_reuse_note,
)
from ml.settings import TrainingSettings
from ml.training import model_kind, selected_threshold
from registry import models as registry
from registry.models import RegistryError
from registry.release import Release, release_of, release_record
from steps._context import inherit_cached_metadata, state
from steps.mlflow_logging import carry_over_cached_steps, log_sklearn_model


def _decided(model, frame: pd.DataFrame, schema: FeatureSchema, threshold: float) -> tuple[np.ndarray, ...]:
    """(labels, decisions, probabilities) of ``model`` on ``frame``, deciding as it is served
    (``threshold``, or its own group thresholds when fairness-mitigated)."""
    y_true = binary_target(frame[schema.target_column], schema.positive_label)
    y_pred, proba = release_decisions(model, frame, schema, threshold)
    return y_true, np.asarray(y_pred), np.asarray(proba)


def _metric(decided: tuple[np.ndarray, ...], threshold: float, metric: str, rows=slice(None)) -> float:
    """``metric`` of ``_decided`` outcomes on ``rows`` (a mask; all by default), as evaluation
    measured it on the test split."""
    y_true, y_pred, proba = (values[rows] for values in decided)
    return classification_metrics(y_true, proba, threshold, y_pred=y_pred)[metric]


def _defined(value) -> bool:
    return value is not None and bool(np.isfinite(value))


@dataclass(frozen=True)
class Challengers:
    """The candidates' fitted models by name (``names.MODEL``, ``names.MITIGATED_MODEL``), with the
    schema and decision threshold they decide with."""

    models: dict
    schema: FeatureSchema
    threshold: float

    def on(self, rows: pd.DataFrame, metric: str) -> dict[str, float]:
        return {
            name: _metric(_decided(model, rows, self.schema, self.threshold), self.threshold, metric)
            for name, model in self.models.items()
            if model is not None
        }


def yardstick(
    production,
    frame: pd.DataFrame,
    metric: str,
    challengers: Challengers | None = None,
    fewest: int | None = None,
) -> tuple[Yardstick | None, str | None, str | None, str | None]:
    """(production measured against the candidates, why it could not be measured, why production
    does not count, what is said about the evaluation rows production was trained on).

    A grown table or another engine's split moves rows production was trained on into the
    candidates' test split; its figure on them is in-sample. The candidates (``challengers``) and
    production are then compared on the rest, when at least ``fewest`` (promotion.min_test_rows)
    remain and every metric is defined there; else on all rows, the overlap said. A production
    version without a release (promoted before releases were recorded) is served by no consumer, so
    a candidate is judged on the gates alone; one that cannot score this data is no yardstick (the
    candidate may reach staging, never production)."""
    if production is None:
        return None, None, None, None
    try:
        release = release_of(production)
    except RegistryError as exc:
        return None, None, f"{exc}; the candidate is judged on the gates alone", None
    least = max(fewest or 1, 1)
    try:
        seen = seen_by(release, frame)
        unseen = frame[~seen]
        decided = _decided(release.model, frame, release.schema, release.threshold)  # scored once
        on_all = _metric(decided, release.threshold, metric)
        on_unseen = None
        if seen.any() and challengers and len(unseen) >= least:
            on_unseen = _metric(decided, release.threshold, metric, ~seen)
    except Exception as exc:  # a production model that cannot score today's data is not a yardstick
        text = f"{type(exc).__name__}: {exc}"
        return None, f"production version {production.name} could not score this data ({text})", None, None
    if not seen.any():
        return Yardstick(on_all), None, None, None
    note = (
        f"production version {release.number} was trained on {int(seen.sum())} of these {len(frame)} "
        "evaluation rows, or on rows with the same inputs (a grown table, another split seed or engine moves"
        " rows between splits; a row's twin, its inputs repeated, may fall in another split)"
    )
    if on_unseen is not None:
        candidates = challengers.on(unseen, metric)
        if all(map(_defined, [on_unseen, *candidates.values()])):
            where = (
                f"the {len(unseen)} evaluation rows production version {release.number} was not trained on"
            )
            compared = Yardstick(on_unseen, candidates, where, len(unseen))
            return compared, None, None, f"{note}: compared on the {len(unseen)} it was not"
    if len(unseen) < least:
        why = f"only {len(unseen)} rows it was not trained on" + (
            f", promotion.min_test_rows {fewest}" if fewest else ""
        )
    elif on_unseen is None:
        why = "the candidates' models were not given to measure them on the rest alone"
    else:
        why = f"{metric} is not defined on the {len(unseen)} rows it was not trained on"
    note += (
        f": compared on all {len(frame)} ({why}); production's figure is in-sample on the"
        f" {int(seen.sum())} it was trained on, so a candidate trails it more easily"
    )
    return Yardstick(on_all), None, None, note


def seen_by(release: Release, frame: pd.DataFrame) -> np.ndarray:
    """True for each row of ``frame`` whose inputs (as monitoring keys them) ``release`` was
    trained on; none when ``frame`` lacks one of its inputs."""
    columns = key_columns(release.schema)
    if any(column not in frame for column in columns):
        return np.zeros(len(frame), dtype=bool)
    return seen_in(frame, release.training_row_keys(), columns)


def _release(
    candidate: str,
    metric: float,
    training: TrainingSettings,
    evaluation: dict | None,
    code: dict,
    kind: str,
    threshold: float,
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
        decision_threshold=threshold,
        mitigation=mitigation,
        model_kind=kind,  # the selected candidate's estimator (search.candidates may name another kind)
        primary_metric={"name": training.primary_metric, "value": metric},
        data_fingerprint=this.run_metadata.get(names.DATA_FINGERPRINT) or {},
        code_reference=code,
    )


def judge(
    candidates: list[Candidate],
    production,
    frame: pd.DataFrame,
    training: TrainingSettings,
    version: str,
    challengers: Challengers | None = None,
):
    """The decision for ``candidates`` (of model version ``version``; their models: ``challengers``)
    against ``production`` measured on ``frame``, and that measure (a ``Yardstick``, None when
    there was none)."""
    metric, fewest = training.primary_metric, training.promotion.min_test_rows
    measured, note, unreleased, overlap = yardstick(production, frame, metric, challengers, fewest)
    if unreleased:  # no consumer can serve it: as if there were no production version
        production = None
    name = production.name if production else None
    decision = decide(candidates, metric, training.promotion, measured, name, note, version)
    decision = servable(decision, challengers, version)
    if decision.stage == "rejected":
        overlap = None  # nothing was compared with production
    elif overlap and decision.stage == "staging" and measured.count is None:  # held by an in-sample figure
        overlap += f"; once checked, `python run.py rollback --to {version}` makes this version production"
    for said in (unreleased, overlap):
        if said:
            decision = replace(decision, reasons=(*decision.reasons, said))
    return decision, measured


def servable(decision: Decision, challengers: Challengers | None, version: str) -> Decision:
    """``decision``, held in staging when the API cannot serve its candidate (a random forest): a
    release is served by every consumer; a team scoring in batch only makes it production itself."""
    model = challengers.models.get(decision.candidate) if challengers and decision.candidate else None
    why = unservable(model) if decision.stage == "production" and model is not None else None
    if why is None:
        return decision
    held = (
        f"not production: the API cannot serve it ({why}); a team that scores in batch only makes it "
        f"production with `python run.py rollback --to {version}`"
    )
    return replace(decision, stage="staging", reasons=(*decision.reasons, held))


def release_chosen(
    decision,
    candidates,
    training,
    mitigated: tuple,
    frame: pd.DataFrame,
    code: dict,
    kind: str,
    threshold: float,
) -> None:
    """Register the chosen candidate in MLflow, record its release (deciding at ``threshold``) and move
    the version's stage. ``mitigated``: (the mitigated model, its evaluation), either None when there
    is none."""
    (mitigated_model, mitigated_evaluation), this = mitigated, get_step_context().model
    uri = this.run_metadata.get(names.MLFLOW_MODEL_URI)
    if decision.candidate == names.MITIGATED_MODEL:
        example = frame.head(5)[mitigated_model.draw_columns]  # what it reads: never the label
        uri = log_sklearn_model(mitigated_model, example, name=names.MITIGATED_MODEL)
    mlflow_version = registry.register_in_mlflow(this.name, uri, decision.summary()) if uri else None
    chosen = next(c.metric for c in candidates if c.name == decision.candidate)
    release = _release(decision.candidate, chosen, training, mitigated_evaluation, code, kind, threshold)
    log_metadata({names.RELEASE: release, names.MLFLOW_VERSION: mlflow_version}, infer_model=True)
    registry.set_stage(this.name, str(this.version), decision.stage, decision.summary())


@step(enable_cache=False, experiment_tracker=True)  # depends on the registry's state: never cached
def promote(
    model: Pipeline,
    feature_schema: dict,
    metrics: dict,
    fairness: dict,
    dataset_test: pd.DataFrame,
    search_results: dict,
    training: TrainingSettings,
    mitigated_model: BaseEstimator | None = None,
    mitigated_evaluation: dict | None = None,
    code_reference: dict | None = None,
) -> Annotated[dict, names.PROMOTION_DECISION]:
    # a run resumed from the cache: its version gets the cached steps' metadata, its MLflow run their figures
    cached = inherit_cached_metadata()
    reused = carry_over_cached_steps(cached)
    this = get_step_context().model
    candidates = candidates_from(metrics, fairness, mitigated_evaluation, training.primary_metric)
    production = registry.production_version(this.name)
    models = {names.MODEL: model, names.MITIGATED_MODEL: mitigated_model}
    threshold = selected_threshold(search_results)
    challengers = Challengers(models, FeatureSchema.from_dict(feature_schema), threshold)
    decision, measured = judge(candidates, production, dataset_test, training, str(this.version), challengers)
    decision = with_mitigation_note(decision, candidates, mitigated_evaluation)
    decision = with_reuse_note(decision, reused if "select_model" in cached else None)  # the model's run
    record = {**decision.to_dict(), names.DECISION_THRESHOLD: threshold,
              "production_metric_on_this_data": measured.production if measured else None,
              "comparison": measured.to_dict() if measured else None}  # fmt: skip
    code = code_reference or {"git_commit": None, "note": "not recorded: the pipeline was run without it"}
    if decision.candidate is not None:
        mitigated = (mitigated_model, mitigated_evaluation)
        release_chosen(
            decision, candidates, training, mitigated, dataset_test, code, model_kind(model), threshold
        )
    settings = training.model_dump(mode="json")
    log_metadata(
        {names.PROMOTION_DECISION: record, names.CODE_REFERENCE: code, names.TRAINING_SETTINGS: settings},
        infer_model=True,
    )
    version = {"model": this.name, "version": str(this.version)}
    audit(state().audit_log, getpass.getuser(), f"promotion: {decision.stage}", decision.why(), version)
    mlflow.set_tag("promotion", decision.stage)
    print(f"Promotion decision for {this.name} version {this.version}: {decision.summary()}")
    return record
