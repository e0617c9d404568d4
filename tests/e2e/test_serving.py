"""The production model over HTTP: `run.py deploy` builds the Bento, smoke-tests it and starts a
real server on a free loopback port; real clients then call it."""

import json
import re
import sqlite3
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bentoml
import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from bentos import local_server
from ml import names
from ml.data.demo import generate_demo
from ml.features import build_customer_features
from tests.e2e.harness import (
    DEMO_RELEASE_TRAINING,
    MODEL_NAME,
    PROJECT_ROOT,
    must,
    probe,
    run_cli,
    training_config,
)

pytestmark = pytest.mark.e2e
MAX_BATCH = 50


@pytest.fixture(scope="module")
def served(demo_release):
    """The trained demo project (version 1, seed 42: tests/e2e/conftest.py) and a second version
    trained on seed 7."""
    state, env, project = demo_release["state"], demo_release["env"], demo_release["project"]
    config = training_config(state, "training-7", seed=7, **DEMO_RELEASE_TRAINING)
    must(run_cli(PROJECT_ROOT, env, "train", "--project", str(project), "--config", str(config)))
    store = probe(PROJECT_ROOT, env, MODEL_NAME)
    production = next(v for v in store["model_versions"] if v["stage"] == "production")
    other = next(v for v in store["model_versions"] if v["stage"] != "production")
    port = local_server.free_port()
    serving = state / "serving.yaml"
    serving.write_text(
        yaml.safe_dump(
            {"port": port, "max_batch_size": MAX_BATCH, "canary": {"version": other["number"], "share": 0.3}}
        )
    )
    deploy = must(run_cli(PROJECT_ROOT, env, "deploy", "--project", str(project), "--config", str(serving)))
    url = f"http://127.0.0.1:{port}"
    yield {
        "state": state,
        "env": env,
        "url": url,
        "deploy": deploy.stdout,
        "store": store,
        "production": production,
        "other": other,
        "project": project,
    }
    must(run_cli(PROJECT_ROOT, env, "undeploy"))


def customers(n=40):
    tables = generate_demo()  # the knobs of the training data
    frame = build_customer_features(tables.customers, tables.sales).head(n)
    return frame


def records(frame):
    columns = [c for c in frame.columns if c not in (names.TARGET, "gender", "age")]
    return json.loads(frame[columns].to_json(orient="records"))


def post(url, payload):
    return local_server.http_json(url, payload)


def test_deploy_reports_success_in_both_languages_and_binds_loopback(served):
    assert "Deployment succeeded / Despliegue exitoso: http://127.0.0.1:" in served["deploy"], served[
        "deploy"
    ]
    record = json.loads((served["state"] / "project" / "serving" / "server.json").read_text())
    assert record["url"] == served["url"] and record["smoke_test"]["rows"] == 20, record
    release = served["production"]["metadata"][names.RELEASE]  # the release's identity tags its export
    assert record["models"]["primary"] == release["bento_tag"], record
    assert release["bento_tag"].startswith(f"{MODEL_NAME}:v{served['production']['number']}-"), release


def test_a_port_held_by_another_process_is_refused_and_the_running_server_kept(served):
    """Another project's server (or one whose state was deleted) on the configured port answered
    /readyz for the new one, which could not bind: deploy said it served the new model."""
    import os
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        serving = served["state"] / "serving-taken.yaml"
        serving.write_text(yaml.safe_dump({"port": port}))
        deploy = run_cli(PROJECT_ROOT, served["env"], "deploy", "--project", str(served["project"]),
                         "--config", str(serving))  # fmt: skip
    out = deploy.stdout + deploy.stderr
    assert deploy.returncode != 0, out[-3000:]
    refused = f"cannot serve at http://127.0.0.1:{port}: port {port} is held by a process this project"
    assert f"{refused} did not start" in out, out[-3000:]
    assert f"pid {os.getpid()}: " in out and "set `port` in configs/serving.yaml" in out, out[-3000:]
    assert "Deployment failed / Despliegue fallido" in out, out[-3000:]
    status, _ = post(f"{served['url']}/readyz", None)
    assert status == 200, "the project's running server is left as it was"
    record = json.loads((served["state"] / "project" / "serving" / "server.json").read_text())
    assert record["url"] == served["url"], "its record still names it"


def test_a_server_slower_than_ready_timeout_seconds_fails_the_deploy_naming_it_and_keeps_the_running_one(
    served,
):
    settings = yaml.safe_load((served["state"] / "serving.yaml").read_text())
    hasty = served["state"] / "serving-hasty.yaml"
    hasty.write_text(yaml.safe_dump({**settings, "ready_timeout_seconds": 0.5}))
    project = str(served["project"])
    result = run_cli(PROJECT_ROOT, served["env"], "deploy", "--project", project, "--config", str(hasty))
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Deployment failed / Despliegue fallido" in output, output[-3000:]
    assert re.search(r"not ready after \d+s \(serving.ready_timeout_seconds: 0.5\)", output), output[-3000:]
    assert "raise serving.ready_timeout_seconds in configs/serving.yaml" in output, output[-3000:]
    assert local_server.http_json(f"{served['url']}/readyz")[0] == 200, "the running server was stopped"
    record = json.loads((served["state"] / "project" / "serving" / "server.json").read_text())
    assert record["url"] == served["url"] and local_server.server_processes(record["pid"]), record


def test_predictions_equal_each_answering_models_own(served):
    frame = customers()
    status, body = post(f"{served['url']}/predict", {"records": records(frame)})
    assert status == 200, body
    mlflow_versions = {
        str(v["number"]): v["metadata"]["mlflow_registry_version"]
        for v in (served["production"], served["other"])
    }
    uri = served["store"]["tracking_uri"]
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    answering = body[0]["model_version"]
    assert {item["model_version"] for item in body} == {answering}, "one request, one model"
    source = client.get_model_version(MODEL_NAME, mlflow_versions[answering]).source
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        model = mlflow.sklearn.load_model(source)
    schema_columns = list(model.named_steps["prep"].feature_names_in_)
    expected = model.predict_proba(frame[schema_columns])[:, 1]
    np.testing.assert_allclose([item["probability"] for item in body], expected, rtol=0, atol=1e-9)
    assert [item["id"] for item in body] == frame[names.ID].tolist()
    assert [item["label"] for item in body] == [names.GOOD if p >= 0.5 else names.BAD for p in expected]


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda r: r.pop("region"), "region"),
        (lambda r: r.update(tenure_months="twelve"), "tenure_months"),
        (lambda r: r.update(segment="galactic"), "segment"),
        (lambda r: r.update(unknown_field=1), "unknown_field"),
        (lambda r: r.update(gender="female"), "gender"),
        (lambda r: r.update(label="good"), "label"),
    ],
    ids=["missing-field", "wrong-type", "unknown-category", "extra-field", "sensitive-column", "target"],
)
def test_bad_records_get_400_naming_the_field(served, mutate, needle):
    """... and a sensitive column or the target, which a client holding the whole row may send, are
    refused saying what they are (the setting that names them) and that the record leaves them out."""
    record = records(customers(1))[0]
    mutate(record)
    status, body = post(f"{served['url']}/predict", {"records": [record]})
    assert status == 400, (status, body)
    errors = [err for err in body["detail"] if needle in [str(part) for part in err["loc"]]]
    assert errors, body
    if needle in ("gender", "label"):
        setting = "data.sensitive_features" if needle == "gender" else "data.target_column"
        assert setting in errors[0]["msg"] and "leave it out of the record" in errors[0]["msg"], errors


def test_a_refused_request_is_one_warning_line_in_the_server_log_not_a_traceback(served):
    """The server log is for the server's errors, restarts and timeouts (runbook 05): BentoML wrote
    each refused request there at ERROR with a 25-line traceback."""
    log = Path(served["env"]["PROJECT_STATE_DIR"]) / "serving" / "server.log"
    record = records(customers(1))[0]
    record["segment"] = "galactic"
    before = log.read_text()
    for _ in range(3):
        assert post(f"{served['url']}/predict", {"records": [record]})[0] == 400
    deadline = time.monotonic() + 10
    while (added := log.read_text()[len(before) :]).count(
        " refused with 400"
    ) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    lines = [line for line in added.splitlines() if line.strip()]
    assert len(lines) == 3 and all("[WARNING]" in line for line in lines), added[-3000:]
    assert all("POST /predict refused with 400: records.0.segment: Input should be" in line for line in lines)
    assert "Traceback" not in added and "[ERROR]" not in added, added[-3000:]


def test_empty_and_oversized_batches_get_400(served):
    status, body = post(f"{served['url']}/predict", {"records": []})
    assert status == 400 and "at least 1 item" in json.dumps(body), body
    status, body = post(f"{served['url']}/predict", {"records": records(customers(MAX_BATCH + 1))})
    assert status == 400 and f"at most {MAX_BATCH} items" in json.dumps(body), body


def test_explain_contributions_add_up_to_the_answer(served):
    frame = customers(5)
    status, body = post(f"{served['url']}/explain", {"records": records(frame)})
    assert status == 200, body
    assert [item["id"] for item in body] == frame[names.ID].tolist()
    version = body[0]["model_version"]
    _, scored = post(f"{served['url']}/predict", {"records": records(frame)})
    if scored[0]["model_version"] == version:  # routed to the same model: compare exactly
        for item, prediction in zip(body, scored, strict=True):
            p = prediction["probability"]
            assert sum(item["contributions"].values()) == pytest.approx(np.log(p / (1 - p)), abs=1e-9)
    assert {"baseline", "late_payment_rate"} <= set(body[0]["contributions"]), body[0]["contributions"]


def logged_since(served, since: float, expected: int) -> list[tuple]:
    """Inference-log rows written for requests made after ``since`` (the writer flushes in the
    background: wait up to 10 s for ``expected`` rows; rows of earlier tests are never counted)."""
    log = served["state"] / "project" / "inference_log.sqlite"
    deadline, rows = time.monotonic() + 10, []
    while time.monotonic() < deadline:
        with sqlite3.connect(log) as conn:
            rows = conn.execute(
                "SELECT model_version, record_id, inputs, label, probability FROM inference_log "
                "WHERE ts >= ? ORDER BY rowid",
                (since,),
            ).fetchall()
        if len(rows) >= expected:
            break
        time.sleep(0.2)
    return rows


def test_canary_share_routes_about_30_percent_and_both_are_logged(served):
    since = time.time()
    record = records(customers(1))
    answered = Counter(
        post(f"{served['url']}/predict", {"records": record})[1][0]["model_version"] for _ in range(1000)
    )
    canary = str(served["other"]["number"])
    assert set(answered) == {canary, str(served["production"]["number"])}, answered
    assert 250 <= answered[canary] <= 350, f"canary answered {answered[canary]} of 1000 at share 0.3"
    logged = Counter(row[0] for row in logged_since(served, since, 1000))
    assert logged == answered, f"inference log rows {logged} != answers {answered}"


def test_inference_log_has_one_row_per_prediction_with_inputs(served):
    since = time.time()
    frame = customers(7)
    post(f"{served['url']}/predict", {"records": records(frame)})
    rows = logged_since(served, since, 7)
    assert len(rows) == 7 and {r[1] for r in rows} == {str(i) for i in frame[names.ID]}, rows
    assert json.loads(rows[0][2])["region"] in {"north", "south", "east", "west", "central"}


def test_bentoml_client_health_metrics_and_openapi(served):
    with bentoml.SyncHTTPClient(served["url"]) as client:
        answer = client.predict(records=records(customers(2)))
    assert len(answer) == 2 and {"id", "label", "probability", "model_version"} <= set(answer[0]), answer
    for path in ("/healthz", "/livez", "/readyz"):
        assert local_server.http_json(served["url"] + path)[0] == 200, path
    status, metrics = local_server.http_json(served["url"] + "/metrics")
    assert status == 200 and "bentoml_service_request_total" in str(metrics), str(metrics)[:500]
    status, spec = local_server.http_json(served["url"] + "/docs.json")
    assert status == 200 and {"/predict", "/explain"} <= set(spec["paths"]), list(spec["paths"])


def test_server_is_not_ready_until_its_model_is_loaded(served):
    record = json.loads((served["state"] / "project" / "serving" / "server.json").read_text())
    port = local_server.free_port()
    url, log = f"http://127.0.0.1:{port}", served["state"] / "readiness.log"
    env = {
        **served["env"],
        "SERVING_MODEL_TAG": record["models"]["primary"],
        "SERVING_INFERENCE_LOG": str(served["state"] / "readiness.sqlite"),
    }
    process = local_server.start(record["bento_tag"], "127.0.0.1", port, env, log, PROJECT_ROOT)
    seen = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                status = local_server.http_json(f"{url}/readyz", timeout=2)[0]
            except OSError:
                status = "refused"
            seen.append(status)
            if status == 200:
                break
            time.sleep(0.05)
        status, body = post(f"{url}/predict", {"records": records(customers(1))})
    finally:
        local_server.stop(process.pid, process)
    assert seen[-1] == 200 and seen[0] != 200, f"readiness sequence {seen[:5]} … {seen[-3:]}"
    assert status == 200, body


def test_documented_curl_example_works(served):
    command = next(
        line.strip().removeprefix("try: ")
        for line in served["deploy"].splitlines()
        if line.strip().startswith("try: curl")
    )
    result = subprocess.run(
        command, shell=True, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert isinstance(answer, list), f"{command}\n-> {answer}"
    assert len(answer) == 2 and answer[0]["label"] in (names.GOOD, names.BAD), answer


def test_bento_carries_its_dockerfile(served):
    record = json.loads((served["state"] / "project" / "serving" / "server.json").read_text())
    name, version = record["bento_tag"].split(":")
    dockerfile = served["state"] / "bentoml" / "bentos" / name / version / "env" / "docker" / "Dockerfile"
    assert dockerfile.is_file() and "FROM " in dockerfile.read_text(), dockerfile


def test_monitor_reports_the_servers_health_at_the_configured_price_and_purges_rows_past_retention(served):
    """monitoring.price_per_cpu_hour and retention_days off their defaults, on this module's real
    inference log: the line monitor prints (nothing printed the serving health before) counts what
    the log holds for the window, prices it as configured, and the purge removed only the old row."""

    log = served["state"] / "project" / "inference_log.sqlite"
    table = names.INFERENCE_LOG_TABLE
    with sqlite3.connect(log) as conn:  # a row of a week ago: older than retention_days 2
        old = list(conn.execute(f"SELECT * FROM {table} LIMIT 1").fetchone())
        columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})")]
        old[columns.index("ts")], old[columns.index("request_id")] = time.time() - 7 * 86_400, "week-old"
        conn.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(old))})", old)
    config = served["state"] / "monitoring-health.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "retention_days": 2,
                "price_per_cpu_hour": 2.0,
                "thresholds": {"p99_latency_ms": 600_000},  # this test reads the report, not an alert
                "retrain": False,
                "webhook": {"dry_run": True},
            }
        )
    )
    day = datetime.now(UTC).date()
    project = ("--project", str(served["project"]))
    out = must(run_cli(PROJECT_ROOT, served["env"], "monitor", *project, "--config", str(config))).stdout
    line = next((row for row in out.splitlines() if row.startswith("serving ")), None)
    since = (day - timedelta(days=1)).isoformat()
    with sqlite3.connect(log) as conn:
        left = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE request_id = 'week-old'").fetchone()[0]
        rows = conn.execute(
            f"SELECT request_id, endpoint, model_version, latency_ms FROM {table} WHERE ts >= ?",
            (pd.Timestamp(since).timestamp(),),
        ).fetchall()
    latency = {request: ms for request, _, _, ms in rows}  # one latency per request, on each of its rows
    predictions = Counter(str(version) for _, endpoint, version, _ in rows if endpoint == "predict")
    cost = sum(latency.values()) / 1000 / 3600 * 2.0 / sum(predictions.values()) * 1000
    assert line and line.startswith(f"serving {since} to {day + timedelta(days=1)} (UTC"), out[-3000:]
    versions = ", ".join(f"version {v}: {n}" for v, n in sorted(predictions.items()))
    counts = f"{len(latency)} requests, {sum(predictions.values())} predictions ({versions})"
    assert counts in line, f"expected {counts!r} in {line!r}"
    assert f"cost per 1,000 predictions {cost:.4g} at price_per_cpu_hour 2 (CPU estimated" in line, line
    assert line.endswith("; 1 log row older than retention_days 2 purged"), line
    assert left == 0 and len(predictions) == 2, "the week-old row purged; the canary's version answered too"


def test_an_ipv6_host_serves_at_its_bracketed_url_and_a_host_not_of_this_machine_is_refused_naming_it(
    served,
):
    """`host: ::1` was bound as IPv4 and refused as a port "held by a process this project did not
    start"; so was a host that is not this machine's, whose fix is `host`, not `port`."""
    import psutil

    settings = yaml.safe_load((served["state"] / "serving.yaml").read_text())
    project, port = str(served["project"]), settings["port"]
    foreign = served["state"] / "serving-foreign.yaml"
    foreign.write_text(yaml.safe_dump({**settings, "host": "192.0.2.1"}))  # TEST-NET-1: no machine's
    refused = run_cli(PROJECT_ROOT, served["env"], "deploy", "--project", project, "--config", str(foreign))
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "Deployment failed / Despliegue fallido" in output, output[-3000:]
    why = f"nothing can listen on 192.0.2.1 port {port}: not an address of this machine; set `host`"
    assert f"cannot serve at http://192.0.2.1:{port}: {why}" in output, output[-3000:]
    assert "held by a process" not in output, output[-3000:]
    assert local_server.http_json(f"{served['url']}/readyz")[0] == 200, "the running server is kept"

    ipv6 = served["state"] / "serving-ipv6.yaml"
    ipv6.write_text(yaml.safe_dump({**settings, "host": "::1", "port": local_server.free_port("::1")}))
    url = f"http://[::1]:{yaml.safe_load(ipv6.read_text())['port']}"
    try:
        deployed = must(
            run_cli(PROJECT_ROOT, served["env"], "deploy", "--project", project, "--config", str(ipv6))
        )
        record = json.loads((served["state"] / "project" / "serving" / "server.json").read_text())
        status, body = post(f"{url}/predict", {"records": records(customers(2))})
        listening = {
            c.laddr.ip
            for c in psutil.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == int(url.rsplit(":", 1)[1])
        }
    finally:  # the module's server back for the tests after this one
        must(
            run_cli(
                PROJECT_ROOT,
                served["env"],
                "deploy",
                "--project",
                project,
                "--config",
                str(served["state"] / "serving.yaml"),
            )
        )
    assert f"Deployment succeeded / Despliegue exitoso: {url} " in deployed.stdout, deployed.stdout[-3000:]
    assert record["url"] == url, record
    assert status == 200 and [item["id"] for item in body] == customers(2)[names.ID].tolist(), body
    assert listening == {"::1"}, f"{url} listens on {listening}"
    assert local_server.http_json(f"{served['url']}/readyz")[0] == 200, "redeployed as configured"
