"""The `container` stack: every step of the training and scoring pipelines runs in a container built by
ZenML from the project (local_docker orchestrator, local image builder, this session's podman API), and
the model does not depend on where it ran: the metrics and the scores table equal those of the same
seed and data on `local`."""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from adapters.state import StatePaths
from ml import names
from pipelines.runner import ZENML_PRO_ADVERT
from tests.e2e.harness import (
    DEMO_RELEASE_TRAINING,
    MODEL_NAME,
    PROJECT_ROOT,
    demo_stack,
    must,
    probe,
    run_cli,
    training_config,
)

pytestmark = pytest.mark.e2e
SCORING_DATE = "2026-01-15"


def train(state, env, project):
    """Train as the demo release of tests/e2e/conftest.py is trained (DEMO_RELEASE_TRAINING): the
    run's output and the training config's path."""
    config = training_config(state, "training", **DEMO_RELEASE_TRAINING)
    train = ["train", "--project", str(project), "--config", str(config)]
    return must(run_cli(PROJECT_ROOT, env, *train, timeout=2400)), config


def score_and_monitor(state, env, project, config):
    """Score the customers for SCORING_DATE, then monitor that date (retraining deferred): the store,
    the scores table sorted by customer, and the monitor run's output."""
    must(run_cli(PROJECT_ROOT, env, "score", "--project", str(project), "--date", SCORING_DATE, timeout=1200))
    with sqlite3.connect(StatePaths(state / "project").scores_db) as db:
        scores = pd.read_sql("SELECT * FROM customer_scores", db).sort_values(names.ID, ignore_index=True)
    outputs = state / "monitor-outputs.txt"
    monitor = ["monitor", "--project", str(project), "--date", SCORING_DATE, "--training-config", config]
    monitor += ["--defer-retraining", "--outputs", str(outputs)]
    monitored = must(run_cli(PROJECT_ROOT, env, *monitor, timeout=1200))
    return probe(PROJECT_ROOT, env, MODEL_NAME), scores, (monitored, outputs.read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory, container_engine, runtime_image, demo_release):
    local_run = [demo_release[key] for key in ("state", "env", "project", "config")]
    local, local_scores, local_monitor = score_and_monitor(*local_run)
    state = tmp_path_factory.mktemp("container-stack")
    env, project = demo_stack(state)
    env.update(DOCKER_HOST=container_engine["docker_host"], CONTAINER_PARENT_IMAGE=runtime_image)
    applied = must(run_cli(PROJECT_ROOT, env, "stack", "apply", "container"))
    since = time.time()
    result, config = train(state, env, project)
    store, scores, monitor = score_and_monitor(state, env, project, config)
    return {"local": local, "container": store, "train": result, "applied": applied.stdout,
            "state": state, "env": env, "project": project, "engine": container_engine["engine"],
            "started": started_containers(container_engine["engine"], since),
            "scores": {"local": local_scores, "container": scores},
            "monitor": {"local": local_monitor, "container": monitor}}  # fmt: skip


def started_containers(engine, since: float) -> list[str]:
    """The image of every container the engine started since ``since`` (its event log)."""
    events = engine.run(
        "events", "--stream=false", "--since", str(int(since)), "--filter", "type=container",
        "--filter", "event=start", "--format", "json",
    ).stdout  # fmt: skip
    return [json.loads(line)["Image"] for line in events.splitlines() if line.strip()]


def test_every_training_step_ran_in_a_container_of_the_pipeline_image(runs):
    store = runs["container"]
    assert store["stack"] == "container", store["stack"]
    run = next(r for r in store["runs"] if r["pipeline"] == "training_pipeline")
    assert run["status"] == "completed" and set(run["steps"].values()) == {"completed"}, run
    output = runs["train"].stdout + runs["train"].stderr
    plain = re.sub(r"\x1b\[[0-9;]*m|`", "", output)
    missing = [step for step in run["steps"] if f"Running step {step} in Docker" not in plain]
    assert not missing, f"steps the orchestrator did not start in a container: {missing}"
    assert ZENML_PRO_ADVERT not in plain, "ZenML's advertisement, relayed from a step's container"
    assert plain.count("generated new fontManager") <= 1, "matplotlib's font cache is built once a state"
    pipeline_image = [image for image in runs["started"] if "training_pipeline" in image]
    assert any("scoring_pipeline" in image for image in runs["started"]), (
        f"scoring ran elsewhere: {runs['started']}"
    )
    assert len(pipeline_image) >= len(run["steps"]), (
        f"{len(run['steps'])} steps but {len(pipeline_image)} containers of the pipeline's image started: "
        f"{runs['started']}"
    )


def test_training_on_containers_promotes_with_the_metrics_of_the_local_run(runs):
    versions = {
        where: next(v for v in runs[where]["model_versions"] if v["stage"] == "production")
        for where in ("local", "container")
    }
    local, container = (versions[w]["metadata"][names.METRICS] for w in ("local", "container"))
    assert container == local, f"metrics differ: container {container}, local {local}"
    assert "Promotion: production" in runs["train"].stdout, runs["train"].stdout[-2000:]


def test_scoring_on_containers_writes_the_scores_table_of_the_local_run(runs):
    local, container = runs["scores"]["local"], runs["scores"]["container"]
    assert len(container) > 0 and set(container["scoring_date"]) == {SCORING_DATE}, container.head()
    pd.testing.assert_frame_equal(container, local, check_exact=False, rtol=0, atol=1e-12)


def test_monitoring_on_containers_runs_each_step_in_a_container_and_reaches_the_local_verdict(runs):
    """The monitoring pipeline on the container stack: every step started in a container of its own
    image, and the drift line and the breaches/retrain outputs equal the local run's on the same date."""
    (monitored, outputs), (local_run, local_outputs) = runs["monitor"]["container"], runs["monitor"]["local"]
    run = next(r for r in runs["container"]["runs"] if r["pipeline"] == "monitoring_pipeline")
    assert run["status"] == "completed" and set(run["steps"].values()) == {"completed"}, run
    plain = re.sub(r"\x1b\[[0-9;]*m|`", "", monitored.stdout + monitored.stderr)
    missing = [step for step in run["steps"] if f"Running step {step} in Docker" not in plain]
    assert not missing, f"monitoring steps the orchestrator did not start in a container: {missing}"
    assert any("monitoring_pipeline" in image for image in runs["started"]), runs["started"]

    def drift_line(out: str) -> str:
        return next(line for line in out.splitlines() if line.startswith(f"Monitoring {SCORING_DATE}: drift"))

    assert drift_line(monitored.stdout) == drift_line(local_run.stdout), (monitored.stdout, local_run.stdout)
    assert outputs == local_outputs and "breaches=" in outputs, (outputs, local_outputs)


def test_a_lock_the_image_cannot_install_fails_the_run_with_the_builds_own_error(
    tmp_path_factory, container_engine, runtime_image
):
    """A copy of the project whose requirements.lock pins a package the index does not have: `train`
    on the container stack stops at the image build, exits 1, names the failed build step and shows
    the installer's own last lines (from the build output the run log keeps whole), not a traceback.
    Which error the installer meets first depends on the index it can reach: the missing package, or
    (on this machine, whose TLS-intercepting proxy's CA ZenML's builds do not get) the first fetch."""
    copy = tmp_path_factory.mktemp("broken-lock") / "project"
    left_out = (".git", ".venv", ".state", "mlruns", "template", "__pycache__", "*.sqlite", ".pytest_cache")
    shutil.copytree(PROJECT_ROOT, copy, ignore=shutil.ignore_patterns(*left_out))
    missing = "andamio-no-such-package-anywhere"
    with (copy / "requirements.lock").open("a") as lock:
        lock.write(f"{missing}==0.0.1\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "broken lock"]):  # as a user's is
        subprocess.run([*git, *command], cwd=copy, check=True)
    state = tmp_path_factory.mktemp("broken-lock-state")
    env, project = demo_stack(state)
    env.update(DOCKER_HOST=container_engine["docker_host"], CONTAINER_PARENT_IMAGE=runtime_image)
    must(run_cli(copy, env, "stack", "apply", "container"))
    config = training_config(state, "training", search={"candidates": [{}]})
    result = run_cli(copy, env, "train", "--project", str(project), "--config", config, timeout=900)
    assert result.returncode == 1, (result.returncode, result.stdout[-2000:], result.stderr[-4000:])
    error = result.stderr
    assert "the image of pipeline 'training_pipeline' did not build" in error, error[-4000:]
    assert "uv pip install" in error.split("the build's last lines:")[0], "the failed step is not named"
    assert "Traceback" not in error, error[-4000:]
    shown = [
        line.strip()
        for line in error.split("the build's last lines:\n", 1)[1].split("\n  fix ")[0].splitlines()
    ]
    log = Path(re.search(r"full build output: (\S+)", error).group(1)).read_text(encoding="utf-8")
    assert shown and all(line in log for line in shown), f"lines shown that the build did not print: {shown}"
    installer = " ".join(shown)
    assert missing in installer or "Failed to fetch" in installer or "error" in installer.lower(), shown
    print("the build's last lines, as shown:", *shown, sep="\n  ")


def test_apply_without_a_running_engine_exits_2_saying_how_to_start_one(tmp_path):
    from tests.e2e.harness import isolated_env

    env = {**isolated_env(tmp_path), "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    result = run_cli(PROJECT_ROOT, env, "stack", "apply", "container")
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "python -m stacks.containers start" in result.stderr and "no-engine.sock" in result.stderr, (
        result.stderr
    )
    assert os.path.exists(tmp_path / "zenml") is False or "created" not in result.stdout, result.stdout


def test_scoring_on_dask_inside_the_step_container_writes_the_rows_of_the_local_pandas_run(runs):
    """`engine: dask` on the container stack: the step's container starts a LocalCluster whose workers
    score and stage the partition in that container; the date's rows are the local pandas run's."""
    settings = yaml.safe_load((PROJECT_ROOT / "configs" / "scoring.yaml").read_text())
    config = runs["state"] / "scoring-dask.yaml"
    config.write_text(yaml.safe_dump({**settings, "engine": "dask"}))
    since = time.time()
    args = ("score", "--project", str(runs["project"]), "--config", str(config), "--date", SCORING_DATE)
    out = must(run_cli(PROJECT_ROOT, runs["env"], *args, timeout=1200))
    plain = re.sub(r"\x1b\[[0-9;]*m|`", "", out.stdout + out.stderr)
    assert "Running step score_on_dask in Docker" in plain, plain[-3000:]
    assert "engine dask: 1 partition\n" in out.stdout, out.stdout[-3000:]
    assert any("scoring_pipeline" in image for image in started_containers(runs["engine"], since))
    with sqlite3.connect(StatePaths(runs["state"] / "project").scores_db) as db:
        scores = pd.read_sql("SELECT * FROM customer_scores", db).sort_values(names.ID, ignore_index=True)
        left = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE name LIKE '%_staging_%'")]
    pd.testing.assert_frame_equal(scores, runs["scores"]["local"], check_exact=False, rtol=0, atol=1e-12)
    assert left == [], left


def test_a_sqlite_table_in_data_is_read_by_the_step_containers_and_one_elsewhere_is_refused(runs):
    """The default answer for SQL, sqlite:///data/customers.sqlite: .gitignore keeps it out of the code
    archive ZenML ships with each run, and the first step failed on "unable to open database file".
    The container stack mounts the project's data/ folder into its steps; a table elsewhere exits 2
    before any image is built. (statsmodels' fair, under a model name of its own.)"""
    import statsmodels.api as sm

    state, env = runs["state"], runs["env"]
    data_dir = PROJECT_ROOT / "data"
    existed = data_dir.exists()
    table = data_dir / f"container-test-{os.getpid()}.sqlite"
    fair = sm.datasets.fair.load_pandas().data
    fair = fair.assign(had_affair=(fair.pop("affairs") > 0).map({True: "yes", False: "no"}))
    fair.insert(0, "respondent", range(1, len(fair) + 1))
    raw = yaml.safe_load(Path(runs["project"]).read_text())
    raw["model_name"] = "container-fair"
    roles = {"target_column": "had_affair", "positive_label": "yes", "id_column": "respondent"}
    raw["data"] = {"source": "sql", "sql_query": "SELECT * FROM survey", "sensitive_features": ["religious"]}
    raw["data"].update(roles)
    quick = training_config(state, "fair-container", search={"candidates": [{}]}, fairness__mitigation="none")
    try:
        data_dir.mkdir(exist_ok=True)
        with sqlite3.connect(table) as db:
            fair.to_sql("survey", db, index=False)
        project = state / "project-fair.yaml"
        project.write_text(
            yaml.safe_dump({**raw, "data": {**raw["data"], "sql_url": f"sqlite:///data/{table.name}"}})
        )
        trained = must(
            run_cli(PROJECT_ROOT, env, "train", "--project", str(project), "--config", quick, timeout=2400)
        )
        plain = re.sub(r"\x1b\[[0-9;]*m|`", "", trained.stdout + trained.stderr)
        assert "Running step load_data in Docker" in plain and "Promotion: production" in plain, plain[-3000:]
        own = state / "fair-scoring.yaml"  # the demo's scores table of this state is keyed by customer_id
        own.write_text(yaml.safe_dump({"table": "fair_scores"}))
        args = ("score", "--project", str(project), "--config", str(own), "--date", "2026-02-01")
        assert f"Scored {len(fair)} rows" in must(run_cli(PROJECT_ROOT, env, *args, timeout=1200)).stdout
        with sqlite3.connect(StatePaths(state / "project").scores_db) as db:
            keys = db.execute("SELECT respondent FROM fair_scores ORDER BY CAST(respondent AS INTEGER)")
            assert [int(key) for (key,) in keys] == fair["respondent"].tolist(), "keyed by its own ids"
        elsewhere = state / "elsewhere.yaml"
        outside = {**raw["data"], "sql_url": f"sqlite:///{state / 'survey.sqlite'}"}
        elsewhere.write_text(yaml.safe_dump({**raw, "data": outside}))
        refused = run_cli(PROJECT_ROOT, env, "train", "--project", str(elsewhere), "--config", quick)
        assert refused.returncode == 2, refused.stdout[-2000:] + refused.stderr[-2000:]
        assert "runs its steps in containers that see the project's data/ folder" in refused.stderr, (
            refused.stderr
        )
    finally:
        table.unlink(missing_ok=True)
        if not existed and data_dir.exists() and not any(data_dir.iterdir()):
            data_dir.rmdir()
