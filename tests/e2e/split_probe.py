"""Print, as JSON, what a model version learnt: its feature schema and, for each split it was
trained, validated and tested on, the distinct values of one column
(``python -m tests.e2e.split_probe MODEL VERSION COLUMN``, with the test's ZENML_CONFIG_PATH)."""

import json
import sys

from zenml.client import Client

from ml import names


def main(model_name: str, number: int, column: str) -> None:
    version = Client().get_model_version(model_name, number)
    splits = {
        name: sorted(map(str, set(version.get_artifact(name).load()[column])))
        for name in (names.DATASET_TRAIN, names.DATASET_VALIDATION, names.DATASET_TEST)
    }
    print(json.dumps({"schema": version.get_artifact(names.FEATURE_SCHEMA).load(), "splits": splits}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
