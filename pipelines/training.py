"""load -> features -> split -> train -> evaluate."""

from zenml import pipeline

from ml.settings import DataSettings, TrainingSettings
from steps.data import engineer_features, load_data
from steps.train import evaluate, split_data, train


@pipeline
def training_pipeline(data: DataSettings, training: TrainingSettings) -> None:
    customers, sales = load_data(data=data)
    dataset = engineer_features(customers, sales, data=data)
    dataset_train, _, dataset_test = split_data(dataset, data=data, training=training)
    model, feature_schema = train(dataset_train, data=data, training=training)
    evaluate(model, feature_schema, dataset_test, training=training)
