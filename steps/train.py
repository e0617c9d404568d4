"""Split, search (one step per candidate, side by side), select and evaluate."""

from typing import Annotated

import mlflow
import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import step

from adapters.dask_training import estimator_fit
from ml import names
from ml.data.validation import check_feature_columns, constant_columns_note, validate_training_table
from ml.evaluation import classification_metrics, single_feature_roc_auc
from ml.features import FeatureSchema, binary_target, feature_columns, infer_schema
from ml.settings import DataSettings, TrainingSettings
from ml.training import (
    candidate_score,
    candidate_settings,
    model_kind,
    predict_proba,
    select_best,
    selected_threshold,
    split_dataset,
    train_model,
)
from steps._context import log_version_metadata, project_root
from steps.mlflow_logging import log_dataset, log_trained_model


@step
def split_data(
    dataset: pd.DataFrame, data: DataSettings, training: TrainingSettings
) -> tuple[
    Annotated[pd.DataFrame, names.DATASET_TRAIN],
    Annotated[pd.DataFrame, names.DATASET_VALIDATION],
    Annotated[pd.DataFrame, names.DATASET_TEST],
]:
    split = split_dataset(dataset, data.target_column, training.split, training.seed, data.group_column)
    return split.train, split.validation, split.test


@step
def build_schema(
    dataset_train: pd.DataFrame,
    dataset_validation: pd.DataFrame,
    dataset_test: pd.DataFrame,
    data: DataSettings,
    training: TrainingSettings,
    split_facts: dict | None = None,
) -> Annotated[dict, names.FEATURE_SCHEMA]:
    """The model's schema: its categories the training split's, what the service accepts every split's
    (on Dask, where the datasets are samples, which features lack a value and the ranges: every row's)."""
    negative = validate_training_table(dataset_train, data, names.DATASET_TRAIN, training.features.drop)
    columns = feature_columns(dataset_train, data, training.features)
    sensitive = [column for column in data.sensitive_features if column not in columns]
    others = (dataset_validation, dataset_test)
    held_out = tuple(other[columns] for other in others)  # a sensitive column is never scored: not held out
    check_feature_columns(dataset_train, [*columns, *sensitive], data, names.DATASET_TRAIN, held_out)
    if note := constant_columns_note((dataset_train, *others), columns):
        print(note)
    return infer_schema(dataset_train, columns, data, negative, others=others, facts=split_facts).to_dict()


@step(experiment_tracker=True, settings={"experiment_tracker": {"nested": True}})
def train_candidate(
    dataset_train: pd.DataFrame,
    dataset_validation: pd.DataFrame,
    feature_schema: dict,
    data: DataSettings,
    training: TrainingSettings,
    index: int,
) -> tuple[Annotated[Pipeline, names.CANDIDATE_MODEL], Annotated[dict, names.CANDIDATE_SCORE]]:
    """Fit candidate ``index`` of ``search.candidates`` on the train split (with ``engine: dask``,
    on its every row on the cluster) and score it for the selection (the validation split, or
    cross-validation on a small table)."""
    schema = FeatureSchema.from_dict(feature_schema)
    overrides = training.search.candidates[index]
    settings = candidate_settings(training.model, overrides)
    with estimator_fit(training, data, schema, project_root()) as fit:
        model = train_model(dataset_train, schema, settings, training.seed, fit=fit)
    split = (dataset_train, dataset_validation)
    metrics, method, threshold = candidate_score(split, schema, settings, training, model, data.group_column)
    mlflow.log_params({"candidate": index, "kind": settings.kind, "selection": method})
    mlflow.log_params({names.DECISION_THRESHOLD: threshold})
    mlflow.log_params({f"override.{k}": v for k, v in overrides.items() if k != "kind"})
    mlflow.log_metrics({f"validation_{k}": v for k, v in metrics.items() if isinstance(v, float)})
    return model, {"index": index, "kind": settings.kind, "overrides": overrides, "validation": metrics,
                   "selection": method, names.DECISION_THRESHOLD: threshold}  # fmt: skip


@step(experiment_tracker=True)
def select_model(
    candidates: list[Pipeline],
    scores: list[dict],
    dataset_train: pd.DataFrame,
    feature_schema: dict,
    training: TrainingSettings,
) -> tuple[Annotated[Pipeline, names.MODEL], Annotated[dict, names.SEARCH_RESULTS]]:
    """The candidate with the best validation primary metric (at its decision threshold) becomes the
    pipeline's model, and its threshold the model's."""
    metric = training.primary_metric
    by_index = sorted(zip(scores, candidates, strict=True), key=lambda pair: pair[0]["index"])
    best = select_best([score["validation"][metric] for score, _ in by_index], metric)
    model, threshold = by_index[best][1], by_index[best][0][names.DECISION_THRESHOLD]
    schema = FeatureSchema.from_dict(feature_schema)
    mlflow.log_params(
        {
            "model_kind": model_kind(model),
            "seed": training.seed,
            "n_features": len(schema.names),
            "selected_candidate": best,
            names.DECISION_THRESHOLD: threshold,
            **model.named_steps["clf"].get_params(),
        }
    )
    log_dataset(dataset_train, names.DATASET_TRAIN, schema.target_column, "training")
    model_uri = log_trained_model(model, dataset_train, schema)
    results = {"metric": metric, "selected": best, "candidates": [score for score, _ in by_index],
               names.DECISION_THRESHOLD: threshold}  # fmt: skip
    log_version_metadata({names.SEARCH_RESULTS: results, names.MLFLOW_MODEL_URI: model_uri})
    return model, results


@step(experiment_tracker=True)
def evaluate(
    model: Pipeline,
    feature_schema: dict,
    dataset_test: pd.DataFrame,
    dataset_train: pd.DataFrame,
    search_results: dict,
    training: TrainingSettings,
) -> Annotated[dict, names.METRICS]:
    """The test split's metrics at the selected threshold, and how well each feature alone ranks it
    (a leakage check)."""
    schema = FeatureSchema.from_dict(feature_schema)
    proba = predict_proba(model, dataset_test, schema)
    y_true = binary_target(dataset_test[schema.target_column], schema.positive_label)
    metrics = classification_metrics(y_true, proba, selected_threshold(search_results))
    metrics[names.SINGLE_FEATURE_ROC_AUC] = single_feature_roc_auc(
        dataset_train, dataset_test, schema, training.seed
    )
    mlflow.log_metrics({k: v for k, v in metrics.items() if isinstance(v, float)})
    log_dataset(dataset_test, names.DATASET_TEST, schema.target_column, "evaluation")
    run = mlflow.active_run()
    log_version_metadata(
        {
            names.METRICS: metrics,
            names.PRIMARY_METRIC: training.primary_metric,
            names.MLFLOW_RUN_ID: run.info.run_id if run else "",
        }
    )
    return metrics
