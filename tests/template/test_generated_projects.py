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


def run_project_suite(project, *extra: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", *extra],
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


def test_csv_project_passes_its_own_suite(csv_project):
    write_churn_csv(csv_project / "data/customers.csv")
    demo_only = (
        "test_promotion.py",
        "test_serving.py",
        "test_nightly.py",
        "test_reliability.py",
        "test_runbooks_run.py",
        "test_team_stack.py",
        "test_ci_outputs.py",
        "test_notebooks.py",
        "test_release_contract.py",
        "test_commands_without_a_release.py",
        "test_model_card.py",
    )
    deselect = [arg for module in demo_only for arg in ("--deselect", f"tests/e2e/{module}")]
    summary = run_project_suite(csv_project, *deselect).strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary
