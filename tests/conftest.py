"""Shared test setup: no test touches the user's ZenML, MLflow or BentoML state."""

import os
import tempfile

# Before anything imports zenml/mlflow/bentoml: no telemetry from tests.
os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

# MLflow calls made by the test process itself never write into the working tree.
os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{tempfile.mkdtemp(prefix='mlflow-')}/mlflow.db")

import pytest  # noqa: E402

# Parallel runs (`bash scripts/test.sh` runs pytest-xdist with `--dist loadgroup`): a module's tests
# stay on one worker, so its module fixtures (a trained project, a server) are built once; modules that
# share a session fixture which builds images form one group. Groups are handed out in the order
# below, the longest first (seconds measured on 2 cores), so that the workers finish together; the
# others follow in collection order.
SHARED_GROUPS = {"test_container_stack.py": "containers", "test_container_serving.py": "containers"}
LONGEST_FIRST = (
    "test_container_stack.py",  # with test_container_serving.py: ~900 s (base and runtime images)
    "test_container_serving.py",
    "test_commands_without_a_release.py",  # ~500 s
    "test_runbooks_run.py",  # ~450 s
    "test_release_contract.py",  # ~450 s
    "test_promotion.py",  # ~400 s
    "test_dask_scoring.py",  # ~400 s
    "test_ci_outputs.py",
    "test_nightly.py",
    "test_reliability.py",
    "test_serving.py",
    "test_two_projects.py",
    "test_generated_projects.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: module order kept
    for item in items:
        group = SHARED_GROUPS.get(item.path.name) or item.path.relative_to(config.rootpath).as_posix()
        item.add_marker(pytest.mark.xdist_group(group))
