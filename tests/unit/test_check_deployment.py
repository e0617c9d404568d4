"""scripts/check_deployment.sh (cd's validation + performance check) against a stand-in server on
127.0.0.1: passes a ready server answering one prediction per record within the latency budget,
fails when predictions are missing, when the budget is exceeded, or when nothing is deployed."""

import json
import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class StandIn(BaseHTTPRequestHandler):
    delay = 0.0
    drop_one = False
    token = ""  # when set, /predict needs `Authorization: Bearer <token>` (as bentos/guard.py does)

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(200 if self.path == "/readyz" else 404, {})

    def do_POST(self):
        if StandIn.token and self.headers.get("Authorization") != f"Bearer {StandIn.token}":
            self.rfile.read(int(self.headers["Content-Length"]))
            return self._send(401, {"error": "missing or wrong bearer token"})
        records = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["records"]
        time.sleep(self.delay)
        answer = [{"label": "good", "probability": 0.8} for _ in records]
        self._send(200, answer[1:] if self.drop_one else answer)


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    StandIn.delay, StandIn.drop_one, StandIn.token = 0.0, False, ""


def check(state: Path, url: str | None, **env: str) -> subprocess.CompletedProcess:
    serving = state / "serving"
    serving.mkdir(parents=True, exist_ok=True)
    (serving / "example_request.json").write_text(json.dumps({"records": [{"age": 30}, {"age": 51}]}))
    if url:
        (serving / "server.json").write_text(json.dumps({"url": url}))
    return subprocess.run(
        ["bash", str(ROOT / "scripts/check_deployment.sh")],
        env={**os.environ, "PROJECT_STATE_DIR": str(state), "CHECK_REQUESTS": "5", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def url_of(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_a_ready_fast_correct_deployment_passes(server, tmp_path):
    result = check(tmp_path, url_of(server), MAX_P95_MS="2000")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 predictions for 2 records" in result.stdout and "p95 latency" in result.stdout, result.stdout


def test_missing_predictions_fail_the_check(server, tmp_path):
    StandIn.drop_one = True
    result = check(tmp_path, url_of(server))
    assert result.returncode != 0 and "for 2 records" in result.stderr, result.stdout + result.stderr


def test_a_slow_deployment_fails_the_latency_budget(server, tmp_path):
    StandIn.delay = 0.05
    result = check(tmp_path, url_of(server), MAX_P95_MS="10")
    assert result.returncode == 1 and "exceeds MAX_P95_MS=10" in result.stderr, result.stdout + result.stderr


def test_no_recorded_deployment_says_to_deploy_first(tmp_path):
    result = check(tmp_path, None)
    assert result.returncode == 2 and "run python run.py deploy first" in result.stderr, result.stderr


def test_the_bearer_token_is_sent_when_the_service_requires_one(server, tmp_path):
    StandIn.token = "s3cret-for-tests"
    refused = check(tmp_path, url_of(server))
    assert refused.returncode != 0 and "401" in refused.stderr + refused.stdout, refused.stderr
    accepted = check(tmp_path, url_of(server), SERVING_AUTH_TOKEN="s3cret-for-tests", MAX_P95_MS="2000")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
