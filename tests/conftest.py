"""Shared test setup: no test touches the user's ZenML, MLflow or BentoML state."""

import os
import tempfile

# Before anything imports zenml/mlflow/bentoml: no telemetry from tests.
os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

# MLflow calls made by the test process itself never write into the working tree.
os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{tempfile.mkdtemp(prefix='mlflow-')}/mlflow.db")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

# Parallel runs (`bash scripts/test.sh` runs pytest-xdist, one worker per core): a module's tests stay on
# one worker, so its module fixtures (a trained project, a server) are built once; modules that share a
# session fixture which builds images form one unit. Units are handed out in the order below, the
# longest first (seconds measured on 2 cores), so that the workers finish together; the others follow
# in collection order.
SHARED_UNITS = {"test_container_stack.py": "containers", "test_container_serving.py": "containers"}
LONGEST_FIRST = (  # seconds in one run of the suite (2026-12-03, 3 workers on 2 cores: each ~1.5x slower)
    "test_container_stack.py",  # with test_container_serving.py: ~1,240 s (images built, 22 containers)
    "test_container_serving.py",
    "test_runbooks_run.py",  # ~1,120 s
    "test_commands_without_a_release.py",  # ~980 s
    "test_dask_scoring.py",  # ~690 s
    "test_nightly.py",  # ~580 s
    "test_release_contract.py",  # ~430 s
    "test_promotion.py",  # ~400 s
    "test_reliability.py",  # ~370 s
    "test_ci_outputs.py",  # ~300 s
    "test_two_projects.py",  # ~280 s
    "test_lifecycle.py",  # ~190 s
    "test_team_stack.py",
    "test_generated_projects.py",
    "test_serving.py",
    "test_training_pipeline.py",
    "test_model_card.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: module order kept


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's scope scheduler with a module (or a SHARED_UNITS unit) as the unit of work. (Its
    `--dist loadgroup` does not group under pytest 9.2, whose items no longer take a new nodeid.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ByModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return SHARED_UNITS.get(Path(module).name, module)

    return ByModule(config, log)
