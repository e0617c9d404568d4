"""The service image: `run.py deploy` with `runtime: container` builds the Bento's image on the offline
base image, runs it on the host's network as a non-root user, and it answers like the registry's model;
`run.py undeploy` removes it."""

import json
import os
import re
import shutil
import subprocess

import mlflow
import numpy as np
import pytest
import yaml

from adapters.state import StatePaths
from bentos import container_server, local_server
from tests.e2e.harness import MODEL_NAME, PROJECT_ROOT, must, probe, run_cli
from tests.e2e.test_serving import customers, records

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def deployed(demo_release, container_engine):
    state, env, project = demo_release["state"], demo_release["env"], demo_release["project"]
    port = local_server.free_port()
    serving = state / "serving.yaml"
    container = {"engine": "podman", "base_image": container_engine["base_image"]}
    serving.write_text(yaml.safe_dump({"port": port, "runtime": "container", "container": container}))
    deploy = must(
        run_cli(
            PROJECT_ROOT, env, "deploy", "--project", str(project), "--config", str(serving), timeout=1800
        )
    )
    record = json.loads((state / "project" / "serving" / "server.json").read_text())
    yield {"state": state, "env": env, "url": f"http://127.0.0.1:{port}", "deploy": deploy.stdout,
           "record": record, "store": probe(PROJECT_ROOT, env, MODEL_NAME)}  # fmt: skip
    undeploy = must(run_cli(PROJECT_ROOT, env, "undeploy"))
    assert f"container {record['container']}" in undeploy.stdout, undeploy.stdout
    listed = container_server.run("podman", "ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert record["container"] not in listed, f"undeploy left the container {record['container']}: {listed}"


def test_the_image_runs_as_a_non_root_user_on_the_host_network(deployed):
    record = deployed["record"]
    assert record["runtime"] == "container" and record["image"].startswith("localhost/"), record
    uid = int(re.match(r"uid=(\d+)", record["user"]).group(1))
    assert uid != 0, f"the service container runs as root: {record['user']}"
    inspect = container_server.run(
        "podman", "inspect", "--format", "{{.HostConfig.NetworkMode}}", record["container"]
    )
    assert inspect.stdout.strip() == "host", inspect.stdout
    size = int(
        container_server.run("podman", "image", "inspect", "--format", "{{.Size}}", record["image"]).stdout
    )
    print(f"image {record['image']}: {size / 1e6:.0f} MB, built in {record['build_seconds']} s")


def test_probabilities_equal_the_registrys_model(deployed):
    frame = customers(20)
    status, body = local_server.http_json(f"{deployed['url']}/predict", {"records": records(frame)})
    assert status == 200, body
    production = next(v for v in deployed["store"]["model_versions"] if v["stage"] == "production")
    uri = deployed["store"]["tracking_uri"]
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    source = client.get_model_version(MODEL_NAME, production["metadata"]["mlflow_registry_version"]).source
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        model = mlflow.sklearn.load_model(source)
    expected = model.predict_proba(frame[list(model.named_steps["prep"].feature_names_in_)])[:, 1]
    np.testing.assert_allclose([item["probability"] for item in body], expected, rtol=0, atol=1e-9)
    assert {item["model_version"] for item in body} == {str(production["number"])}, body[:2]
    for path in ("/livez", "/readyz", "/metrics"):
        assert local_server.http_json(deployed["url"] + path)[0] == 200, path
    status, explained = local_server.http_json(
        f"{deployed['url']}/explain", {"records": records(frame.head(2))}
    )
    assert status == 200 and len(explained) == 2, explained
    log = StatePaths(StatePaths(deployed["state"] / "project").container_state).inference_log
    assert log.is_file(), f"the container wrote no inference log at {log}"


def test_check_deployment_passes_against_the_container(deployed):
    env = {**deployed["env"], "PROJECT_STATE_DIR": str(deployed["state"] / "project")}
    done = subprocess.run(
        ["bash", "scripts/check_deployment.sh"], cwd=PROJECT_ROOT, env=env,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_thirty_seconds_at_20_concurrent_clients_answer_only_200(deployed, tmp_path):
    body = tmp_path / "request.json"
    body.write_text(json.dumps({"records": records(customers(1))}))
    hey = shutil.which("hey")
    assert hey, "the `hey` load generator is missing: bash scripts/test.sh installs it (apt-get install hey)"
    result = subprocess.run(
        [hey, "-z", "30s", "-c", "20", "-m", "POST", "-T", "application/json", "-D", str(body)]
        + [f"{deployed['url']}/predict"],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    statuses = {int(code): int(n) for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", result.stdout)}
    assert statuses and set(statuses) == {200}, f"status codes {statuses}:\n{result.stdout[-2000:]}"
    assert "Error distribution" not in result.stdout, result.stdout.split("Error distribution")[-1][:2000]
    print(f"load: {sum(statuses.values())} requests in 30 s at 20 clients")


def test_monitoring_reads_the_requests_the_container_served(deployed):
    """The container writes its inference log in its own state dir (mounted at /state) and monitoring
    reads it beside the process server's: under a p99 limit every real request exceeds, the latency
    breach it reports comes from the container's rows (the process server's log does not exist)."""
    state = deployed["state"]
    paths = StatePaths(state / "project")
    assert not paths.inference_log.exists(), "a process server's log: the rows would not be the container's"
    served = StatePaths(paths.container_state).inference_log
    monitoring, window, outputs = state / "monitoring.yaml", state / "window.yaml", state / "monitor-outputs"
    thresholds = {
        "p99_latency_ms": 0.001,
        "drift_share": 1.0,
        "prediction_drift": False,
        "min_metric": 0.0,
    }
    monitoring.write_text(yaml.safe_dump({"webhook": {"dry_run": True}, "thresholds": thresholds}))
    window.write_text(yaml.safe_dump({"customers": 2000, "drift": 0.0}))
    args = [
        "--project",
        str(state / "project.yaml"),
        "--config",
        str(monitoring),
        "--scoring-config",
        str(window),
    ]
    done = must(
        run_cli(
            PROJECT_ROOT, deployed["env"], "monitor", *args, "--defer-retraining", "--outputs", str(outputs)
        )
    )
    assert dict(line.split("=", 1) for line in outputs.read_text().splitlines()) == {
        "breaches": "1", "retrain": "false"}, done.stdout[-2000:]  # fmt: skip
    incident = json.loads(paths.incident_log.read_text().splitlines()[-1])
    assert "latency_p99_ms" in incident["detection"], incident
    assert served.is_file(), served


def test_a_broken_image_fails_the_deploy_with_the_builds_error_and_keeps_the_running_server(deployed):
    serving = deployed["state"] / "serving-broken.yaml"
    broken = {"engine": "podman", "base_image": "localhost/no-such-base:0"}
    port = int(deployed["url"].rsplit(":", 1)[1])
    serving.write_text(yaml.safe_dump({"port": port, "runtime": "container", "container": broken}))
    project = deployed["state"] / "project.yaml"
    result = run_cli(
        PROJECT_ROOT, deployed["env"], "deploy", "--project", str(project), "--config", str(serving)
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "building the image of Bento" in output and "no-such-base" in output, output[-3000:]
    assert local_server.http_json(f"{deployed['url']}/readyz")[0] == 200, "the running container was stopped"


def test_the_docker_engine_runs_the_image_through_a_docker_compatible_api_and_names_what_its_build_lacks(
    deployed, container_engine, monkeypatch
):
    """`container.engine: docker` (never run before) with the `docker` CLI against the test's
    Docker-compatible API (podman's here; Docker's own elsewhere). Podman's API has no BuildKit, which
    BentoML builds with: the deploy fails saying so and how to fix it, and the running server is kept.
    The run path then serves the image podman built through the docker CLI: found through the API and
    not rebuilt, the same answers as the podman container, the image's non-root user, removed by stop.
    Not shown here: a docker build (podman's API lacks BuildKit; without it, the legacy builder cannot
    reach the package index, whose host configuration only the podman path mounts)."""
    assert shutil.which("docker"), "the docker CLI is missing: bash scripts/test.sh installs it (docker.io)"
    state, record, url = deployed["state"], deployed["record"], deployed["url"]
    docker_host = container_engine["docker_host"]
    serving = state / "serving-docker.yaml"
    container = {"engine": "docker", "base_image": container_engine["base_image"]}
    serving.write_text(yaml.safe_dump({"port": int(url.rsplit(":", 1)[1]), "runtime": "container",
                                       "container": container}))  # fmt: skip
    project = str(state / "project.yaml")
    result = run_cli(PROJECT_ROOT, {**deployed["env"], "DOCKER_HOST": docker_host}, "deploy", "--project",
                     project, "--config", str(serving))  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "doesn't support BuildKit" in output, output[-3000:]
    assert "export DOCKER_BUILDKIT=0" in output and "container.engine: podman" in output, output[-3000:]
    assert local_server.http_json(f"{url}/readyz")[0] == 200, "the running container was stopped"

    monkeypatch.setenv("DOCKER_HOST", docker_host)
    assert container_server.build_image(record["bento_tag"], "docker") == (record["image"], 0.0)
    port = local_server.free_port()
    name, mounted = f"docker-engine-{port}", state / "docker-engine-state"
    env = {"SERVING_MODEL_TAG": record["models"]["primary"],
           "SERVING_INFERENCE_LOG": f"{container_server.CONTAINER_STATE}/inference_log.sqlite"}  # fmt: skip
    container_server.start("docker", record["image"], name, "127.0.0.1", port, env, mounted)
    try:
        local_server.wait_ready(f"http://127.0.0.1:{port}", None, 120)
        frame = records(customers(20))
        _, podman_answers = local_server.http_json(f"{url}/predict", {"records": frame})
        status, docker_answers = local_server.http_json(
            f"http://127.0.0.1:{port}/predict", {"records": frame}
        )
        assert status == 200 and docker_answers == podman_answers, "the same rows, the same answers"
        uid = int(re.match(r"uid=(\d+)", container_server.user("docker", name)).group(1))
        assert uid == container_server.IMAGE_UID, f"runs as uid {uid}"
        assert "Service scoring initialized" in container_server.logs("docker", name)
        assert (mounted / "inference_log.sqlite").is_file(), "the container writes its log in the mounted dir"
    finally:
        container_server.stop("docker", name)
    listed = container_server.run("docker", "ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert name not in listed, f"stop left the container {name}: {listed}"
