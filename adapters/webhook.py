"""The alert webhook: its URL (environment variable or secret), POSTs with retries and dry-run files.

``deliver`` POSTs a payload (``ml.alerts.slack_payload`` / ``teams_payload``) with retries and never
raises, so a pipeline does not crash because a webhook is down; without a URL, or in a dry run, it
writes the payload to a timestamped JSON file instead, and a payload it could not deliver is kept in
such a file too (``keep_undelivered_in``), to be resent.

The webhook URL is a secret: read it from the environment (``webhook_url_from_env``), never from a
committed file. Errors and logs show only its scheme and host.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import tenacity

logger = logging.getLogger(__name__)

WEBHOOK_ENV = "ALERT_WEBHOOK_URL"
DEFAULT_OUTBOX = "data/alerts"
MAX_WAIT_SECONDS = 30.0


@dataclass
class DeliveryResult:
    """What ``deliver`` did: sent (``delivered``), how many POSTs, the last HTTP status, the error,
    the dry-run file written instead of sending, or the file keeping a payload that was not delivered."""

    delivered: bool
    attempts: int
    status: int | None
    error: str | None
    dry_run_file: str | None
    undelivered_file: str | None = None


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


def webhook_url_origin(env: str, secret: str | None) -> str:
    """Where ``webhook_url(env, secret, ...)`` reads the URL, as an error's fix names it."""
    if webhook_url_from_env(env) is not None or secret is None:
        return f"the environment variable {env}"
    return f"the 'url' value of the ZenML secret {secret!r}"


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
    path = folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def deliver(
    payload: dict,
    url: str | None,
    dry_run_dir: str | None = None,
    attempts: int = 3,
    wait_seconds: float = 0.5,
    timeout: float = 5.0,
    url_origin: str = f"the environment variable {WEBHOOK_ENV}",
    keep_undelivered_in: str | None = None,
) -> DeliveryResult:
    """POST ``payload`` as JSON to the webhook ``url``; never raises on a delivery failure.

    Dry run when ``dry_run_dir`` is set or ``url`` is None: the payload is written as pretty JSON to a
    timestamped file (in ``DEFAULT_OUTBOX`` when no directory is given), nothing is sent and
    ``delivered`` is False with ``error`` None. Otherwise connection errors, timeouts, 5xx and 429 are
    retried (tenacity: at most ``attempts`` POSTs, waits of ``wait_seconds`` doubling up to 30 s);
    other statuses are final. Failures are logged at WARNING and returned, so a webhook that is down
    never crashes a pipeline; with ``keep_undelivered_in`` the payload of a failed delivery is written
    there (``undelivered_file``) so that nothing is lost. ``url_origin`` says where the URL comes from
    (``webhook_url_origin``), for the errors' fix. Invalid arguments (``attempts`` < 1, a payload that
    is not JSON) raise.
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
        why = "dry run" if dry_run_dir is not None else f"no webhook URL (set {url_origin} to send)"
        logger.info("alert not sent (%s); payload written to %s", why, path)
        return DeliveryResult(False, 0, None, None, str(path))

    shown = _redact(url)
    try:
        parts = urllib.parse.urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        usable = False
    if not usable:
        error = f"webhook URL {shown} is not an http(s) URL; set {url_origin} to the webhook's https address"
        return _undelivered(payload, 0, None, error, keep_undelivered_in)

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
            f"is up and {url_origin} is current (the alert was not delivered)"
        )
        status = exc.__cause__.code if isinstance(exc.__cause__, urllib.error.HTTPError) else None
        return _undelivered(payload, made, status, error, keep_undelivered_in)
    except Exception as exc:  # the contract: a broken webhook never crashes the pipeline
        error = f"alert POST to {shown} failed unexpectedly: {type(exc).__name__}: {exc}"
        return _undelivered(payload, made, None, error, keep_undelivered_in)

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
        f"({url_origin} must hold the current webhook's address)"
    )
    return _undelivered(payload, made, status, error, keep_undelivered_in)


def _undelivered(
    payload: dict, attempts: int, status: int | None, error: str, keep_in: str | None
) -> DeliveryResult:
    """A failed delivery: logged, and its payload kept in a file under ``keep_in`` (when given)."""
    kept = None
    if keep_in is not None:
        try:
            kept = str(_write_dry_run(payload, keep_in))
            error = f"{error}; the payload is kept in {kept}"
        except OSError as exc:
            error = f"{error}; keeping the payload under {keep_in} failed too: {exc}"
    logger.warning("alert not delivered: %s", error)
    return DeliveryResult(False, attempts, status, error, None, kept)
