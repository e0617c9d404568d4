"""Data profile, fairness (gate + mitigation) and explanations: reports a reviewer reads before
trusting a model, as ZenML artifact visualizations and MLflow artifacts."""

from typing import Annotated

import mlflow
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from zenml import step
from zenml.types import HTMLString

from ml import names
from ml.evaluation import classification_metrics, release_decisions
from ml.explain import explain, explanation_html
from ml.fairness import (
    assess_fairness,
    fairness_html,
    flagged_features,
    group_edges,
    mitigate,
    recorded_edges,
    sensitive_groups,
    with_edges,
)
from ml.features import FeatureSchema, binary_target
from ml.profile import profile_dataset
from ml.proxies import sensitive_proxies, with_proxies
from ml.settings import DataSettings, TrainingSettings
from ml.training import selected_threshold
from steps._context import log_version_metadata


@step
def profile_data(
    dataset: pd.DataFrame, data: DataSettings, training: TrainingSettings
) -> tuple[Annotated[dict, names.DATA_PROFILE], Annotated[HTMLString, names.DATA_PROFILE_REPORT]]:
    profile = profile_dataset(
        dataset, data.target_column, data.id_column, seed=training.seed, group_column=data.group_column
    )
    return profile.summary, HTMLString(profile.html)


def _fairness_of(release, frame, schema, data, training, edges, threshold):
    y_true = binary_target(frame[schema.target_column], schema.positive_label)
    y_pred, proba = release_decisions(release, frame, schema, threshold)
    groups = sensitive_groups(frame, data.sensitive_features, training.fairness, edges)
    return y_true, y_pred, proba, assess_fairness(y_true, y_pred, groups, training.fairness)


@step(experiment_tracker=True)
def check_fairness(
    model: Pipeline,
    feature_schema: dict,
    dataset_test: pd.DataFrame,
    dataset_train: pd.DataFrame,
    search_results: dict,
    data: DataSettings,
    training: TrainingSettings,
) -> tuple[Annotated[dict, names.FAIRNESS], Annotated[HTMLString, names.FAIRNESS_REPORT]]:
    """The gate on the test split at the selected threshold, its groups cut as the training split
    says (``group_edges``)."""
    schema = FeatureSchema.from_dict(feature_schema)
    edges = group_edges(dataset_train, data.sensitive_features, training.fairness)
    threshold = selected_threshold(search_results)
    *_, result = _fairness_of(model, dataset_test, schema, data, training, edges, threshold)
    html = fairness_html(result, f"Fairness of the candidate ({', '.join(data.sensitive_features)})")
    mlflow.log_text(html, "reports/fairness.html")
    mlflow.log_metric(names.FAIRNESS_SCORE, result.score)
    proxies = sensitive_proxies(dataset_train, dataset_test, schema, data.sensitive_features, training.seed)
    record = with_proxies(with_edges(result.to_dict(), edges), proxies)
    log_version_metadata({names.FAIRNESS: record})
    return record, HTMLString(html)


@step(experiment_tracker=True, settings={"experiment_tracker": {"nested": True}})
def mitigate_bias(
    model: Pipeline,
    feature_schema: dict,
    dataset_validation: pd.DataFrame,
    dataset_test: pd.DataFrame,
    fairness: dict,
    search_results: dict,
    data: DataSettings,
    training: TrainingSettings,
) -> tuple[
    Annotated[BaseEstimator, names.MITIGATED_MODEL],  # the plain Pipeline when mitigation was not possible
    Annotated[dict, names.MITIGATED_EVALUATION],
    Annotated[HTMLString, names.FAIRNESS_REPORT_MITIGATION],
]:
    """ThresholdOptimizer fitted on the validation split over the flagged sensitive features; the
    mitigated candidate is judged on the test split by the same metrics and gate."""
    schema = FeatureSchema.from_dict(feature_schema)
    features = flagged_features(fairness["violations"], data.sensitive_features)
    y_val = binary_target(dataset_validation[schema.target_column], schema.positive_label)
    edges = recorded_edges(fairness)  # the groups the gate judged, the ones mitigation evens out
    threshold = selected_threshold(search_results)  # the plain model's, for the "before"
    *_, before = _fairness_of(model, dataset_test, schema, data, training, edges, threshold)
    try:
        mitigated = mitigate(
            model, schema, dataset_validation, y_val, features, training.fairness, training.seed, edges
        )
    except ValueError as exc:  # e.g. a group with a single class in the validation split
        note = f"mitigation{' over ' + ', '.join(features) if features else ''} was not possible: {exc}"
        log_version_metadata({names.MITIGATED_EVALUATION: {"available": False, "note": note}})
        return model, {"available": False, "note": note}, HTMLString(f"<p>{note}</p>")
    y_true, y_pred, proba, after = _fairness_of(
        mitigated, dataset_test, schema, data, training, edges, threshold
    )
    metrics = classification_metrics(y_true, proba, threshold, y_pred=y_pred)  # its own decisions
    html = fairness_html(before, f"Fairness before / after mitigation over {', '.join(features)}", after)
    mlflow.log_text(html, "reports/fairness_mitigation.html")
    evaluation = {"available": True, "features": list(features), "metrics": metrics}
    proxies = fairness.get(names.SENSITIVE_PROXIES) or {}  # the plain model's inputs: the same ones
    evaluation[names.FAIRNESS] = with_proxies(with_edges(after.to_dict(), edges), proxies)
    log_version_metadata({names.MITIGATED_EVALUATION: evaluation})
    return mitigated, evaluation, HTMLString(html)


@step(experiment_tracker=True)
def explain_model(
    model: Pipeline, feature_schema: dict, dataset_test: pd.DataFrame, training: TrainingSettings
) -> Annotated[HTMLString, names.EXPLANATION_REPORT]:
    schema = FeatureSchema.from_dict(feature_schema)
    explanation = explain(model, dataset_test, schema, max_rows=1000, seed=training.seed)
    html = explanation_html(explanation, "What drives the model's predictions")
    mlflow.log_text(html, "reports/explanation.html")
    top = explanation.global_importance.head(10).round(6).to_dict()
    log_version_metadata({names.GLOBAL_IMPORTANCE: {"method": explanation.method, "top": top}})
    return HTMLString(html)
