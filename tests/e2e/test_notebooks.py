"""The notebooks under notebooks/ run top to bottom (nbclient, a real kernel) in a trained project: the
demo source with a failed and a promoted version, and 01-explore-data on a CSV source too. A failing
cell fails the test with its traceback (nbclient's CellExecutionError)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

from ml import names
from tests.e2e.harness import (
    PROJECT_ROOT,
    csv_project_config,
    notebook_text,
    run_cli,
    run_notebook,
    user_table_config,
)

pytestmark = pytest.mark.e2e
NOTEBOOKS = PROJECT_ROOT / "notebooks"
CUSTOMERS = 10_000  # the demo generator's default, which the demo release is trained on
CSV_ROWS = 800


@pytest.fixture(scope="module")
def trained(demo_release):
    """Version 1: the demo project's release (tests/e2e/conftest.py); version 2: a training that
    fails (a text column declared numeric: the data do not match the declaration)."""
    state, env, project = demo_release["state"], demo_release["env"], demo_release["project"]
    declared = state / "declared.yaml"
    raw = yaml.safe_load(project.read_text())
    raw["data"]["columns"] = {"region": "numeric"}
    declared.write_text(yaml.safe_dump(raw))
    failed = run_cli(PROJECT_ROOT, env, "train", "--project", str(declared))
    assert failed.returncode == 2, f"the training on mistyped data should fail:\n{failed.stderr[-3000:]}"
    return {"state": state, "env": env, "project": project, "training": demo_release["config"]}


def execute(name: str, trained: dict, project: Path | None = None) -> nbformat.NotebookNode:
    """Run notebooks/NAME in the trained project (``project``: another project config)."""
    return run_notebook(
        name, trained["env"], trained["state"], project or trained["project"], trained["training"]
    )


def images_in(notebook: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in output.get("data", {}) for cell in notebook.cells for output in cell.get("outputs", [])
    )


def test_explore_data_loads_validates_and_compares_two_windows_of_the_demo_data(trained):
    notebook = execute("01-explore-data.ipynb", trained)
    text = notebook_text(notebook)
    assert "demo data; target 'label', positive label 'good'" in text, text[:3000]
    assert f"{CUSTOMERS:,} rows" in text, text[:3000]
    assert re.search(r"\d+% of the \d+ model inputs drifted", text), text[-3000:]
    charts = images_in(notebook)
    assert charts >= 4, f"expected the group, distribution and drift charts; got {charts} image(s)"


def test_explore_data_reads_a_csv_source(trained):
    notebook = execute(
        "01-explore-data.ipynb", trained, csv_project_config(trained["state"], trained["project"], CSV_ROWS)
    )
    text = notebook_text(notebook)
    assert "csv data; target 'label'" in text and f"{CSV_ROWS:,} rows" in text, text[:3000]
    assert f"reference: {CSV_ROWS // 2:,} rows" in text, text[-3000:]
    # rows in no particular order: random halves are the control, and no sorting is claimed
    assert "drifted between random halves" in text and "the table is sorted" not in text, text[-3000:]


def test_explore_data_tells_a_table_sorted_by_its_target_from_drift(trained):
    """statsmodels' `fair` as it ships, sorted by its target (the women who had an affair first):
    its halves in row order differ in most inputs though nothing drifted. Random halves of the same
    rows are the control: the notebook gives both figures, each half's share of the positive label,
    and says the order is the sorting, not drift."""
    import numpy as np
    import statsmodels.api as sm

    table = sm.datasets.fair.load_pandas().data
    table["had_affair"] = np.where(table.pop("affairs") > 0, "yes", "no")
    roles = {"target_column": "had_affair", "positive_label": "yes", "id_column": ""}
    project = user_table_config(
        trained["state"], trained["project"], table, "fair_sorted.csv", **roles, sensitive_features=["age"]
    )
    text = notebook_text(execute("01-explore-data.ipynb", trained, project))
    ordered = re.search(r"(\d+)% of the (\d+) model inputs drifted", text)
    control = re.search(r"(\d+)% drifted between random halves of the same rows", text)
    assert ordered and control, text[-3000:]
    assert int(ordered[1]) >= 50 and int(control[1]) <= 10, (ordered[0], control[0])
    half = len(table) // 2
    first, second = (
        (part == "yes").mean() for part in (table["had_affair"][:half], table["had_affair"][half:])
    )
    assert f"'yes' is {first:.1%} in the first half, {second:.1%} in the second" in text, text[-3000:]
    assert second == 0 and "the table is sorted (by the target, a group, a date?)" in text, text[-3000:]


def test_review_experiments_shows_the_promoted_and_the_failed_version(trained):
    notebook = execute("02-review-experiments.ipynb", trained)
    text = notebook_text(notebook)
    assert re.search(r"^1\s+production\s", text, re.MULTILINE), f"version 1 in production:\n{text[:4000]}"
    assert re.search(r"^2\s+none\s+failed\s", text, re.MULTILINE), f"version 2 failed:\n{text[:4000]}"
    assert "no promotion decision: training failed" in text, text[:6000]
    assert "none (training failed, or not tracked)" in text, "version 2 has no MLflow run"
    mlflow_metric = re.search(rf"^{names.PRECISION}\s+(NaN\s+)?0\.\d+", text, re.MULTILINE)
    assert mlflow_metric, f"version 1's MLflow metrics:\n{text[-4000:]}"
    assert images_in(notebook) >= 1, "expected the metrics and fairness charts"


def test_explain_a_decision_shows_the_production_release_and_a_what_if(trained):
    notebook = execute("03-explain-a-decision.ipynb", trained)
    text = notebook_text(notebook)
    assert "production version 1" in text and "decision threshold 0.5" in text, text[:3000]
    assert "lightgbm-pred-contrib, in log-odds" in text, text[:6000]
    assert "probability" in text and "decision" in text, text[-3000:]
    assert images_in(notebook) >= 2, "expected the contributions and the what-if charts"
