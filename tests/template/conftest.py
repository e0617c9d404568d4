"""Render the template from this working tree (HEAD plus uncommitted changes) with fixed answers."""

from __future__ import annotations

from pathlib import Path

import copier
import pytest

ROOT = Path(__file__).resolve().parents[2]

# Second answer set of the issue: the user's own CSV, other target, no id column, other sensitive.
CSV_ANSWERS = {
    "project_name": "Churn Radar",
    "data_source": "csv",
    "data_path": "data/customers.csv",
    "target_column": "churned",
    "positive_label": "yes",
    "id_column": "",
    "sensitive_features": "sex",
}


def render(destination: Path, answers: dict | None = None) -> Path:
    copier.run_copy(
        str(ROOT),
        destination,
        data=answers or {},
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    return destination


@pytest.fixture(scope="session")
def default_project(tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp("render") / "customer-scoring")


@pytest.fixture(scope="session")
def csv_project(tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp("render") / "churn-radar", CSV_ANSWERS)
