"""Each answer set renders a project whose own test suite (unit + training pipeline end to end on a
temporary local stack) passes with the interpreter running these tests: nothing new is installed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ml import names
from ml.data.demo import generate_demo
from ml.features import build_customer_features

pytestmark = pytest.mark.e2e


def run_project_suite(project) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, f"{project.name}: its own suite failed\n{result.stdout[-8000:]}"
    return result.stdout


def test_default_project_passes_its_own_suite(default_project):
    summary = run_project_suite(default_project).strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary


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
    summary = run_project_suite(csv_project).strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary
