"""Reliability and security of a trained, deployed project: the API fuzzed from its OpenAPI schema,
a 60 s load, faults (server killed under load, failing steps, a killed batch write, concurrent
promotions) and the serving path's guards (auth, size limit, loopback, no pickle).

One project is trained once for the module (its training run is also the retry test: a fault
makes the promotion step raise twice) and deployed once; the other tests reuse it."""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import NamedTuple

import psutil
import pytest
import yaml

from bentos import local_server
from ml import names
from tests.e2e.harness import MODEL_NAME, PROJECT_ROOT, demo_stack, must, probe, run_cli, training_config
from tests.e2e.test_serving import customers, records

pytestmark = pytest.mark.e2e
FAULTS = Path(__file__).parent / "faults"
MAX_BATCH = 100
MAX_BYTES = 64 * 1024
RETRY = {"max_retries": 2, "delay_seconds": 0, "backoff": 1}
TOKEN_ENV = "SERVING_AUTH_TOKEN"
WORKERS = 2  # serving.workers: the module's server runs two worker processes (the default is one)


def with_fault(env: dict, target: str, failures: str, log: Path) -> dict:
    """``env`` whose Python processes break ``target`` (tests/e2e/faults/sitecustomize.py)."""
    return {
        **env,
        "PYTHONPATH": os.pathsep.join([str(FAULTS), str(PROJECT_ROOT)]),
        "ANDAMIO_FAULT": target,
        "ANDAMIO_FAULT_FAILURES": failures,
        "ANDAMIO_FAULT_LOG": str(log),
    }


def fault_calls(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    state = tmp_path_factory.mktemp("reliability")
    env, project_config = demo_stack(state)
    config = training_config(
        state,
        "training",
        search={"candidates": [{}]},
        promotion__min_primary_metric=0.6,
        fairness__mitigation="none",
        retry=RETRY,
    )
    retry_log = state / "fault-retried.log"
    trained = must(
        run_cli(
            PROJECT_ROOT,
            with_fault(env, "ml.promotion:decide", "2", retry_log),
            "train",
            "--project",
            str(project_config),
            "--config",
            config,
        )
    )
    port = local_server.free_port()
    serving = state / "serving.yaml"
    serving.write_text(
        yaml.safe_dump(
            {"port": port, "max_batch_size": MAX_BATCH, "max_request_bytes": MAX_BYTES, "workers": WORKERS}
        )
    )
    deploy = must(
        run_cli(PROJECT_ROOT, env, "deploy", "--project", str(project_config), "--config", str(serving))
    )
    server = json.loads((state / "project" / "serving" / "server.json").read_text())
    yield {
        "state": state,
        "env": env,
        "project": project_config,
        "config": config,
        "trained": trained.stdout,
        "retry_log": retry_log,
        "deploy": deploy.stdout,
        "server": server,
        "url": f"http://127.0.0.1:{port}",
        "port": port,
    }
    must(run_cli(PROJECT_ROOT, env, "undeploy"))


# ---------------------------------------------------------------- faults: retries and the cache


def test_a_step_that_raises_is_retried_per_config_and_the_run_succeeds(project):
    calls = fault_calls(project["retry_log"])
    assert calls == ["raised", "raised", "passed"], f"promotion step attempts: {calls} (max_retries=2)"
    assert "Training run" in project["trained"] and "completed" in project["trained"], project["trained"]
    assert "Promotion: production" in project["trained"], project["trained"]


def test_a_rerun_after_a_failed_step_resumes_from_the_cache(project):
    log = project["state"] / "fault-always.log"
    args = ("train", "--project", str(project["project"]), "--config", project["config"])
    failed = run_cli(PROJECT_ROOT, with_fault(project["env"], "ml.promotion:decide", "always", log), *args)
    assert failed.returncode != 0, failed.stdout[-2000:]
    assert "injected fault in ml.promotion:decide" in failed.stdout + failed.stderr, failed.stderr[-3000:]
    assert fault_calls(log) == ["raised"] * 3, f"1 attempt + max_retries=2: {fault_calls(log)}"
    must(run_cli(PROJECT_ROOT, project["env"], *args))
    store = probe(PROJECT_ROOT, project["env"], MODEL_NAME)
    training = [r for r in store["runs"] if r["pipeline"] == "training_pipeline"]
    broken, rerun = training[-2], training[-1]
    assert broken["status"] == "failed" and broken["steps"]["promote"] == "failed", broken
    assert rerun["status"] == "completed" and rerun["steps"]["promote"] == "completed", rerun
    never_cached = ("promote", "load_data", "model_card")  # enable_cache=False: they run every time
    upstream = {name: status for name, status in rerun["steps"].items() if name not in never_cached}
    assert upstream and set(upstream.values()) == {"cached"}, f"steps before the failed one: {upstream}"
    # the version trained from the cache carries the same metadata as one trained from scratch
    versions = {v["number"]: v["metadata"] for v in store["model_versions"]}
    first, resumed = versions[min(versions)], versions[rerun["model_version"]]
    for key in (names.METRICS, names.FAIRNESS, names.DATA_FINGERPRINT, "mlflow_model_uri", "mlflow_run_id"):
        assert key in resumed, f"{key} missing on the resumed version: {sorted(resumed)}"
    assert resumed[names.METRICS] == first[names.METRICS], "same data and settings, same metrics"
    assert resumed[names.PROMOTION_DECISION]["stage"] in ("production", "staging", "none"), resumed


def test_a_change_to_the_projects_code_misses_the_cache_and_an_unchanged_rerun_hits_it(tmp_path_factory):
    """ZenML's cache key holds a step's own source, not the project code it calls: a rerun after a
    `git pull` that changed ml/fairness.py (the gate's rule) reused the old code's verdict. The
    project's code is in every step's key: unchanged, a rerun is cached; changed, it runs again."""
    import mlflow

    copy = tmp_path_factory.mktemp("code-change") / "project"
    left_out = (".git", ".venv", ".state", "mlruns", "template", "__pycache__", "*.sqlite", ".pytest_cache")
    shutil.copytree(PROJECT_ROOT, copy, ignore=shutil.ignore_patterns(*left_out))
    state = tmp_path_factory.mktemp("code-change-state")
    env, project = demo_stack(state, customers=1500)
    config = training_config(state, "one", search={"candidates": [{}]}, fairness__mitigation="none")
    args = ("train", "--project", str(project), "--config", config)
    printed = []
    for change in (None, None, "\n# a change a `git pull` brought\n"):
        if change:
            with (copy / "ml/fairness.py").open("a") as module:
                module.write(change)
        printed.append(must(run_cli(copy, env, *args)).stdout)
    runs = [r for r in probe(copy, env, MODEL_NAME)["runs"] if r["pipeline"] == "training_pipeline"]
    first, same, changed = (run["steps"] for run in runs[-3:])
    steps = ("engineer_features", "split_data", "train_candidate_0", "check_fairness", "evaluate")
    assert {first[s] for s in steps} == {"completed"}, first
    assert {same[s] for s in steps} == {"cached"}, f"same code, data and settings: {same}"
    assert {changed[s] for s in steps} == {"completed"}, f"ml/fairness.py changed: {changed}"
    # the cached rerun's MLflow run holds the figures of the run that computed them, and says so
    (database,) = state.rglob("mlflow.db")
    client = mlflow.MlflowClient(f"sqlite:///{database}")
    (experiment,) = [e for e in client.search_experiments() if e.name == "training_pipeline"]
    parents = client.search_runs([experiment.experiment_id], "tags.promotion != ''", order_by=["start_time"])
    first_run, same_run, changed_run = (run.data for run in parents[-3:])
    assert same_run.tags["cached_from_run"] == parents[-3].info.run_id, same_run.tags
    assert same_run.metrics == first_run.metrics and same_run.params == first_run.params
    assert (
        "cached_from_run" not in changed_run.tags and changed_run.metrics.keys() == first_run.metrics.keys()
    )
    reused = f"its model is the one run {parents[-3].info.run_name} trained (the step cache"
    assert [reused in out for out in printed] == [False, True, False], printed[1][-2000:]


# ---------------------------------------------------------------- the API under fuzzing and load


def names_a_field(body: object) -> bool:
    """A 4xx body that points at what is wrong: each error has the location of the field. A body
    that is not JSON at all, or JSON but not an object (e.g. a list), has no field: its error is
    about the body as a whole (the line and column, or "Input should be an object")."""
    whole_body = ("json_invalid", "model_type")
    if isinstance(body, dict) and isinstance(body.get("detail"), list) and body["detail"]:
        return all(
            isinstance(e, dict) and e.get("msg") and (e.get("loc") or e.get("type") in whole_body)
            for e in body["detail"]
        )
    return False


NOT_JSON = [  # (media type, body): what a client may send instead of JSON
    ("multipart/form-data", {"records": "[]"}),
    ("application/x-www-form-urlencoded", {"records": "[]"}),
    ("text/plain", '{"records": []}'),
    ("application/octet-stream", b'{"records": []}'),
]


def test_fuzzed_api_passes_every_schemathesis_check_in_json_and_other_media_types(project):
    """schemathesis' every check (no 5xx, status codes, content types, headers and bodies as the
    published OpenAPI document says, negative data refused, positive data accepted) on generated
    valid and invalid JSON bodies, and on bodies in other media types (415)."""
    from datetime import timedelta

    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    checks = list(CHECKS.get_all())
    url = project["url"]
    schema = schemathesis.openapi.from_url(f"{url}/docs.json")
    # A body over the size limit is refused with 413 before it is parsed (documented in /docs.json):
    # for a schema-violating body (e.g. more records than maxItems, long strings) that is a refusal too.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    report = {"statuses": Counter(), "failures": [], "unnamed": []}

    def validate(path, label, case):
        try:
            response = case.call_and_validate(base_url=url, checks=checks, timeout=20)
        except Exception as failure:  # schemathesis' FailureGroup: each failed check, with the case
            report["failures"].append((path, label, repr(case.body)[:300], str(failure)[:2000]))
            return
        report["statuses"][(path, label, response.status_code)] += 1
        if response.status_code == 400 and not names_a_field(response.json()):
            report["unnamed"].append((path, repr(case.body)[:300], response.text[:500]))

    def fuzz(path, mode):
        @settings(
            max_examples=40,
            deadline=timedelta(seconds=10),
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=schema[path]["POST"].as_strategy(generation_mode=mode))
        def exercise(case):
            validate(path, mode.value, case)

        exercise()

    for path in ("/predict", "/explain"):
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            fuzz(path, mode)
        for media_type, body in NOT_JSON:
            validate(path, media_type, schema[path]["POST"].Case(body=body, media_type=media_type))
    (project["state"] / "fuzz-report.json").write_text(json.dumps({"statuses": str(report["statuses"])}))
    print("fuzzing:", dict(report["statuses"]))
    assert not report["failures"], f"{len(report['failures'])} failed checks, e.g. {report['failures'][:2]}"
    assert not report["unnamed"], f"400 answers that name no field: {report['unnamed'][:3]}"
    answered = {(label, status) for (_, label, status) in report["statuses"]}
    assert {("positive", 200), ("negative", 400)} <= answered, f"valid and invalid inputs: {answered}"
    assert {status for label, status in answered if "/" in label} == {415}, f"other media types: {answered}"


def test_docs_are_served_at_docs_with_the_short_api_description(project):
    import httpx

    from bentos.contract import API_DESCRIPTION

    page = httpx.get(f"{project['url']}/docs", timeout=10)
    assert page.status_code == 200 and "swagger-ui" in page.text, (page.status_code, page.text[:300])
    spec = httpx.get(f"{project['url']}/docs.json", timeout=10).json()
    assert spec["info"]["description"] == API_DESCRIPTION, spec["info"]["description"][:500]
    assert "mermaid" not in json.dumps(spec), "the project README is no longer the API description"
    for path in ("/predict", "/explain"):
        assert spec["paths"][path]["post"]["requestBody"]["required"] is True, spec["paths"][path]


@pytest.mark.parametrize("media_type", [media_type for media_type, _ in NOT_JSON])
def test_a_body_in_another_media_type_than_json_gets_415_naming_json(project, media_type):
    import httpx

    sends = [{"content": b"records=[]", "headers": {"Content-Type": media_type}}]  # multipart: no boundary
    if media_type.startswith("multipart"):
        sends.append({"files": {"records": ("records.json", b"[]", "application/json")}})
    for path in ("/predict", "/explain"):
        for send in sends:
            answer = httpx.post(f"{project['url']}{path}", timeout=10, **send)
            assert answer.status_code == 415, (path, send, answer.status_code, answer.text[:300])
            assert "application/json" in answer.json()["error"], answer.text


@pytest.mark.parametrize("value", [False, True, "12"], ids=["false", "true", "string"])
def test_a_number_field_refuses_booleans_and_strings_naming_the_field(project, value):
    record = records(customers(1))[0]
    record["tenure_months"] = value
    status, body = local_server.http_json(f"{project['url']}/predict", {"records": [record]})
    assert status == 400, (value, status, body)
    (error,) = body["detail"]
    assert error["loc"][-1] == "tenure_months" and "valid number" in error["msg"], body
    sent = "the string '12'" if isinstance(value, str) else f"{str(value).lower()}, a boolean"
    assert f"got {sent}: send a JSON number" in error["msg"], error


def test_a_bare_array_or_another_key_than_records_gets_400_showing_the_body(project):
    record = records(customers(1))[0]
    for body, loc, says in (
        ([record], [], 'Input should be an object: {"records": [record, ...]}, got an array'),
        ({"rows": [record]}, ["records"], "got the keys ['rows']"),
        ({"records": record}, ["records"], "wrap the one record in [ ]"),
    ):
        status, answer = local_server.http_json(f"{project['url']}/predict", body)
        assert status == 400, (body, status, answer)
        (error,) = answer["detail"]
        assert error["loc"] == loc and says in error["msg"], answer


def test_a_value_far_beyond_the_training_range_gets_400_naming_the_field_and_the_range(project):
    record = records(customers(1))[0]
    record["tenure_months"] = 10_000
    status, body = local_server.http_json(f"{project['url']}/predict", {"records": [record]})
    assert status == 400, (status, body)
    (error,) = body["detail"]
    assert error["loc"][-1] == "tenure_months", body
    assert "Input should be within" in error["msg"] and "got 10000" in error["msg"], error
    assert "training saw" in error["msg"] and "range_margin=0.5" in error["msg"], error


def test_an_unseen_category_in_the_api_is_a_400_listing_the_allowed_values(project):
    record = records(customers(1))[0]
    record["region"] = "atlantis"
    status, body = local_server.http_json(f"{project['url']}/predict", {"records": [record]})
    assert status == 400, (status, body)
    error = next(e for e in body["detail"] if "region" in map(str, e["loc"]))
    assert all(f"'{region}'" in error["msg"] for region in ("north", "south", "central")), error


def test_a_body_over_the_configured_size_gets_413_before_parsing(project):
    many = records(customers(400))  # ≈ 100 KB > max_request_bytes (64 KiB)
    status, body = local_server.http_json(f"{project['url']}/predict", {"records": many})
    assert status == 413 and f"limit of {MAX_BYTES} bytes" in body["error"], (status, body)
    status, body = local_server.http_json(f"{project['url']}/predict", {"records": many[: MAX_BATCH + 1]})
    assert status == 400 and f"at most {MAX_BATCH} items" in json.dumps(body), "under the size limit"


def test_the_server_listens_on_loopback_only_by_default(project):
    from bentos.runtime import ServingRuntime
    from ml.settings import ServingSettings

    assert ServingSettings().host == "127.0.0.1", "configs default"
    assert yaml.safe_load((PROJECT_ROOT / "configs/serving.yaml").read_text())["host"] == "127.0.0.1"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SERVING_HOST", raising=False)
        patch.setenv("SERVING_MODEL_TAG", "any:v1")
        assert ServingRuntime.from_env().host == "127.0.0.1", "runtime default (a Bento run by hand)"
    listening = {
        c.laddr.ip
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == project["port"]
    }
    assert listening == {"127.0.0.1"}, f"port {project['port']} listens on {listening}"


def test_sixty_seconds_at_50_concurrent_clients_answer_only_200(project, tmp_path):
    body = tmp_path / "request.json"
    body.write_text(json.dumps({"records": records(customers(1))}))
    hey = shutil.which("hey")
    assert hey, "the `hey` load generator is missing: bash scripts/test.sh installs it (apt-get install hey)"
    result = subprocess.run(
        [hey, "-z", "60s", "-c", "50", "-m", "POST", "-T", "application/json", "-D", str(body)]
        + [f"{project['url']}/predict"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    report = project["state"] / "load-60s-50c.txt"
    report.write_text(result.stdout + result.stderr)
    print(result.stdout)
    assert result.returncode == 0, result.stderr
    statuses = {int(code): int(n) for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", result.stdout)}
    assert statuses and set(statuses) == {200}, f"status codes {statuses}; see {report}"
    assert "Error distribution" not in result.stdout, result.stdout.split("Error distribution")[-1][:2000]
    percentiles = dict(re.findall(r"(\d+)% in ([\d.]+) secs", result.stdout))
    assert {"50", "99"} <= set(percentiles), f"latency percentiles recorded in {report}"
    print(f"load: {sum(statuses.values())} requests, p50 {percentiles['50']} s, p99 {percentiles['99']} s")


class Call(NamedTuple):
    customer: int
    started: float
    ended: float
    status: int | str  # the exception's name when no answer came
    body: object


def post_unique(
    url: str, clients: int, stop: threading.Event, calls: list[Call], token: str | None = None
) -> list[threading.Thread]:
    """``clients`` threads post one record each, every request under a new customer id, until
    ``stop``; ``calls`` gets each request's Call."""
    template = records(customers(1))[0]

    def client(number: int) -> None:
        sent = 0
        while not stop.is_set():
            customer = (number + 1) * 10**9 + sent  # apart from the demo ids other tests log
            started = time.monotonic()
            status, body = request(
                url, {"records": [{**template, names.ID: customer}]}, token=token, timeout=10
            )
            calls.append(Call(customer, started, time.monotonic(), status, body))
            sent += 1
            if status != 200:
                time.sleep(0.05)  # refused while the server stops or is down: do not spin

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def logged_ids(log: Path) -> Counter:
    """How often each record id is in the inference log, as the ids were posted (ints): other tests'
    rows (the fuzzer's ids are any text) are counted under their own text and never match."""
    with sqlite3.connect(log) as conn:
        ids = (r for (r,) in conn.execute(f"SELECT record_id FROM {names.INFERENCE_LOG_TABLE}"))
        return Counter(int(r) if r and r.isdecimal() and r.isascii() else r for r in ids)


def test_two_workers_from_serving_yaml_both_answer_and_the_log_holds_each_answer_once(project):
    workers = local_server.server_processes(project["server"]["pid"])
    busy_before = {w.pid: sum(w.cpu_times()[:2]) for w in workers}
    calls: list[Call] = []
    stop = threading.Event()
    threads = post_unique(f"{project['url']}/predict", 8, stop, calls)
    time.sleep(8)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    busy = {w.pid: sum(w.cpu_times()[:2]) - busy_before[w.pid] for w in workers if w.is_running()}
    assert {c.status for c in calls} == {200}, Counter(c.status for c in calls)
    probabilities = {c.body[0]["probability"] for c in calls}
    assert len(probabilities) == 1, f"the same inputs got {len(probabilities)} answers across the workers"
    # The API's workers are the processes that spent the most CPU under this load: both must have.
    serving = sorted(busy.values(), reverse=True)[:WORKERS]
    assert len(serving) == WORKERS and min(serving) > 0.2 * max(serving), (
        f"CPU seconds per server process under load {busy}: expected {WORKERS} workers sharing it"
    )
    sent = {c.customer for c in calls}
    log = project["state"] / "project" / "inference_log.sqlite"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not sent <= set(logged_ids(log)):
        time.sleep(0.2)
    logged = logged_ids(log)
    assert not sent - set(logged), f"{len(sent - set(logged))} of {len(sent)} answered requests not logged"
    assert all(logged[c] == 1 for c in sent), "each answer logged once"


# ---------------------------------------------------------------- a server of our own: auth, kill


def start_guarded_server(project, port, token, tag, **settings):
    """A server of the module's Bento under ``token`` (none: open), ``settings`` as SERVING_* variables."""
    env = {
        **project["env"],
        "SERVING_MODEL_TAG": project["server"]["models"]["primary"],
        "SERVING_INFERENCE_LOG": str(project["state"] / f"{tag}.sqlite"),
        **({TOKEN_ENV: token} if token else {}),
        **{f"SERVING_{key.upper()}": str(value) for key, value in settings.items()},
    }
    log = project["state"] / f"{tag}.log"
    process = local_server.start(project["server"]["bento_tag"], "127.0.0.1", port, env, log, PROJECT_ROOT)
    local_server.wait_ready(f"http://127.0.0.1:{port}", process, 120, log)
    return process


def request(url, payload=None, token=None, timeout=10):
    """(status, body) of one call; the status is the exception's name when no answer came."""
    import http.client
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if payload is None else json.dumps(payload).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=timeout) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (OSError, http.client.HTTPException) as exc:  # a server killed mid-answer: IncompleteRead
        return type(exc).__name__, None
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


def test_bearer_token_guards_the_api_and_the_server_recovers_from_a_kill_under_load(project):
    token = "test-only-" + os.urandom(8).hex()
    port = local_server.free_port()
    url = f"http://127.0.0.1:{port}"
    payload = {"records": records(customers(3))}
    process = start_guarded_server(project, port, token, "guarded")
    try:
        assert request(f"{url}/predict", payload)[0] == 401, "no token"
        assert request(f"{url}/predict", payload, token="wrong")[0] == 401, "wrong token"
        assert request(f"{url}/explain", payload)[0] == 401, "explain is guarded too"
        status, body = request(f"{url}/predict", payload, token=token)
        assert status == 200 and len(body) == 3, body
        for path in ("/healthz", "/livez", "/readyz", "/metrics"):
            assert request(url + path, timeout=5)[0] == 200, f"{path} stays open"

        calls: list[Call] = []
        stop = threading.Event()
        clients = post_unique(f"{url}/predict", 8, stop, calls, token=token)
        time.sleep(3)
        crashed = local_server.server_processes(process.pid)  # the arbiter and its workers
        assert len(crashed) >= 2, f"expected a server process and its workers: {crashed}"
        killed_at = time.monotonic()
        for server_process in crashed:
            server_process.kill()  # SIGKILL: a crash, no graceful shutdown
        process.wait(timeout=30)
        process = start_guarded_server(project, port, token, "guarded-restarted")
        ready_at = time.monotonic()
        time.sleep(3)
        stop.set()
        for thread in clients:
            thread.join(timeout=30)
    finally:
        restarted = local_server.server_processes(process.pid)
        local_server.stop(process.pid, process)
    lingering = psutil.wait_procs(restarted, timeout=10)[1]
    assert restarted and not lingering, f"stop() left processes of the server behind: {lingering}"
    before = [c for c in calls if c.ended < killed_at]
    after = [c for c in calls if c.started > ready_at]
    failed = [c for c in calls if c.status != 200]
    assert before and {c.status for c in before} == {200}, (
        f"before the kill: {Counter(c.status for c in before)}"
    )
    assert len(after) > 20 and {c.status for c in after} == {200}, (
        f"after restart: {Counter(c.status for c in after)}"
    )
    assert failed, "the kill must have hit some requests (in flight or during the outage)"
    assert all(killed_at - 0.5 <= c.ended and c.started <= ready_at for c in failed), (
        "only requests in flight at the kill or sent during the outage may fail: "
        f"{[(round(c.started - killed_at, 2), round(c.ended - killed_at, 2), c.status) for c in failed][:5]}"
    )


def test_a_graceful_stop_under_load_of_two_workers_loses_no_answered_request(project):
    """`undeploy` (SIGTERM) while 8 clients post: every request that got its answer is in the
    inference log; the workers flush their queues as they stop."""
    port = local_server.free_port()
    process = start_guarded_server(project, port, None, "stopped-under-load", workers=WORKERS)
    calls: list[Call] = []
    stop = threading.Event()
    threads = post_unique(f"http://127.0.0.1:{port}/predict", 8, stop, calls)
    try:
        time.sleep(4)
        pids = [p.pid for p in local_server.server_processes(process.pid)]
        assert len(pids) >= 1 + WORKERS, f"a server and {WORKERS} workers expected: {pids}"
        stopped_at = time.monotonic()
        local_server.stop(process.pid, process)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        local_server.stop(process.pid, process)
    before = Counter(c.status for c in calls if c.ended < stopped_at)
    assert set(before) == {200}, f"posted as soon as /readyz said ready, before the stop: {before}"
    answered = {c.customer for c in calls if c.status == 200}
    refused = Counter(c.status for c in calls if c.status != 200)
    assert len(answered) > 50 and refused, (
        f"answered {len(answered)}, refused {refused}: the stop came under load"
    )
    logged = logged_ids(project["state"] / "stopped-under-load.sqlite")
    lost = answered - set(logged)
    assert not lost, f"{len(lost)} of {len(answered)} answered requests missing from the inference log"
    assert all(logged[c] == 1 for c in answered), "each answer logged once"


def test_a_request_slower_than_timeout_seconds_gets_504_and_the_server_answers_the_next(project):
    """serving.timeout_seconds (SERVING_TIMEOUT) reaches BentoML's traffic timeout: a client that
    sends its body 2 s after its headers holds the request past a 1 s timeout."""
    import socket

    port = local_server.free_port()
    process = start_guarded_server(project, port, None, "timeout-1s", timeout=1)
    body = json.dumps({"records": records(customers(1))}).encode()
    head = "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
            slow.sendall(f"{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
            time.sleep(2)
            with contextlib.suppress(OSError):  # the server may have answered and closed already
                slow.sendall(body)
            answer = b""
            while chunk := slow.recv(65536):
                answer += chunk
        status, after = request(f"http://127.0.0.1:{port}/predict", {"records": records(customers(1))})
    finally:
        local_server.stop(process.pid, process)
    text = answer.decode(errors="replace")
    assert text.startswith("HTTP/1.1 504"), text[:500]
    assert "Not able to process the request in 1.0 seconds" in text, text[-500:]
    assert status == 200 and len(after) == 1, (status, after)


def test_a_deploy_failing_after_its_server_started_stops_that_server_and_frees_the_port(project):
    """A failure in the deploy step other than the server's own (here one injected into the readiness
    wait, after the smoke test's) left the started server running and recorded nowhere: the next
    deploy found its port "held by a process this project did not start"."""
    settings = yaml.safe_load((project["state"] / "serving.yaml").read_text())
    port = local_server.free_port()
    failing = project["state"] / "serving-fails.yaml"
    failing.write_text(yaml.safe_dump({**settings, "port": port}))
    calls = project["state"] / "fault-ready.log"
    env = {
        **with_fault(project["env"], "bentos.local_server:wait_ready", "1", calls),
        "ANDAMIO_FAULT_SKIP": "1",
    }
    config = ["--project", str(project["project"]), "--config"]
    try:
        failed = run_cli(PROJECT_ROOT, env, "deploy", *config, str(failing))
        held = local_server.port_in_use("127.0.0.1", port)
        servers = [
            p.pid
            for p in psutil.process_iter(["cmdline"])
            if f"--port {port}" in " ".join(p.info["cmdline"] or ())
        ]
    finally:  # the module's server back for the tests after this one
        must(run_cli(PROJECT_ROOT, project["env"], "deploy", *config, str(project["state"] / "serving.yaml")))
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0 and "Deployment failed / Despliegue fallido" in output, output[-3000:]
    assert "injected fault in bentos.local_server:wait_ready (call 2)" in output, output[-3000:]
    assert fault_calls(calls) == ["passed", "raised"], "the smoke test's wait passed, the deploy's raised"
    assert not held and not servers, f"port {port} held: {held}; its server's processes left: {servers}"
    assert local_server.http_json(f"{project['url']}/readyz")[0] == 200, "the module's server redeployed"


# ---------------------------------------------------------------- batch scoring and the registry

WRITE_SCRIPT = """
import sys
from datetime import date
import pandas as pd, sqlalchemy as sa
from adapters.scores_db import write_scores
n = int(sys.argv[2])
frame = pd.DataFrame({"customer_id": range(n), "label": "bad", "probability": 0.1,
                      "model_version": "killed", "scoring_date": sys.argv[3]})
engine = sa.create_engine(sys.argv[1])
print("writing", flush=True)
write_scores(engine, "customer_scores", frame, date.fromisoformat(sys.argv[3]))
print("done", flush=True)
"""


def test_a_batch_write_killed_mid_way_leaves_the_dates_previous_rows(project, tmp_path):
    import pandas as pd
    import sqlalchemy as sa

    from adapters.scores_db import read_scores, write_scores

    day, database = date(2026, 3, 1), tmp_path / "scores.sqlite"
    url = f"sqlite:///{database}"
    engine = sa.create_engine(url)
    previous = pd.DataFrame(
        {
            names.ID: range(1000),
            names.TARGET: names.GOOD,
            "probability": 0.9,
            "model_version": "1",
            "scoring_date": day.isoformat(),
        }
    )
    write_scores(engine, "customer_scores", previous, day)
    before = read_scores(engine, "customer_scores", day)
    engine.dispose()
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITE_SCRIPT, url, "1000000", day.isoformat()],
        cwd=PROJECT_ROOT,
        env=project["env"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline().strip() == "writing"
    journal = Path(f"{database}-journal")
    deadline = time.monotonic() + 60
    while not journal.exists() and writer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # the delete is done and the insert under way
    assert writer.poll() is None, "the write finished before it could be killed: use a bigger frame"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    engine = sa.create_engine(url)
    try:
        after = read_scores(engine, "customer_scores", day)
        everything = read_scores(engine, "customer_scores")
    finally:
        engine.dispose()
    pd.testing.assert_frame_equal(before, after, obj="the date's rows after the killed rewrite")
    assert len(everything) == 1000 and set(everything.model_version) == {"1"}, "no partial rows anywhere"


def test_two_concurrent_promotions_leave_exactly_one_production_version(project):
    versions = probe(PROJECT_ROOT, project["env"], MODEL_NAME)["model_versions"]
    candidates = [str(v["number"]) for v in versions if v["stage"] != "production"][:2]
    assert len(candidates) == 2, f"the module's runs left versions {versions}"
    at = str(time.time() + 8)  # both processes have imported ZenML by then
    racers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.promote_racer", MODEL_NAME, version, at],
            cwd=PROJECT_ROOT,
            env=project["env"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for version in candidates
    ]
    outcomes = [(r.wait(timeout=120), *r.communicate()) for r in racers]
    after = probe(PROJECT_ROOT, project["env"], MODEL_NAME)["model_versions"]
    production = [str(v["number"]) for v in after if v["stage"] == "production"]
    assert len(production) == 1, f"production versions after the race: {production}; {outcomes}"
    winners = [v for v, (code, _, _) in zip(candidates, outcomes, strict=True) if code == 0]
    assert winners, f"at least one promotion succeeds: {outcomes}"
    assert production[0] in winners, f"production {production} was not promoted by a successful racer"
    for code, out, err in outcomes:
        assert code == 0 or "Traceback" in err, f"a failed racer fails with its error: {out} {err[-2000:]}"


# ---------------------------------------------------------------- no pickle on the serving path

PICKLE_MODULES = {"pickle", "cPickle", "joblib", "cloudpickle", "dill", "skops"}
PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib", ".pck", ".cloudpickle", ".skops"}


def pickle_findings(root: Path) -> list[str]:
    """Files under ``root`` that are pickles (by name or magic bytes) or Python importing a pickler."""
    found = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix in PICKLE_SUFFIXES:
            found.append(f"{path}: pickle file name")
            continue
        head = path.open("rb").read(2)
        if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
            found.append(f"{path}: pickle protocol header")
        if path.suffix == ".py":
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    mods = [a.name.split(".")[0] for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    mods = [(node.module or "").split(".")[0]]
                else:
                    continue
                found += [f"{path}: imports {m}" for m in mods if m in PICKLE_MODULES]
            found += [
                f"{path}: {m}" for m in ("picklable_model", "sklearn.load_model") if m in path.read_text()
            ]
    return found


def test_the_bento_and_its_models_hold_no_pickle(project):
    home = project["state"] / "bentoml"
    name, version = project["server"]["bento_tag"].split(":")
    bento = home / "bentos" / name / version
    assert (bento / "src" / "bentos" / "service.py").is_file(), list(bento.rglob("*"))[:20]
    models = [
        home / "models" / tag.split(":")[0] / tag.split(":")[1]
        for tag in project["server"]["models"].values()
    ]
    assert all((m / "booster.txt").is_file() for m in models), models
    findings = [f for root in (bento, *models) for f in pickle_findings(root)]
    assert not findings, findings
    # the scanner itself catches what it looks for
    planted = project["state"] / "planted"
    planted.mkdir()
    (planted / "model.py").write_text("import joblib\n")
    (planted / "blob.bin").write_bytes(b"\x80\x04\x95")
    assert len(pickle_findings(planted)) == 2, pickle_findings(planted)
