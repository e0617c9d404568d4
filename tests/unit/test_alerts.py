"""Alerts: bilingual Slack / Teams payloads, webhook delivery against a real local receiver, JSONL logs."""

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ml.alerts import (
    DEFAULT_OUTBOX,
    RUNBOOK_INCIDENT,
    Breach,
    audit,
    build_alert,
    deliver,
    open_incident,
    read_jsonl,
    slack_payload,
    teams_payload,
    webhook_url_from_env,
)

DRIFT = Breach("drift_share", 0.45, 0.30, "above", "12 of 27 columns drifted")
PRECISION = Breach("precision", 0.612, 0.7, "below")
NUMBERS = ("0.45", "0.30", "0.612", "0.70")
RUNBOOK = "https://example.org/andamio/" + RUNBOOK_INCIDENT
ACTION = "retraining triggered / reentrenamiento lanzado"


@pytest.fixture
def alert() -> dict:
    return build_alert("customer-scoring", "customer-scoring", "3", [DRIFT, PRECISION], RUNBOOK, ACTION)


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


def test_alert_states_every_breach_in_english_and_spanish(alert):
    assert alert["summary_es"].startswith("Umbral de monitorización superado:"), alert["summary_es"]
    assert "drift_share 0.45 > 0.30" in alert["text_en"], alert["text_en"]
    assert "precision 0.612 < 0.70" in alert["text_en"], alert["text_en"]
    assert "drift_share 0.45 > 0.30; precision 0.612 < 0.70" in alert["summary_es"], alert["summary_es"]
    assert alert["breaches"][0] == {
        "metric": "drift_share",
        "value": 0.45,
        "threshold": 0.3,
        "direction": "above",
        "detail": "12 of 27 columns drifted",
    }, alert["breaches"]
    assert (alert["runbook_url"], alert["action"]) == (RUNBOOK, ACTION), alert
    assert alert["at"].endswith("+00:00"), f"the alert time must be UTC: {alert['at']}"


def test_drift_only_alert_has_the_drift_headline_in_both_languages():
    drift = build_alert("p", "m", "1", [DRIFT], RUNBOOK_INCIDENT, ACTION)
    assert drift["summary_es"].startswith("Deriva de datos detectada: drift_share 0.45 > 0.30"), drift
    assert drift["text_en"].startswith("Data drift detected in p, model m version 1"), drift


def test_invalid_breaches_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="direction is 'over'; use 'above'"):
        Breach("drift_share", 0.45, 0.3, "over")
    with pytest.raises(ValueError, match="value 0.2 is not above threshold 0.3"):
        Breach("drift_share", 0.2, 0.3, "above")
    with pytest.raises(ValueError, match="value is nan; pass a finite number"):
        Breach("precision", float("nan"), 0.7, "below")
    with pytest.raises(ValueError, match="no breaches given"):
        build_alert("p", "m", "1", [], RUNBOOK, ACTION)


def test_slack_payload_has_both_languages_every_number_and_the_runbook_link(alert):
    payload = slack_payload(alert)
    blocks = payload["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "section", "context"], blocks
    texts = [b["text"]["text"] for b in blocks[:3]]
    assert texts[0] == alert["title_en"], texts
    assert texts[1] == alert["text_en"], "the English text is shown unchanged (plain_text)"
    assert alert["summary_es"] in texts[2], texts
    assert f"<{RUNBOOK}|Runbook>" in blocks[3]["elements"][0]["text"], blocks[3]
    assert f"<{RUNBOOK}|Runbook>" in payload["text"], "the notification text links the runbook too"
    assert "&gt;" in payload["text"], "mrkdwn control characters in the fallback text are escaped"
    dumped = json.dumps(payload, ensure_ascii=False)
    assert all(number in dumped for number in NUMBERS), f"a number is missing from {dumped}"


def test_teams_payload_is_an_adaptive_card_with_both_languages_facts_and_runbook(alert):
    payload = teams_payload(alert)
    assert payload["type"] == "message", payload
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive", attachment
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4"), card
    assert card["body"] and all("type" in element for element in card["body"]), card["body"]
    texts = [e["text"] for e in card["body"] if e["type"] == "TextBlock"]
    assert all(line in texts for line in alert["text_en"].splitlines()), f"English lines missing: {texts}"
    assert alert["summary_es"] in texts, texts
    (facts,) = [e["facts"] for e in card["body"] if e["type"] == "FactSet"]
    assert all(set(fact) == {"title", "value"} for fact in facts), facts
    assert {"title": "drift_share", "value": "0.45 > 0.30"} in facts, facts
    assert {"title": "precision", "value": "0.612 < 0.70"} in facts, facts
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Runbook", "url": RUNBOOK}], card[
        "actions"
    ]
    dumped = json.dumps(payload, ensure_ascii=False)
    assert all(number in dumped for number in NUMBERS), f"a number is missing from {dumped}"


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


def test_audit_log_appends_one_json_line_per_entry(tmp_path):
    log = tmp_path / "logs" / "audit.jsonl"
    audit(log, "ci-bot", "promoted customer-scoring v3", "precision 0.81 >= floor 0.7", {"version": 3})
    audit(log, "ana", "rolled back to v2", "drift alert")
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2, lines
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {"at", "who", "what", "why", "details"}, first
    assert (first["who"], first["details"]) == ("ci-bot", {"version": 3}), first
    assert second["details"] == {}, second
    with pytest.raises(ValueError, match=r"\['why'\] empty"):
        audit(log, "ana", "rolled back", " ")


def test_incident_log_appends_a_bilingual_open_incident(tmp_path, alert):
    log = tmp_path / "incidents.jsonl"
    record = open_incident(log, alert)
    (line,) = log.read_text(encoding="utf-8").splitlines()
    assert json.loads(line) == record, "the returned record is the one written"
    assert record["id"].startswith("INC-") and record["status"] == "open", record
    assert (record["detection"], record["deteccion"]) == (alert["text_en"], alert["summary_es"]), record
    assert ACTION in record["mitigation"] and ACTION in record["mitigacion"], record
    empty = ("triage", "triaje", "postmortem", "postmortem_es")
    assert all(record[key] == "" for key in empty), "left for the on-call engineer to fill"
    assert record["opened_at"].endswith("+00:00"), record["opened_at"]


def test_read_jsonl_returns_what_audit_and_open_incident_appended(tmp_path):
    log = tmp_path / "state" / "audit.jsonl"
    assert read_jsonl(log) == [], "a log that does not exist yet holds no records"
    first = audit(log, "ci", "promotion: production", "better model")
    second = audit(log, "operator", "rollback", "version 1 restored", {"to": "1"})
    log.write_text(log.read_text() + "\n")  # a trailing blank line is tolerated
    assert read_jsonl(log) == [first, second]


def test_read_jsonl_names_the_file_and_line_of_a_broken_record(tmp_path):
    log = tmp_path / "incidents.jsonl"
    log.write_text('{"id": "INC-1"}\n{"id": "INC-2", "triage": "half-edited\n')
    with pytest.raises(ValueError, match=r"incidents.jsonl, line 2: not JSON .*fix or remove that line"):
        read_jsonl(log)
    log.write_text('["not", "an", "object"]\n')
    with pytest.raises(ValueError, match=r"line 1: expected a JSON object, got list"):
        read_jsonl(log)


def test_webhook_url_comes_from_the_env_var_first_then_the_secret(monkeypatch):
    from ml.alerts import webhook_url

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
        "from ml.alerts import webhook_url\n"
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
