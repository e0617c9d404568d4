"""The alert webhook (adapters/webhook.py): delivery against a real local receiver, retries, dry runs,
and the URL from the environment or a secret."""

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from adapters.webhook import DEFAULT_OUTBOX, deliver, webhook_url_from_env, webhook_url_origin
from ml.alerts import slack_payload, teams_payload
from tests.unit import test_alerts

alert = test_alerts.alert  # the fixture: the alert test_alerts checks


class Receiver:
    """A webhook on 127.0.0.1: answers the scripted statuses in order (then 200), records each body."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.bodies: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/moved")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"nope")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T000/SECRET"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_receiver_gets_the_exact_json_posted(receiver, alert):
    payload = slack_payload(alert)
    result = deliver(payload, receiver.url, wait_seconds=0)
    assert (result.delivered, result.attempts, result.status, result.error) == (True, 1, 200, None), result
    assert [json.loads(body) for body in receiver.bodies] == [payload], receiver.bodies


def test_two_server_errors_are_retried_and_the_third_attempt_delivers(receiver, alert):
    receiver.statuses = [500, 500]
    result = deliver(teams_payload(alert), receiver.url, attempts=3, wait_seconds=0)
    assert (result.delivered, result.attempts, result.status) == (True, 3, 200), result
    assert len(receiver.bodies) == 3, "one POST per attempt"


def test_server_always_failing_returns_undelivered_after_all_attempts(receiver, alert, caplog):
    receiver.statuses = [500] * 10
    result = deliver(slack_payload(alert), receiver.url, attempts=4, wait_seconds=0)
    assert (result.delivered, result.attempts, result.status) == (False, 4, 500), result
    assert len(receiver.bodies) == 4, receiver.bodies
    assert "failed after 4 attempt(s): HTTP 500" in result.error, result.error
    assert "SECRET" not in result.error and "SECRET" not in caplog.text, "the webhook token must not leak"
    assert any(r.levelname == "WARNING" for r in caplog.records), "a failed delivery is logged at WARNING"


def test_a_payload_that_could_not_be_delivered_is_kept_for_a_resend(receiver, alert, tmp_path):
    payload = slack_payload(alert)
    outbox = tmp_path / "alerts"
    receiver.statuses = [503] * 3
    failed = deliver(payload, receiver.url, attempts=3, wait_seconds=0, keep_undelivered_in=str(outbox))
    assert (failed.delivered, failed.attempts, failed.dry_run_file) == (False, 3, None), failed
    kept = Path(failed.undelivered_file)
    assert kept.parent == outbox and json.loads(kept.read_text(encoding="utf-8")) == payload, kept
    assert f"the payload is kept in {kept}" in failed.error, failed.error
    receiver.statuses = [400]
    refused = deliver(payload, receiver.url, wait_seconds=0, keep_undelivered_in=str(outbox))
    assert refused.undelivered_file and refused.undelivered_file != failed.undelivered_file, refused
    assert len(list(outbox.iterdir())) == 2, "one file per undelivered alert"
    delivered = deliver(payload, receiver.url, wait_seconds=0, keep_undelivered_in=str(outbox))
    assert delivered.delivered and delivered.undelivered_file is None, delivered
    assert len(list(outbox.iterdir())) == 2, "a delivered payload is not kept"
    unwritable = tmp_path / "a-file"
    unwritable.write_text("")
    receiver.statuses = [400]
    lost = deliver(payload, receiver.url, wait_seconds=0, keep_undelivered_in=str(unwritable / "alerts"))
    assert lost.undelivered_file is None and "keeping the payload under" in lost.error, lost.error


def test_an_undelivered_alert_names_where_its_url_comes_from(receiver, alert, monkeypatch):
    monkeypatch.delenv("TEAM_HOOK", raising=False)
    from_secret = webhook_url_origin("TEAM_HOOK", "alert_webhook")
    assert from_secret == "the 'url' value of the ZenML secret 'alert_webhook'"
    receiver.statuses = [404]
    result = deliver(slack_payload(alert), receiver.url, wait_seconds=0, url_origin=from_secret)
    assert "the 'url' value of the ZenML secret 'alert_webhook' must hold" in result.error, result.error
    assert "ALERT_WEBHOOK_URL" not in result.error, "the default variable is not where this URL came from"
    monkeypatch.setenv("TEAM_HOOK", receiver.url)
    assert webhook_url_origin("TEAM_HOOK", "alert_webhook") == "the environment variable TEAM_HOOK"
    assert webhook_url_origin("TEAM_HOOK", None) == "the environment variable TEAM_HOOK"


def test_connection_refused_returns_undelivered_without_raising(alert):
    with socket.socket() as bound_not_listening:  # holds the port so connecting is refused
        bound_not_listening.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound_not_listening.getsockname()[1]}/hook"
        result = deliver(slack_payload(alert), url, attempts=2, wait_seconds=0, timeout=2)
    assert (result.delivered, result.attempts, result.status) == (False, 2, None), result
    assert "refused" in result.error.lower(), result.error


def test_client_error_is_not_retried(receiver, alert):
    receiver.statuses = [400]
    result = deliver(slack_payload(alert), receiver.url, attempts=3, wait_seconds=0)
    assert (result.delivered, result.attempts, result.status) == (False, 1, 400), result
    assert len(receiver.bodies) == 1, "a 400 means the payload is wrong: sending it again cannot help"
    assert "HTTP 400 'nope' (not retried)" in result.error, result.error


def test_dry_run_writes_the_payload_and_sends_nothing(receiver, alert, tmp_path):
    payload = teams_payload(alert)
    result = deliver(payload, receiver.url, dry_run_dir=str(tmp_path / "outbox"))
    assert (result.delivered, result.attempts, result.error) == (False, 0, None), result
    assert receiver.bodies == [], "a dry run must not POST"
    written = Path(result.dry_run_file)
    assert written.parent == tmp_path / "outbox", written
    assert json.loads(written.read_text(encoding="utf-8")) == payload, "the file holds the payload"
    assert written.read_text(encoding="utf-8").startswith('{\n  "type"'), "pretty-printed JSON"


def test_missing_url_writes_to_the_default_outbox_instead_of_sending(alert, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    payload = slack_payload(alert)
    result = deliver(payload, None)
    assert (result.delivered, result.attempts, result.error) == (False, 0, None), result
    assert Path(result.dry_run_file).parent == Path(DEFAULT_OUTBOX), result.dry_run_file
    assert json.loads(Path(result.dry_run_file).read_text(encoding="utf-8")) == payload, (
        "file holds the payload"
    )


def test_redirect_is_not_followed_so_the_post_is_never_turned_into_a_get(receiver, alert):
    receiver.statuses = [302]
    result = deliver(slack_payload(alert), receiver.url, attempts=3, wait_seconds=0)
    assert (result.delivered, result.attempts, result.status) == (False, 1, 302), result
    assert len(receiver.bodies) == 1 and "the webhook moved" in result.error, result.error


def test_non_http_url_is_refused_without_raising(alert, tmp_path):
    result = deliver(slack_payload(alert), f"file://{tmp_path}/x.json", wait_seconds=0)
    assert (result.delivered, result.attempts) == (False, 0), result
    assert "is not an http(s) URL" in result.error, result.error
    broken = deliver(slack_payload(alert), "http://[::1/hook", wait_seconds=0)
    assert (broken.delivered, broken.attempts) == (False, 0), broken


def test_webhook_url_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("ALERT_WEBHOOK_URL", " https://hooks.example/T/SECRET \n")
    assert webhook_url_from_env() == "https://hooks.example/T/SECRET", "read and stripped"
    monkeypatch.setenv("ALERT_WEBHOOK_URL", "")
    assert webhook_url_from_env() is None, "empty means not configured"
    monkeypatch.delenv("ALERT_WEBHOOK_URL")
    assert webhook_url_from_env() is None, "unset means not configured"


def test_webhook_url_comes_from_the_env_var_first_then_the_secret(monkeypatch):
    from adapters.webhook import webhook_url

    secrets = {"alert_webhook": {"url": "https://hooks.example.com/from-secret"}, "empty": {"token": "x"}}
    monkeypatch.setenv("HOOK_URL", "https://hooks.example.com/from-env")
    assert (
        webhook_url("HOOK_URL", "alert_webhook", secrets.__getitem__) == "https://hooks.example.com/from-env"
    )
    monkeypatch.delenv("HOOK_URL")
    assert (
        webhook_url("HOOK_URL", "alert_webhook", secrets.__getitem__)
        == "https://hooks.example.com/from-secret"
    )
    assert webhook_url("HOOK_URL", None, secrets.__getitem__) is None
    with pytest.raises(ValueError, match=r"secret 'empty' has no 'url' value \(keys: \['token'\]\).*--url="):
        webhook_url("HOOK_URL", "empty", secrets.__getitem__)


def test_the_monitoring_step_reads_a_real_zenml_secret(tmp_path):
    """steps.monitor.zenml_secret against a ZenML store of its own (a subprocess: ZenML reads
    ZENML_CONFIG_PATH once, at import)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "from zenml.client import Client\n"
        "from adapters.webhook import webhook_url\n"
        "from steps.monitor import zenml_secret\n"
        "Client().create_secret('alert_webhook', values={'url': 'https://hooks.example.com/T0/x'})\n"
        "print(webhook_url('UNSET_HOOK_ENV', 'alert_webhook', zenml_secret))\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ZENML_", "UNSET_HOOK_ENV"))},
        "ZENML_CONFIG_PATH": str(tmp_path / "zenml"),
        "ZENML_ANALYTICS_OPT_IN": "false",
        "DO_NOT_TRACK": "1",
    }
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "https://hooks.example.com/T0/x"
