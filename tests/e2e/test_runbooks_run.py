"""The English runbooks, executed: every ```bash runnable block of pages 01…10, in page order then
block order, in a freshly rendered project on the local stack; each must exit 0. Blocks marked
cloud or manual are checked with `bash -n` by tests/unit/test_runbooks.py. Conventions:
runbooks/README.md."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bentos.local_server import free_port
from ml import status
from tests.e2e.harness import DEMO_DATA, PROJECT_ROOT, first_answer, isolated_env, json_api
from tests.unit.runbook_markdown import TOPICS, anchors, blocks, resolve

pytestmark = pytest.mark.e2e

DEFAULT_ADDRESS = "127.0.0.1:3000"
CUSTOMERS = 3000  # demo customers: enough for the quality gate (precision ≥ 0.7), small enough to be quick
LINK = re.compile(r"runbooks/en/[0-9a-z-]+\.md#[0-9a-z_-]+")
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".state", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "build", "mlruns", "*.sqlite"
)


def fresh_project(destination: Path) -> Path:
    """The project as a user gets it: rendered from the template (in the template repository), or
    a clean copy of this generated project (whose template is not here)."""
    if (PROJECT_ROOT / "copier.yml").is_file():
        from tests.template.conftest import render

        return render(destination)
    shutil.copytree(PROJECT_ROOT, destination, ignore=COPY_IGNORE)
    return destination


def shrink(project: Path, port: int) -> None:
    """Bound the runtime: smaller demo data, one search candidate, a free port (see the README)."""
    path = project / "configs/project.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["data"] = {**DEMO_DATA, "demo": {**raw["data"].get("demo", {}), "customers": CUSTOMERS}}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    path = project / "configs/training.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["search"] = {"candidates": [{}]}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    path = project / "configs/serving.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["port"] = port
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def runnable_blocks() -> list:
    found = []
    for topic in TOPICS:
        page = PROJECT_ROOT / "runbooks/en" / f"{topic}.md"
        assert page.is_file(), f"runbook page missing: {page.relative_to(PROJECT_ROOT)}"
        found += [b for b in blocks(page.read_text(), page.name) if b.is_shell and b.marker == "runnable"]
    return found


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run the blocks; returns [(block, seconds, stdout + stderr)], stopping at the first failure."""
    tmp = tmp_path_factory.mktemp("runbooks")
    project = fresh_project(tmp / "project")
    port = free_port()
    shrink(project, port)
    env = isolated_env(tmp)
    env.update(
        PROJECT_STATE_DIR=str(project / ".state"),
        ZENML_CONFIG_PATH=str(project / ".state/zenml"),
        BENTOML_HOME=str(project / ".state/bentoml"),
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    )
    results = []
    try:
        for block in runnable_blocks():
            script = block.body.replace(DEFAULT_ADDRESS, f"127.0.0.1:{port}")
            started = time.monotonic()
            done = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", script],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            output = done.stdout + done.stderr
            results.append((block, time.monotonic() - started, output))
            assert done.returncode == 0, (
                f"{block.where()} exited {done.returncode} in a fresh project:\n{script}\n"
                f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-6000:]}"
            )
    finally:
        record = project / ".state/serving/server.json"
        if record.exists():  # a failure between deploy and undeploy: do not leave the server running
            subprocess.run(
                [sys.executable, "run.py", "undeploy"], cwd=project, env=env, capture_output=True, check=False
            )
    timings = "\n".join(f"{seconds:6.1f} s  {block.where()}" for block, seconds, _ in results)
    print(f"\nrunbook blocks ({sum(s for _, s, _ in results):.0f} s):\n{timings}")
    return {"project": project, "results": results}


def test_every_runnable_block_of_the_english_runbooks_succeeds_in_order(executed):
    ran = [block.where() for block, _, _ in executed["results"]]
    expected = [block.where() for block in runnable_blocks()]
    assert ran == expected, f"ran {len(ran)} of {len(expected)} runnable blocks"
    pages = {block.page for block, _, _ in executed["results"]}
    for topic in ("01-onboarding", "02-experiments", "05-deployment", "06-monitoring", "09-executive-brief"):
        assert f"{topic}.md" in pages, f"{topic}.md has no runnable block: the walkthrough skips it"


def test_the_walkthrough_printed_the_documented_status_lines(executed):
    output = "\n".join(out for _, _, out in executed["results"])
    walkthrough = (
        status.TRAINED,
        status.DEPLOYED,
        status.ROLLED_BACK,
        status.STOPPED,
        status.SCORED,
        status.BRIEF,
    )
    for expected in walkthrough:
        assert expected.text in output, f"status {expected.text!r} never printed"
        assert f"(runbook: {expected.runbook})" in output, (
            f"status {expected.text!r} printed without its link"
        )
    assert status.NO_BREACH.text in output or status.BREACHED.text in output, "monitoring printed no verdict"


def test_every_runbook_link_printed_or_written_resolves_to_a_heading(executed):
    project = executed["project"]
    printed = "\n".join(out for _, _, out in executed["results"])
    written = "\n".join(p.read_text() for p in (project / ".state/alerts").glob("*.json"))
    links = set(LINK.findall(printed)) | set(LINK.findall(written))
    assert links, "no runbook link in the commands' output"
    for link in sorted(links):
        path, fragment = resolve(link)
        assert path.is_file() and fragment in anchors(path.read_text()), f"{link} points nowhere"
    for payload in (project / ".state/alerts").glob("*.json"):
        alert = json.loads(payload.read_text())
        assert LINK.search(json.dumps(alert)), f"alert payload {payload.name} carries no runbook link"


def test_the_walkthrough_leaves_no_server_running(executed):
    record = executed["project"] / ".state/serving/server.json"
    assert not record.exists(), f"the runbooks left a server recorded in {record}: {record.read_text()}"


def test_the_mlflow_ui_command_of_page_2_serves_the_walkthroughs_training_runs(executed):
    """The ```bash manual block of page 2 (`mlflow ui` on the local stack's tracking database, a
    foreground server), run as written on a free port in the project the walkthrough left: its API
    lists the `training_pipeline` experiment with the parent runs page 2 compares (named as the ZenML
    runs, each with its promotion tag and precision) and the project's registered model."""
    import os
    import signal

    page = PROJECT_ROOT / "runbooks/en/02-experiments.md"
    (block,) = [
        b for b in blocks(page.read_text(), page.name) if b.marker == "manual" and "mlflow ui" in b.body
    ]
    port = free_port()
    project = executed["project"]
    env = isolated_env(project.parent)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    log = (project.parent / "mlflow-ui.log").open("w")
    server = subprocess.Popen(  # its own session: `mlflow ui` runs uvicorn as a child, stopped with it
        ["bash", "-c", "exec " + block.body.strip().replace("--port 5000", f"--port {port}")],
        cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    call = json_api(f"http://127.0.0.1:{port}/api/2.0/mlflow")
    try:
        search = {"max_results": 100}
        experiments = first_answer(
            lambda: call("/experiments/search", search), server, project.parent / "mlflow-ui.log", "mlflow ui"
        )["experiments"]
        (experiment,) = [e for e in experiments if e["name"] == "training_pipeline"]
        runs = call(
            "/runs/search",
            {"experiment_ids": [experiment["experiment_id"]], "filter": "tags.promotion != ''"},
        )["runs"]
        models = call("/registered-models/search?max_results=100")["registered_models"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    assert len(runs) >= 2, "page 2 trains a second time to compare two runs"
    ids = {run["info"]["run_id"] for run in runs}
    for run in runs:  # page 6's retraining came from the step cache: the figures of the run it reused
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        metrics = {m["key"] for m in run["data"].get("metrics", [])}
        assert "cached_from_run" not in tags or tags["cached_from_run"] in ids, tags
        assert re.fullmatch(
            r"training_pipeline-\d{4}_\d{2}_\d{2}-\d{2}_\d{2}_\d{2}_\d+", tags["mlflow.runName"]
        )
        assert {"precision", "recall", "fairness_score"} <= metrics, metrics
    model_name = yaml.safe_load((project / "configs/project.yaml").read_text())["model_name"]
    assert model_name in [m["name"] for m in models], models
