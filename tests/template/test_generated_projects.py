"""A rendered project's own test suite (unit + pipelines end to end on a temporary local stack)
passes with the interpreter running these tests: nothing new is installed.

The default answers' project is not run again here: test_render proves it is byte-identical to the
root, whose suite (tests/unit, tests/e2e) this same session runs in place. The CSV project runs its
whole suite except the modules that train on the demo generator whatever the answers (promotion,
serving, nightly, reliability, runbook walkthrough, team stack, CI outputs, notebooks, release
contract, commands without a release, model card: identical to the root's run of them)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ml import names
from ml.data.demo import generate_demo
from ml.features import build_customer_features

pytestmark = pytest.mark.e2e


def run_project_suite(project, *paths: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, f"{project.name}: its own suite failed\n{result.stdout[-8000:]}"
    return result.stdout


def write_churn_csv(path) -> None:
    """The user's own flat table: other names, yes/no target, no id, missing values, categoricals."""
    tables = generate_demo(customers=4000, seed=11)
    flat = build_customer_features(tables.customers, tables.sales).drop(columns=[names.ID])
    flat = flat.rename(columns={"gender": "sex", names.TARGET: "churned"})
    flat["churned"] = flat["churned"].map({names.GOOD: "yes", names.BAD: "no"})
    path.parent.mkdir(parents=True, exist_ok=True)
    flat.to_csv(path, index=False)


def test_csv_project_passes_its_own_tests_of_what_the_answers_change(csv_project):
    """The rendered CSV project's own tests whose outcome depends on the copier answers (its
    configs, runbooks, workflows, CLI, dependencies) and its training on the user's table. The rest
    of its unit suite is the root's code on generated frames, already run by this suite."""
    write_churn_csv(csv_project / "data/customers.csv")
    answer_dependent = [
        f"tests/unit/{module}"
        for module in (
            "test_settings.py",
            "test_runbooks.py",
            "test_workflows.py",
            "test_cli.py",
            "test_supply_chain.py",
            "test_layers.py",
            "test_names.py",
        )
    ]
    summary = run_project_suite(csv_project, *answer_dependent, "tests/e2e/test_training_pipeline.py")
    summary = summary.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary
