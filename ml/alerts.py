"""Alerts: bilingual (EN/ES) messages for Slack and Microsoft Teams, webhook delivery and JSONL logs.

``build_alert`` turns threshold breaches into a neutral alert dict; ``slack_payload`` and
``teams_payload`` render it for each chat tool; ``deliver`` POSTs it with retries and never raises,
so a pipeline does not crash because a webhook is down. ``audit`` and ``open_incident`` append one
JSON line each to the audit log and the incident log.

The webhook URL is a secret: read it from the environment (``webhook_url_from_env``), never from a
committed file. Errors and logs show only its scheme and host.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tenacity

logger = logging.getLogger(__name__)

RUNBOOK_INCIDENT = "runbooks/en/07-incident-playbook.md#detection"
WEBHOOK_ENV = "ALERT_WEBHOOK_URL"
DEFAULT_OUTBOX = "data/alerts"
MAX_WAIT_SECONDS = 30.0
DIRECTIONS = ("above", "below")
ALERT_KEYS = ("title_en", "text_en", "summary_es", "runbook_url", "action", "breaches", "at")

_SLACK_HEADER_MAX = 150
_SLACK_TEXT_MAX = 3000


@dataclass(frozen=True)
class Breach:
    """A monitored metric on the wrong side of its threshold (``direction``: the side that breaks it)."""

    metric: str
    value: float
    threshold: float
    direction: str  # "above" or "below"
    detail: str = ""

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"Breach({self.metric!r}): direction is {self.direction!r}; use 'above' (value > threshold "
                "breaks the rule) or 'below' (value < threshold breaks it)"
            )
        for field in ("value", "threshold"):
            number = getattr(self, field)
            if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
                raise ValueError(
                    f"Breach({self.metric!r}): {field} is {number!r}; pass a finite number (an undefined "
                    "metric cannot be compared with a threshold, report it in `detail` instead)"
                )
            object.__setattr__(self, field, float(number))  # numpy scalars -> plain floats for JSON
        wrong_side = self.value < self.threshold if self.direction == "above" else self.value > self.threshold
        if wrong_side:
            raise ValueError(
                f"Breach({self.metric!r}): value {self.value} is not {self.direction} threshold "
                f"{self.threshold}; only report a breach when the value is on the side that breaks the rule"
            )

    def comparison(self) -> str:
        """``drift_share 0.45 > 0.30`` (``>=`` / ``<=`` when the value sits on the threshold)."""
        sign = ">" if self.direction == "above" else "<"
        if self.value == self.threshold:
            sign += "="
        return f"{self.metric} {fmt(self.value)} {sign} {fmt(self.threshold)}"


@dataclass
class DeliveryResult:
    """What ``deliver`` did: sent (``delivered``), how many POSTs, the last HTTP status, the error or
    the dry-run file written instead of sending."""

    delivered: bool
    attempts: int
    status: int | None
    error: str | None
    dry_run_file: str | None


def fmt(number: float) -> str:
    """Two decimals when that is exact (0.3 -> ``0.30``), else four significant digits (0.0123)."""
    if math.isfinite(number) and abs(number) >= 0.01 and round(number, 2) == number:
        return f"{number:.2f}"
    return f"{number:.4g}"


def _now() -> datetime:
    return datetime.now(UTC)


def _headline(breaches: list[Breach]) -> tuple[str, str]:
    """(English, Spanish) headline: data drift when every breached metric is a drift metric."""
    if all("drift" in b.metric.lower() for b in breaches):
        return "Data drift detected", "Deriva de datos detectada"
    return "Monitoring threshold breached", "Umbral de monitorización superado"


def build_alert(
    project: str,
    model_name: str,
    model_version: str,
    breaches: list[Breach],
    runbook_url: str,
    action: str,
) -> dict:
    """A neutral alert (no chat format yet): English text, Spanish summary, runbook, action, breaches.

    Every breach appears in ``text_en`` and ``summary_es`` as ``metric value > threshold``.
    """
    if not breaches:
        raise ValueError(
            f"build_alert({project!r}, {model_name!r}): no breaches given; only alert when a check failed"
        )
    if not all(isinstance(b, Breach) for b in breaches):
        kinds = sorted({type(b).__name__ for b in breaches})
        raise TypeError(
            f"build_alert: breaches must be Breach objects, got {kinds}; wrap each in Breach(...)"
        )
    headline_en, headline_es = _headline(breaches)
    where_en = f"{project}, model {model_name} version {model_version}"
    lines = [
        f"- {b.comparison()} ({b.direction} the threshold)" + (f": {b.detail}" if b.detail else "")
        for b in breaches
    ]
    text_en = "\n".join([f"{headline_en} in {where_en}:", *lines, f"Action taken: {action}"])
    summary_es = (
        f"{headline_es}: "
        + "; ".join(b.comparison() for b in breaches)
        + f" ({project}, modelo {model_name} versión {model_version}). Acción: {action}"
    )
    return {
        "title_en": f"[{project}] {headline_en}: {model_name} v{model_version}",
        "text_en": text_en,
        "summary_es": summary_es,
        "runbook_url": runbook_url,
        "action": action,
        "breaches": [asdict(b) for b in breaches],
        "at": _now().isoformat(timespec="seconds"),
        "project": project,
        "model_name": model_name,
        "model_version": str(model_version),
    }


def _require_alert(alert: dict, caller: str) -> None:
    missing = [key for key in ALERT_KEYS if key not in alert]
    if missing:
        raise ValueError(
            f"{caller}: the alert lacks {missing} (has {sorted(alert)}); build it with build_alert()"
        )


def _breach_line(breach: dict) -> str:
    return Breach(**breach).comparison()


def _slack_escape(text: str) -> str:
    """Slack mrkdwn control characters (``&``, ``<``, ``>``) as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(alert: dict) -> dict:
    """Slack incoming-webhook message: ``text`` (notification fallback) plus header / section / context
    blocks with the English text, the Spanish summary and a link to the runbook."""
    _require_alert(alert, "slack_payload")
    link = f"<{alert['runbook_url']}|Runbook>"
    return {
        "text": _slack_escape(f"{alert['title_en']} | {alert['summary_es']}") + f" {link}",
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": _clip(alert["title_en"], _SLACK_HEADER_MAX)},
            },
            {
                "type": "section",
                "text": {"type": "plain_text", "text": _clip(alert["text_en"], _SLACK_TEXT_MAX)},
            },
            {
                "type": "section",
                "text": {"type": "plain_text", "text": _clip(f"ES: {alert['summary_es']}", _SLACK_TEXT_MAX)},
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{link} · {_slack_escape(alert['runbook_url'])} · {alert['at']}",
                    }
                ],
            },
        ],
    }


def teams_payload(alert: dict) -> dict:
    """Microsoft Teams message holding an Adaptive Card 1.4: the English lines and the Spanish summary
    as TextBlocks, the breaches as a FactSet and an Action.OpenUrl to the runbook.

    Teams opens only absolute URLs: pass ``runbook_url`` as a full https address in production.
    """
    _require_alert(alert, "teams_payload")
    facts = [
        {"title": b["metric"], "value": _breach_line(b).removeprefix(f"{b['metric']} ")}
        for b in alert["breaches"]
    ]
    facts += [
        {"title": "Action / Acción", "value": alert["action"]},
        {"title": "At / Fecha (UTC)", "value": alert["at"]},
    ]
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": alert["title_en"], "weight": "Bolder", "size": "Medium", "wrap": True},
        *({"type": "TextBlock", "text": line, "wrap": True} for line in alert["text_en"].splitlines()),
        {"type": "TextBlock", "text": alert["summary_es"], "wrap": True, "isSubtle": True, "separator": True},
        {"type": "FactSet", "facts": facts},
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": "Runbook", "url": alert["runbook_url"]}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def webhook_url_from_env(name: str = WEBHOOK_ENV) -> str | None:
    """The webhook URL from environment variable ``name`` (a secret: never commit it); None when unset."""
    value = os.environ.get(name, "").strip()
    return value or None


def webhook_url(env: str, secret: str | None, read_secret: Callable[[str], Mapping[str, str]]) -> str | None:
    """The webhook URL: environment variable ``env`` first, else key ``url`` of the secret named
    ``secret`` (``read_secret(name)`` returns its values, e.g. from ZenML's secret store); None when
    neither is set. A secret without a ``url`` key is an error that names the secret and the key."""
    value = webhook_url_from_env(env)
    if value is not None or secret is None:
        return value
    values = read_secret(secret)
    url = str(values.get("url", "")).strip()
    if not url:
        raise ValueError(
            f"secret {secret!r} has no 'url' value (keys: {sorted(values)}); "
            f"store it with: zenml secret create {secret} --url=<webhook URL>"
        )
    return url


def _redact(url: str) -> str:
    """``https://hooks.slack.com/…``: webhook paths carry the token, so only scheme and host are shown."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname  # no user:password@
    except ValueError:
        host = None
    return f"{parts.scheme}://{host}/…" if host else "<unparseable URL>"


class _Transient(Exception):
    """A failure worth retrying: connection error, timeout, 5xx or 429."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Do not follow redirects: urllib would turn the POST into a GET and drop the alert."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _post_once(url: str, body: bytes, timeout: float) -> tuple[int, str]:
    """One POST; returns (status, response excerpt) or raises _Transient for a retryable failure."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, response.read(200).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        excerpt = exc.read(200).decode("utf-8", "replace") if exc.fp else ""
        if exc.code >= 500 or exc.code == 429:
            raise _Transient(f"HTTP {exc.code} {excerpt!r}".strip()) from exc
        return exc.code, excerpt
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise _Transient(f"{type(exc).__name__}: {reason}") from exc


def _write_dry_run(payload: dict, directory: str | Path) -> Path:
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_now():%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def deliver(
    payload: dict,
    url: str | None,
    dry_run_dir: str | None = None,
    attempts: int = 3,
    wait_seconds: float = 0.5,
    timeout: float = 5.0,
) -> DeliveryResult:
    """POST ``payload`` as JSON to the webhook ``url``; never raises on a delivery failure.

    Dry run when ``dry_run_dir`` is set or ``url`` is None: the payload is written as pretty JSON to a
    timestamped file (in ``DEFAULT_OUTBOX`` when no directory is given), nothing is sent and
    ``delivered`` is False with ``error`` None. Otherwise connection errors, timeouts, 5xx and 429 are
    retried (tenacity: at most ``attempts`` POSTs, waits of ``wait_seconds`` doubling up to 30 s);
    other statuses are final. Failures are logged at WARNING and returned, so a webhook that is down
    never crashes a pipeline. Invalid arguments (``attempts`` < 1, a payload that is not JSON) raise.
    """
    if attempts < 1:
        raise ValueError(f"deliver: attempts is {attempts}; pass 1 or more (1 = no retry)")
    try:
        body = json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"deliver: the payload is not JSON ({exc}); build it with slack_payload() or teams_payload()"
        ) from exc

    if dry_run_dir is not None or url is None:
        directory = dry_run_dir if dry_run_dir is not None else DEFAULT_OUTBOX
        try:
            path = _write_dry_run(payload, directory)
        except OSError as exc:
            error = (
                f"dry run: could not write the payload under {directory}: {exc}; pass a writable dry_run_dir"
            )
            logger.warning(error)
            return DeliveryResult(False, 0, None, error, None)
        why = "dry run" if dry_run_dir is not None else f"no webhook URL (set {WEBHOOK_ENV} to send)"
        logger.info("alert not sent (%s); payload written to %s", why, path)
        return DeliveryResult(False, 0, None, None, str(path))

    shown = _redact(url)
    try:
        parts = urllib.parse.urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        usable = False
    if not usable:
        error = f"webhook URL {shown} is not an http(s) URL; set {WEBHOOK_ENV} to the webhook's https address"
        logger.warning("alert not delivered: %s", error)
        return DeliveryResult(False, 0, None, error, None)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_exponential(multiplier=wait_seconds, min=wait_seconds, max=MAX_WAIT_SECONDS),
        retry=tenacity.retry_if_exception_type(_Transient),
        before_sleep=lambda state: logger.warning(
            "alert POST to %s failed (attempt %d of %d): %s; retrying",
            shown,
            state.attempt_number,
            attempts,
            state.outcome.exception() if state.outcome else "?",
        ),
        reraise=True,
    )
    made = 0
    try:
        for attempt in retrying:
            with attempt:
                made = attempt.retry_state.attempt_number
                status, excerpt = _post_once(url, body, timeout)
    except _Transient as exc:
        error = (
            f"alert POST to {shown} failed after {made} attempt(s): {exc}; check that the webhook receiver "
            f"is up and {WEBHOOK_ENV} is current (the alert was not delivered)"
        )
        logger.warning(error)
        status = None
        if isinstance(exc.__cause__, urllib.error.HTTPError):
            status = exc.__cause__.code
        return DeliveryResult(False, made, status, error, None)
    except Exception as exc:  # the contract: a broken webhook never crashes the pipeline
        error = f"alert POST to {shown} failed unexpectedly: {type(exc).__name__}: {exc}"
        logger.warning(error)
        return DeliveryResult(False, made, None, error, None)

    if 200 <= status < 300:
        logger.info("alert delivered to %s (HTTP %d, attempt %d)", shown, status, made)
        return DeliveryResult(True, made, status, None, None)
    fix = (
        "the webhook moved: set the final address"
        if 300 <= status < 400
        else "check the payload format and the webhook"
    )
    error = (
        f"alert POST to {shown} was refused with HTTP {status} {excerpt!r} (not retried); {fix} "
        f"({WEBHOOK_ENV} must point at the current webhook)"
    )
    logger.warning(error)
    return DeliveryResult(False, made, status, error, None)


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
    empty = [name for name, value in (("who", who), ("what", what), ("why", why)) if not str(value).strip()]
    if empty:
        raise ValueError(f"audit entry for {path}: {empty} empty; say who acted, what they did and why")
    record = {
        "at": _now().isoformat(timespec="seconds"),
        "who": who,
        "what": what,
        "why": why,
        "details": details or {},
    }
    append_jsonl(path, record)
    return record


def open_incident(path: str | Path, alert: dict) -> dict:
    """Append a bilingual incident record for ``alert`` to the JSONL log ``path``; returns it.

    Detection and mitigation are filled from the alert; triage and the postmortem are left empty for
    the on-call engineer (see the incident playbook runbook).
    """
    _require_alert(alert, "open_incident")
    opened = _now()
    record = {
        "id": f"INC-{opened:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}",
        "opened_at": opened.isoformat(timespec="seconds"),
        "status": "open",
        "title": alert["title_en"],
        "runbook_url": alert["runbook_url"],
        "breaches": alert["breaches"],
        "detection": alert["text_en"],
        "deteccion": alert["summary_es"],
        "triage": "",
        "triaje": "",
        "mitigation": f"Action taken: {alert['action']}",
        "mitigacion": f"Acción tomada: {alert['action']}",
        "postmortem": "",
        "postmortem_es": "",
    }
    append_jsonl(path, record)
    return record
