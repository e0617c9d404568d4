"""The audit and incident logs: one JSON object per line, appended (``audit``, ``open_incident``)
and read back (``read_jsonl``). The records themselves are built by ``ml.alerts``."""

from __future__ import annotations

import json
from pathlib import Path

from ml.alerts import audit_record, incident_record


def append_jsonl(path: str | Path, record: dict) -> None:
    """Append ``record`` as one JSON line to ``path`` (parent directories created)."""
    try:
        line = json.dumps(record, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"cannot log {sorted(record)} to {path}: {exc}; convert values to str, numbers, lists or dicts"
        ) from exc
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def read_jsonl(path: str | Path) -> list[dict]:
    """The records of the JSONL log ``path`` (``[]`` when it does not exist yet); blank lines skipped."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"{path}, line {number}: not JSON ({exc.msg}); fix or remove that line (one JSON object "
                "per line)"
            ) from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}, line {number}: expected a JSON object, got {type(record).__name__}")
        records.append(record)
    return records


def audit(path: str | Path, who: str, what: str, why: str, details: dict | None = None) -> dict:
    """Append an audit entry ``{at, who, what, why, details}`` to the JSONL log ``path``; returns it."""
    record = audit_record(who, what, why, details, where=str(path))
    append_jsonl(path, record)
    return record


def open_incident(path: str | Path, alert: dict) -> dict:
    """Append a bilingual incident record for ``alert`` (``ml.alerts.incident_record``) to the JSONL
    log ``path``; returns it."""
    record = incident_record(alert)
    append_jsonl(path, record)
    return record
