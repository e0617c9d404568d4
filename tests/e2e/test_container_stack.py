"""The `container` stack: every step of the training and scoring pipelines runs in a container built by
ZenML from the project (local_docker orchestrator, local image builder, this session's podman API), and
the model does not depend on where it ran: the metrics and the scores table equal those of the same
seed and data on `local`."""

import json
import os
import re
import sqlite3
import time

import pandas as pd
import pytest

from adapters.state import StatePaths
from ml import names
from tests.e2e.harness import MODEL_NAME, PROJECT_ROOT, demo_stack, must, probe, run_cli, training_config

pytestmark = pytest.mark.e2e
SCORING_DATE = "2026-01-15"


def train_and_score(state, env, project):
    """Train (one candidate), then score the customers for SCORING_DATE: the train run's output, the
    store, and the scores table sorted by customer."""
    config = training_config(
        state, "training", search={"candidates": [{}]}, promotion__min_primary_metric=0.6
    )
    train = ["train", "--project", str(project), "--config", str(config)]
    result = must(run_cli(PROJECT_ROOT, env, *train, timeout=2400))
    must(run_cli(PROJECT_ROOT, env, "score", "--project", str(project), "--date", SCORING_DATE, timeout=1200))
    with sqlite3.connect(StatePaths(state / "project").scores_db) as db:
        scores = pd.read_sql("SELECT * FROM customer_scores", db).sort_values(names.ID, ignore_index=True)
    return result, probe(PROJECT_ROOT, env, MODEL_NAME), scores


@pytest.fixture(scope="module")
def runs(tmp_path_factory, container_engine, runtime_image):
    local_state = tmp_path_factory.mktemp("local-stack")
    _, local, local_scores = train_and_score(local_state, *demo_stack(local_state))
    state = tmp_path_factory.mktemp("container-stack")
    env, project = demo_stack(state)
    env.update(DOCKER_HOST=container_engine["docker_host"], CONTAINER_PARENT_IMAGE=runtime_image)
    applied = must(run_cli(PROJECT_ROOT, env, "stack", "apply", "container"))
    since = time.time()
    result, store, scores = train_and_score(state, env, project)
    return {"local": local, "container": store, "train": result, "applied": applied.stdout,
            "started": started_containers(container_engine["engine"], since),
            "scores": {"local": local_scores, "container": scores}}  # fmt: skip


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


def test_apply_without_a_running_engine_exits_2_saying_how_to_start_one(tmp_path):
    from tests.e2e.harness import isolated_env

    env = {**isolated_env(tmp_path), "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    result = run_cli(PROJECT_ROOT, env, "stack", "apply", "container")
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "python -m stacks.containers start" in result.stderr and "no-engine.sock" in result.stderr, (
        result.stderr
    )
    assert os.path.exists(tmp_path / "zenml") is False or "created" not in result.stdout, result.stdout
