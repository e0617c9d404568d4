"""Split, train and evaluate, logging to the stack's MLflow experiment tracker."""

from typing import Annotated

import mlflow
import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import log_metadata, step

from ml import names
from ml.data.validation import validate_training_table
from ml.evaluation import classification_metrics
from ml.features import FeatureSchema, binary_target, feature_columns, infer_schema
from ml.settings import DataSettings, TrainingSettings
from ml.training import predict_proba, split_dataset, train_model
from steps.mlflow_logging import log_dataset, log_sklearn_model


@step
def split_data(
    dataset: pd.DataFrame, data: DataSettings, training: TrainingSettings
) -> tuple[
    Annotated[pd.DataFrame, names.DATASET_TRAIN],
    Annotated[pd.DataFrame, names.DATASET_VALIDATION],
    Annotated[pd.DataFrame, names.DATASET_TEST],
]:
    split = split_dataset(dataset, data.target_column, training.split, training.seed)
    return split.train, split.validation, split.test


@step(experiment_tracker=True)
def train(
    dataset_train: pd.DataFrame, data: DataSettings, training: TrainingSettings
) -> tuple[Annotated[Pipeline, names.MODEL], Annotated[dict, names.FEATURE_SCHEMA]]:
    negative = validate_training_table(dataset_train, data, table=names.DATASET_TRAIN)
    columns = feature_columns(dataset_train, data, training.features)
    schema = infer_schema(dataset_train, columns, data, negative)
    model = train_model(dataset_train, schema, training.model, training.seed)
    mlflow.log_params(
        {
            "model_kind": training.model.kind,
            "seed": training.seed,
            "n_features": len(columns),
            **model.named_steps["clf"].get_params(),
        }
    )
    log_dataset(dataset_train, names.DATASET_TRAIN, data.target_column, "training")
    log_sklearn_model(model, dataset_train.head(5)[schema.names])
    return model, schema.to_dict()


@step(experiment_tracker=True)
def evaluate(
    model: Pipeline, feature_schema: dict, dataset_test: pd.DataFrame, training: TrainingSettings
) -> Annotated[dict, names.METRICS]:
    schema = FeatureSchema.from_dict(feature_schema)
    proba = predict_proba(model, dataset_test, schema)
    y_true = binary_target(dataset_test[schema.target_column], schema.positive_label)
    metrics = classification_metrics(y_true, proba, training.decision_threshold)
    scalars = {k: v for k, v in metrics.items() if isinstance(v, float)}
    mlflow.log_metrics(scalars)
    log_dataset(dataset_test, names.DATASET_TEST, schema.target_column, "evaluation")
    run = mlflow.active_run()
    log_metadata(
        {
            names.METRICS: metrics,
            "primary_metric": training.primary_metric,
            "mlflow_run_id": run.info.run_id if run else "",
        },
        infer_model=True,
    )
    return metrics
