"""Print, as JSON, what a model version registered: its estimator's class and threads, the rows its
booster's first tree was grown on, the probabilities of a test split through batch scoring's
booster path, scikit-learn and the served bundle, with that split's 0/1 labels, and the keys of its
training rows that monitoring's seen_in_training reads (``Release.training_row_keys``)
(``python -m tests.e2e.model_probe MODEL VERSION [VERSION_OF_THE_TEST_SPLIT]``, with the test's
ZENML_CONFIG_PATH; the test split is the version's own unless another is named)."""

import json
import sys
import tempfile
from pathlib import Path

from zenml.client import Client

from bentos.bundle import export_bundle, load_model
from ml import names
from ml.features import FeatureSchema, binary_target
from ml.monitoring import key_columns
from ml.training import predict_proba
from registry.release import release_of


def main(model_name: str, number: int, test_of: int) -> None:
    version = Client().get_model_version(model_name, number)
    model = version.get_artifact(names.MODEL).load()
    schema = FeatureSchema.from_dict(version.get_artifact(names.FEATURE_SCHEMA).load())
    test = Client().get_model_version(model_name, test_of).get_artifact(names.DATASET_TEST).load()
    clf = model.named_steps["clf"]
    folder = Path(tempfile.mkdtemp(prefix="bundle-"))
    export_bundle(model, schema.to_dict(), 0.5, folder, {})
    records = test[schema.names].to_dict(orient="records")
    print(
        json.dumps(
            {
                "class": f"{type(clf).__module__}.{type(clf).__qualname__}",
                "n_jobs": clf.n_jobs,
                "first_tree_rows": clf.booster_.dump_model()["tree_info"][0]["tree_structure"][
                    "internal_count"
                ],
                "labels": binary_target(test[schema.target_column], schema.positive_label).tolist(),
                "pipeline": predict_proba(model, test, schema).tolist(),
                "sklearn": model.predict_proba(test[schema.names])[:, 1].tolist(),
                "served": load_model(folder).predict_proba(records).tolist(),
                "train_row_keys": release_of(version).training_row_keys().tolist(),
                "key_columns": key_columns(schema),
                "schema": schema.to_dict(),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3] if len(sys.argv) > 3 else sys.argv[2]))
