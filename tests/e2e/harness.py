"""Run the project's CLI in subprocesses against an isolated ZenML/MLflow/BentoML state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MODEL_NAME = yaml.safe_load((PROJECT_ROOT / "configs/project.yaml").read_text())["model_name"]
# Variables of the caller (a shell, or a test process where MLflow sets MLFLOW_REGISTRY_URI) that
# would point a subprocess at another store or server.
LEAKY_PREFIXES = ("ZENML_", "MLFLOW_", "BENTOML_", "PROJECT_STATE_DIR")


def isolated_env(state: Path) -> dict[str, str]:
    """Environment whose ZenML store, artifacts, MLflow store and BentoML home live in ``state``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(LEAKY_PREFIXES)}
    env.update(
        ZENML_CONFIG_PATH=str(state / "zenml"),
        PROJECT_STATE_DIR=str(state / "project"),
        BENTOML_HOME=str(state / "bentoml"),
        ZENML_ANALYTICS_OPT_IN="false",
        DO_NOT_TRACK="1",
        ZENML_LOGGING_COLORS_DISABLED="true",
        NO_COLOR="1",
        PYTHONWARNINGS="ignore",
    )
    return env


def run_cli(project: Path, env: dict[str, str], *args: str, timeout: int = 600):
    """``python run.py ARGS`` in ``project`` with this interpreter (installs nothing)."""
    return subprocess.run(
        [sys.executable, "run.py", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def must(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, (
        f"{result.args} exited {result.returncode}\n--- stdout\n{result.stdout[-4000:]}"
        f"\n--- stderr\n{result.stderr[-6000:]}"
    )
    return result


def run_json(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600):
    """Run ``command`` in ``cwd``; it must exit 0 (``must``), and the last line it prints is JSON,
    returned parsed."""
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    result = must(done)
    return json.loads(result.stdout.strip().splitlines()[-1])


def probe(project: Path, env: dict[str, str], model_name: str) -> dict:
    return run_json([sys.executable, "-m", "tests.e2e.probe", model_name], project, env, timeout=300)


def project_config_copy(project: Path, state: Path, **data_updates) -> Path:
    """A copy of configs/project.yaml for a test: demo data written under ``state``."""
    raw = yaml.safe_load((project / "configs/project.yaml").read_text())
    if raw["data"].get("source", "demo") == "demo":
        raw["data"].setdefault("demo", {})["path"] = str(state / "demo.sqlite")
    raw["data"].update(data_updates)
    path = state / "project.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


# The demo data's roles, for modules that train on the generator whatever the project's answers.
DEMO_DATA = {
    "source": "demo",
    "target_column": "label",
    "positive_label": "good",
    "id_column": "customer_id",
    "sensitive_features": ["gender", "age"],
}


def demo_stack(state: Path, **demo_knobs) -> tuple[dict[str, str], Path]:
    """An isolated environment with the `local` stack applied, and a project config whose data is
    the demo generator (written under ``state``); returns (env, project config path)."""
    env = isolated_env(state)
    must(run_cli(PROJECT_ROOT, env, "stack", "apply", "local"))
    project = project_config_copy(PROJECT_ROOT, state)
    raw = yaml.safe_load(project.read_text())
    raw["data"] = {**DEMO_DATA, "demo": {"path": str(state / "demo.sqlite"), **demo_knobs}}
    project.write_text(yaml.safe_dump(raw))
    return env, project


# The training of the demo release that modules share (tests/e2e/conftest.py::demo_release), as
# `training_config` changes: one search candidate, a precision floor of 0.6. Runs compared with that
# release (another stack, another seed) train with it too.
DEMO_RELEASE_TRAINING = {"search": {"candidates": [{}]}, "promotion__min_primary_metric": 0.6}


def training_config(state: Path, name: str, **changes) -> str:
    """A copy of configs/training.yaml under ``state`` with ``changes``: ``section=value`` replaces
    a key, ``section__field=value`` one field of a section. Returns its path."""
    raw = yaml.safe_load((PROJECT_ROOT / "configs/training.yaml").read_text())
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            raw[section][field] = value
        else:
            raw[section] = value
    path = state / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def user_table_config(state: Path, project: Path, table, file: str, **data) -> Path:
    """A copy of the project config ``project`` whose data is ``table`` (a frame), written under
    ``state`` as ``file`` (Parquet, or a CSV, compressed as its suffix says: .csv.gz), with the roles
    ``data`` (target_column, positive_label, id_column, sensitive_features, ...)."""
    path = state / file
    source = "parquet" if path.suffix == ".parquet" else "csv"
    if source == "parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)
    raw = yaml.safe_load(project.read_text())
    raw["data"] = {"source": source, "path": str(path), **data}
    config = state / f"project_{path.stem}.yaml"
    config.write_text(yaml.safe_dump(raw))
    return config


def csv_project_config(state: Path, demo_project: Path, rows: int) -> Path:
    """A project config whose data is a flat CSV of ``rows`` demo customers' features without the
    id column (a user's own table), written under ``state``."""
    from ml import names
    from ml.data.demo import generate_demo
    from ml.features import build_customer_features

    tables = generate_demo(customers=rows, seed=11)
    flat = build_customer_features(tables.customers, tables.sales).drop(columns=[names.ID])
    roles = {k: v for k, v in DEMO_DATA.items() if k not in ("source", "id_column")}
    return user_table_config(state, demo_project, flat, "customers.csv", id_column="", **roles)


def run_notebook(
    name: str, env: dict[str, str], state: Path, project: Path, training: str, then: tuple[str, ...] = ()
):
    """Run notebooks/NAME top to bottom (nbclient, a fresh kernel started in the project root) with
    the isolated state and the test's configs, then the code cells ``then`` (what the test reads of
    its variables); returns the executed notebook, and raises CellExecutionError (the failing
    cell's traceback) on the first failing cell."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / name, as_version=4)
    notebook.cells.extend(nbformat.v4.new_code_cell(source) for source in then)
    env = {
        **env,
        "PROJECT_CONFIG": str(project),
        "TRAINING_CONFIG": training,
        "PYTHONPATH": str(PROJECT_ROOT),
        "IPYTHONDIR": str(state / "ipython"),
    }
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(PROJECT_ROOT)}}
    )
    client.execute(env=env)
    return notebook


def notebook_text(notebook) -> str:
    """Everything the cells of an executed notebook printed or displayed as text."""
    return "\n".join(
        output.get("text", "") + output.get("data", {}).get("text/plain", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )


def json_api(base: str):
    """A caller of the JSON API at ``base`` (bentos.local_server.http_json): ``call(path)`` GETs,
    ``call(path, body)`` POSTs ``body``; both return the decoded answer of a success (2xx) and fail on
    any other status, naming it."""
    from bentos.local_server import http_json

    def call(path: str, body: object = None):
        status, answer = http_json(base + path, body)
        assert 200 <= status < 300, f"{base}{path} answered {status}: {str(answer)[:2000]}"
        return answer

    return call


def first_answer(ask, server: subprocess.Popen, log: Path, what: str, seconds: float = 90):
    """``ask()`` once the server started as ``server`` answers it (a refused connection or a status
    other than a success is asked again); fails with the end of its ``log`` when it exits first, or with the
    last error when ``seconds`` pass."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            return ask()
        except (OSError, AssertionError) as error:  # not listening yet, or not yet answering
            assert server.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, f"{what} did not answer within {seconds:g} s: {error}"
            time.sleep(0.5)
