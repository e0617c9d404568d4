"""Every command on a project with no version, with only a failed version, and with a healthy one:
exit 0 or 2 with a named cause, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bentos import local_server
from tests.e2e.harness import MODEL_NAME, PROJECT_ROOT, demo_stack, must, probe, run_cli, training_config

pytestmark = pytest.mark.e2e
NEEDS_PRODUCTION = ("score", "monitor", "deploy")
COMMANDS = (*NEEDS_PRODUCTION, "brief", "models", "rollback")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    state = tmp_path_factory.mktemp("no-release")
    env, config = demo_stack(state, customers=1500)
    port = local_server.free_port()
    (state / "serving.yaml").write_text(yaml.safe_dump({"port": port}))
    (state / "scoring.yaml").write_text(yaml.safe_dump({"customers": 500}))
    return {"state": state, "env": env, "config": config}


def run(project, command, *extra):
    args = [command, *extra]
    if command != "undeploy":
        args += ["--project", str(project["config"])]
    if command == "deploy":
        args += ["--config", str(project["state"] / "serving.yaml")]
    if command == "score":
        args += ["--config", str(project["state"] / "scoring.yaml")]
    if command == "monitor":
        args += ["--scoring-config", str(project["state"] / "scoring.yaml"), "--defer-retraining"]
    result = run_cli(PROJECT_ROOT, project["env"], *args)
    out = result.stdout + result.stderr
    assert result.returncode in (0, 2), f"{command} exited {result.returncode}:\n{out[-4000:]}"
    assert "Traceback" not in out, f"{command} printed a traceback:\n{out[-4000:]}"
    return result.returncode, out


def assert_needs_a_production_version(project, state):
    for command in NEEDS_PRODUCTION:
        code, out = run(project, command)
        assert code == 2, f"{state}: {command} exited {code}"
        assert f"model {MODEL_NAME!r} has no production version" in out, out[-2000:]
        assert "python run.py train" in out, out[-2000:]
        bilingual = (
            "Deployment failed / Despliegue fallido"
            if command == "deploy"
            else "Command failed / Comando fallido"
        )
        assert bilingual in out, out[-2000:]


def test_training_on_a_missing_table_stops_before_any_run_in_one_paragraph(project):
    """A new user's first `quickstart.sh` before putting their CSV in place: exit 2, the path and the
    fix, no traceback, and nothing made (no pipeline run, no model version)."""
    config = project["state"] / "own-table.yaml"
    raw = yaml.safe_load(project["config"].read_text())
    raw["data"] = {**raw["data"], "source": "csv", "path": "data/not-there-yet.csv"}
    raw["data"].pop("demo", None)
    config.write_text(yaml.safe_dump(raw))
    result = run_cli(PROJECT_ROOT, project["env"], "train", "--project", str(config))
    out = result.stdout + result.stderr
    assert result.returncode == 2, out[-3000:]
    assert "data.path 'data/not-there-yet.csv' does not exist" in out and "README: Quickstart" in out, out
    assert "Traceback" not in out and len(out.strip().splitlines()) <= 3, f"one paragraph:\n{out}"
    store = probe(PROJECT_ROOT, project["env"], MODEL_NAME)
    assert store["runs"] == [] and store["model_versions"] == [], store


def test_a_fresh_project_names_the_missing_version_in_every_command(project):
    assert_needs_a_production_version(project, "fresh")
    code, out = run(project, "models")
    assert code == 0 and "has no versions yet; run `python run.py train`" in out, out
    code, out = run(project, "rollback")
    assert code == 2 and "has no production version to roll back from" in out, out
    code, out = run(project, "brief")
    assert code == 0 and "No model version is in production" in out, out


def test_what_can_be_checked_before_a_run_stops_it_in_one_paragraph(project):
    """A typo in a candidate's parameters and a stack without an experiment tracker: exit 2 within
    seconds, the cause and the fix, no traceback, and no run made."""
    env, config = project["env"], str(project["config"])
    runs = len(probe(PROJECT_ROOT, env, MODEL_NAME)["runs"])
    typo = training_config(project["state"], "typo", search={"candidates": [{}, {"num_leafs": 3}]})
    result = run_cli(PROJECT_ROOT, env, "train", "--project", config, "--config", typo)
    out = result.stdout + result.stderr
    assert result.returncode == 2 and "search.candidates[1]" in out and "did you mean 'num_leaves'?" in out, (
        out
    )
    assert "Traceback" not in out and len(out.strip().splitlines()) <= 3, f"one paragraph:\n{out}"
    zenml = str(Path(sys.executable).with_name("zenml"))
    must(subprocess.run([zenml, "stack", "set", "default"], env=env, capture_output=True, text=True))
    try:
        result = run_cli(PROJECT_ROOT, env, "train", "--project", config)
    finally:
        must(subprocess.run([zenml, "stack", "set", "local"], env=env, capture_output=True, text=True))
    out = result.stdout + result.stderr
    assert result.returncode == 2 and "the active stack 'default' has no experiment tracker" in out, out
    assert "Traceback" not in out and "python run.py stack apply local" in out, out
    assert len(probe(PROJECT_ROOT, env, MODEL_NAME)["runs"]) == runs, "no run was made"


def test_a_failed_training_is_listed_as_failed_and_nothing_crashes(project):
    # A failure only the run can find: the data do not match a declared column type (text declared numeric).
    declared = project["state"] / "declared.yaml"
    raw = yaml.safe_load(project["config"].read_text())
    raw["data"]["columns"] = {"region": "numeric"}
    declared.write_text(yaml.safe_dump(raw))
    failed = run_cli(PROJECT_ROOT, project["env"], "train", "--project", str(declared))
    assert failed.returncode == 2 and "column 'region'" in failed.stderr, failed.stderr[-3000:]
    # the cause and where the full log is, without ZenML's traceback on the console
    assert "Traceback" not in failed.stdout + failed.stderr, failed.stdout[-3000:]
    log = Path(re.search(r"full log, tracebacks included: (\S+)", failed.stderr).group(1))
    assert "Traceback" in log.read_text() and "DataValidationError" in log.read_text(), log
    code, out = run(project, "models")
    assert code == 0, out
    row = next(line for line in out.splitlines() if line.strip().startswith("1 "))
    assert "none: training failed" in row, out
    assert_needs_a_production_version(project, "only a failed version")
    code, out = run(project, "rollback", "--to", "1")
    assert code == 2 and "has no production version to roll back from" in out, out
    code, out = run(project, "brief")
    assert code == 0, out


def test_a_healthy_project_runs_every_command_and_names_what_it_cannot_do(project):
    good = training_config(
        project["state"],
        "good",
        search={"candidates": [{}]},
        promotion__min_primary_metric=0.5,
        fairness__min_demographic_parity_ratio=0.0,
        fairness__max_equalized_odds_difference=1.0,
        fairness__mitigation="none",
    )
    code, out = run(project, "train", "--config", good)
    assert code == 0 and "Promotion: production" in out, out[-3000:]
    for command in ("score", "monitor", "brief", "models"):
        code, out = run(project, command)
        assert code == 0, f"{command}: {out[-3000:]}"
    code, out = run(project, "rollback")
    assert code == 2 and "replaced no earlier version; name one with --to VERSION" in out, out
    code, out = run(project, "rollback", "--to", "1")
    assert code == 2 and f"version 1 of {MODEL_NAME!r} has no release" in out, out
    assert "its training run did not reach promotion" in out, out
    code, out = run(project, "deploy")
    try:
        assert code == 0 and "Deployment succeeded / Despliegue exitoso" in out, out[-3000:]
    finally:
        must(run_cli(PROJECT_ROOT, project["env"], "undeploy"))
