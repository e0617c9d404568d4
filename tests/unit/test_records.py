"""The audit and incident logs (adapters/records.py): one JSON line per record, read back."""

import json

import pytest

from adapters.records import audit, open_incident, read_jsonl
from tests.unit import test_alerts

ACTION = test_alerts.ACTION
alert = test_alerts.alert  # the fixture: the alert test_alerts checks


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
