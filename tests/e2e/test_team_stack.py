"""The `team` stack end to end against real servers on 127.0.0.1 (started and stopped here): a ZenML
server with password login, an MLflow tracking server (SQLite backend, artifacts in S3) and an
S3-compatible endpoint. The project applies stacks/team.yaml from environment variables, trains, and
the run, the model version and the MLflow run are then read back through each server's own client."""

from __future__ import annotations

import sys

import boto3
import pytest
import yaml
from mlflow.tracking import MlflowClient

from bentos import local_server
from ml import names
from tests.e2e.harness import (
    DEMO_DATA,
    MODEL_NAME,
    PROJECT_ROOT,
    isolated_env,
    must,
    project_config_copy,
    run_cli,
    run_json,
    training_config,
)
from tests.e2e.team_services import S3_KEY, S3_SECRET, team_services

pytestmark = pytest.mark.e2e

# Read through the ZenML client of a process connected to the server (ZENML_STORE_URL & co).
PROBE = """
import json, sys
from zenml.client import Client
client = Client()
run = client.get_pipeline("training_pipeline").last_run
version = client.get_model_version(sys.argv[1], "latest")
print(json.dumps({
    "store_type": client.zen_store.type.value,
    "server_url": client.zen_store.url,
    "active_stack": client.active_stack_model.name,
    "run": {"name": run.name, "status": run.status.value, "tags": sorted(t.name for t in run.tags),
            "stack": run.stack.name if run.stack else None,
            "steps": {name: step.status.value for name, step in run.steps.items()}},
    "model_version": {"number": version.number, "stage": str(version.stage),
                      "mlflow_version": version.run_metadata.get("mlflow_registry_version"),
                      "run_ids": [str(r) for r in version.pipeline_run_ids.values()]},
    "artifact_uris": sorted({a.uri for step in run.steps.values() for outs in step.outputs.values()
                             for a in outs}),
    "secrets": sorted(s.name for s in client.list_secrets(size=100).items),
    "stacks": sorted(s.name for s in client.list_stacks(size=100).items),
}))
"""


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    state = tmp_path_factory.mktemp("team")
    with team_services() as services:
        env = {**isolated_env(state), **services.client_env()}
        applies = [
            must(run_cli(PROJECT_ROOT, env, "stack", "apply", name)).stdout for name in ("local", "team")
        ]
        project = project_config_copy(PROJECT_ROOT, state)
        raw = yaml.safe_load(project.read_text())  # the demo generator, whatever the project's source
        raw["data"] = {**DEMO_DATA, "demo": {"path": str(state / "demo.sqlite"), "customers": 3000}}
        project.write_text(yaml.safe_dump(raw))
        config = training_config(
            state, "team-training", search={"candidates": [{}]}, fairness__mitigation="none"
        )
        train = must(run_cli(PROJECT_ROOT, env, "train", "--project", str(project), "--config", config))
        mlflow = MlflowClient(tracking_uri=services.mlflow_url)
        experiment = mlflow.get_experiment_by_name("training_pipeline")
        runs = mlflow.search_runs([experiment.experiment_id]) if experiment else []
        champion = mlflow.get_model_version_by_alias(MODEL_NAME, "champion")
        s3 = boto3.client(
            "s3",
            endpoint_url=services.s3_url,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
        )
        keys = [
            item["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=services.bucket)
            for item in page.get("Contents", [])
        ]
        dead = {**env, "TEAM_S3_ENDPOINT_URL": f"http://127.0.0.1:{local_server.free_port()}"}
        must(run_cli(PROJECT_ROOT, dead, "stack", "apply", "team"))  # an S3 endpoint nothing answers
        unreachable = run_cli(PROJECT_ROOT, dead, "train", "--project", str(project), "--config", config)
        back = must(run_cli(PROJECT_ROOT, env, "stack", "apply", "local")).stdout
        script = state / "team_probe.py"  # a file: ZenML derives its source root from it
        script.write_text(PROBE)
        zenml = run_json(
            [sys.executable, str(script), MODEL_NAME],
            PROJECT_ROOT,
            {**env, "PYTHONPATH": str(PROJECT_ROOT)},
            timeout=300,
        )
        yield {
            "services": services,
            "applies": applies,
            "train": train.stdout,
            "zenml": zenml,
            "mlflow_runs": runs,
            "champion": champion,
            "keys": keys,
            "back": back,
            "unreachable": (dead["TEAM_S3_ENDPOINT_URL"], unreachable),
        }


def test_team_spec_applies_secrets_components_and_activates(team):
    local, applied = team["applies"]
    assert "created stack 'local'" in local, local
    for line in (
        "created secret 'team-s3'",
        "created secret 'team-mlflow'",
        "created artifact_store 'team-s3-store' (s3)",
        "created experiment_tracker 'team-mlflow-tracker' (mlflow)",
        "activated stack 'team'",
    ):
        assert line in applied, f"missing {line!r} in:\n{applied}"
    zenml = team["zenml"]
    assert zenml["store_type"] == "rest" and zenml["server_url"] == team["services"].zenml_url, zenml
    assert {"team-s3", "team-mlflow"} <= set(zenml["secrets"]), zenml["secrets"]


def test_run_is_on_the_zenml_server_with_the_stacks_run_settings(team):
    run = team["zenml"]["run"]
    assert run["status"] == "completed" and run["stack"] == "team", run
    assert set(run["steps"].values()) == {"completed"}, run["steps"]
    assert "team" in run["tags"], f"configs/stacks/team.yaml tags were not applied: {run['tags']}"
    bucket = team["services"].bucket
    uris = team["zenml"]["artifact_uris"]
    assert uris and all(uri.startswith(f"s3://{bucket}/zenml/") for uri in uris), uris[:5]
    missing = [
        uri
        for uri in uris
        if not any(key.startswith(uri.removeprefix(f"s3://{bucket}/")) for key in team["keys"])
    ]
    assert not missing, f"artifacts the server lists but the bucket lacks: {missing[:5]}"


def test_model_version_is_on_the_server_and_in_the_mlflow_registry(team):
    version = team["zenml"]["model_version"]
    assert version["number"] == 1 and version["stage"].endswith("production"), version
    champion = team["champion"]
    assert str(champion.version) == str(version["mlflow_version"]), (champion, version)
    assert champion.source.startswith("models:/m-"), champion.source


def test_mlflow_run_is_on_the_tracking_server_with_artifacts_in_s3(team):
    runs = team["mlflow_runs"]
    assert len(runs) >= 1, "no MLflow run on the tracking server"
    logged = set().union(*(run.data.metrics for run in runs))
    assert set(names.METRIC_NAMES) <= logged, f"metrics missing on the tracking server: {sorted(logged)}"
    uris = [run.info.artifact_uri for run in runs]
    assert all(uri.startswith("mlflow-artifacts:/") for uri in uris), uris
    assert any(key.startswith("mlflow/") for key in team["keys"]), "MLflow artifacts did not reach the bucket"


def test_switching_back_to_local_keeps_both_stacks(team):
    assert "activated stack 'local'" in team["back"], team["back"]
    assert "created" not in team["back"] and "updated" not in team["back"], team["back"]
    zenml = team["zenml"]
    assert zenml["active_stack"] == "local" and {"local", "team"} <= set(zenml["stacks"]), zenml


def test_an_unreachable_endpoint_stops_train_before_the_run_in_one_paragraph(team):
    url, result = team["unreachable"]
    out = result.stdout + result.stderr
    assert result.returncode == 2, out[-3000:]
    assert f"artifact store 'team-s3-store' points at {url}, which does not answer" in out, out
    assert "Traceback" not in out and len(out.strip().splitlines()) <= 3, (
        f"one paragraph, not 530 lines:\n{out}"
    )
