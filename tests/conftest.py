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
SHARED_UNITS = {"e2e/test_container_stack.py": "containers", "e2e/test_container_serving.py": "containers"}
LONGEST_FIRST = (  # seconds on one worker in a run of the whole suite (2026-12-07, 2 workers on 2 cores)
    "e2e/test_container_stack.py",  # with test_container_serving.py: ~1,010 s (images built, containers)
    "e2e/test_container_serving.py",
    "e2e/test_release_contract.py",  # ~580 s
    "e2e/test_dask_scoring.py",  # ~420 s
    "e2e/test_runbooks_run.py",  # ~410 s
    "e2e/test_commands_without_a_release.py",  # ~350 s
    "e2e/test_other_table_shapes.py",  # ~290 s
    "e2e/test_reliability.py",  # ~280 s
    "e2e/test_nightly.py",  # ~270 s
    "e2e/test_promotion.py",  # ~230 s
    "template/test_lifecycle.py",  # ~140 s
    "template/test_two_projects.py",  # ~120 s
    "e2e/test_training_pipeline.py",  # ~120 s
    "e2e/test_ci_outputs.py",
    "e2e/test_team_stack.py",
    "template/test_generated_projects.py",
    "e2e/test_serving.py",
    "e2e/test_notebooks.py",
    "e2e/test_gapminder_parquet.py",
    "e2e/test_model_card.py",
)
TESTS = Path(__file__).parent


def _module(path: Path) -> str:
    """A test module as LONGEST_FIRST and SHARED_UNITS name it: its path under tests/."""
    return path.relative_to(TESTS).as_posix() if path.is_relative_to(TESTS) else path.name


def pytest_collection_modifyitems(config, items):
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(_module(item.path), len(rank)))  # stable: module order kept


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's scope scheduler with a module (or a SHARED_UNITS unit) as the unit of work. (Its
    `--dist loadgroup` does not group under pytest 9.2, whose items no longer take a new nodeid.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ByModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return SHARED_UNITS.get(_module(Path(config.rootpath, module)), module)

    return ByModule(config, log)
