"""The server's settings, read from the environment that `run.py deploy` (or `docker run -e`)
gives the process: BentoML needs the model tag and the input schema when the service class is
defined, so they cannot wait for a request."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from adapters.state import DEFAULT_STATE_DIR, StatePaths

PREFIX = "SERVING_"
# Relative to the working directory; `run.py deploy` passes the project's own log in SERVING_INFERENCE_LOG.
_DEFAULT_LOG = StatePaths(Path(DEFAULT_STATE_DIR)).inference_log.as_posix()


class RuntimeConfigError(ValueError):
    """An environment variable of the server is missing or malformed."""


def _get(name: str, default: str | None = None) -> str | None:
    return os.environ.get(PREFIX + name, default)


def _number(name: str, default: str, kind: type, low: float, high: float) -> float | int:
    raw = _get(name, default)
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise RuntimeConfigError(f"{PREFIX}{name}={raw!r} is not a {kind.__name__}") from None
    if not low <= value <= high:
        raise RuntimeConfigError(f"{PREFIX}{name}={value} must be within [{low}, {high}]")
    return value


def _flag(name: str) -> bool:
    raw = (_get(name, "false") or "false").strip().lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise RuntimeConfigError(f"{PREFIX}{name}={raw!r} must be true or false")
    return raw in ("true", "1", "yes")


@dataclass(frozen=True)
class ServingRuntime:
    model_tag: str
    canary_tag: str | None
    canary_share: float
    host: str
    port: int
    workers: int
    timeout: float
    max_batch_size: int
    max_request_bytes: int
    log_path: str
    auth_token: str | None
    access_log: bool = False
    range_margin: float = 0.5  # numbers accepted beyond their training range, in multiples of it

    @classmethod
    def from_env(cls) -> ServingRuntime:
        tag = _get("MODEL_TAG")
        if not tag:
            raise RuntimeConfigError(
                f"{PREFIX}MODEL_TAG is not set: name the BentoML model to serve "
                "(`python run.py deploy` sets it; e.g. customer-scoring:v3)"
            )
        canary = _get("CANARY_TAG") or None
        share = float(_number("CANARY_SHARE", "0", float, 0.0, 1.0))
        if share > 0 and not canary:
            raise RuntimeConfigError(f"{PREFIX}CANARY_SHARE={share} needs {PREFIX}CANARY_TAG")
        return cls(
            model_tag=tag,
            canary_tag=canary,
            canary_share=share if canary else 0.0,
            host=_get("HOST", "127.0.0.1") or "127.0.0.1",
            port=int(_number("PORT", "3000", int, 1, 65535)),
            workers=int(_number("WORKERS", "1", int, 1, 64)),
            timeout=float(_number("TIMEOUT", "30", float, 1, 3600)),
            max_batch_size=int(_number("MAX_BATCH_SIZE", "1000", int, 1, 100_000)),
            max_request_bytes=int(_number("MAX_REQUEST_BYTES", str(4 * 1024 * 1024), int, 1024, 1 << 30)),
            log_path=_get("INFERENCE_LOG", _DEFAULT_LOG) or _DEFAULT_LOG,
            auth_token=_get("AUTH_TOKEN") or None,
            access_log=_flag("ACCESS_LOG"),
            range_margin=float(_number("RANGE_MARGIN", "0.5", float, 0.0, 1000.0)),
        )
