"""An ASGI middleware in front of the API: optional bearer-token auth and a request-size limit.

BentoML 1.4 has neither (its old ``api_server.max_request_size`` option was removed), so the
service adds this one middleware. Plain ASGI: no BentoML import, tested on its own.

- Auth: with a token configured (SERVING_AUTH_TOKEN), every path except the open ones (health,
  metrics, OpenAPI docs) needs ``Authorization: Bearer <token>``; otherwise 401.
- Size: a body over ``max_bytes`` (SERVING_MAX_REQUEST_BYTES) is refused with 413 before the
  service parses it, whether the client sent a Content-Length or streamed it chunked.
- Media type: the API paths (``json_paths``) take JSON only; any other Content-Type is a 415
  (BentoML would try to parse a multipart or form body and answer 500). Without a Content-Type
  BentoML reads the body as JSON, so that passes.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

OPEN_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/metrics", "/docs", "/docs.json", "/"})
AUTH_ENV = "SERVING_AUTH_TOKEN"
SIZE_ENV = "SERVING_MAX_REQUEST_BYTES"
JSON = "application/json"


async def _refuse(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    def __init__(
        self, app: Callable, token: str | None, max_bytes: int, open_paths=OPEN_PATHS, json_paths=()
    ) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None
        self.max_bytes = max_bytes
        self.open_paths = frozenset(open_paths)
        self.json_paths = frozenset(json_paths)

    def _not_json(self, scope: Scope, headers: dict) -> str | None:
        """The media type of a non-JSON body sent to an API path (None when it is JSON or absent)."""
        raw = headers.get(b"content-type")
        if raw is None or scope.get("path") not in self.json_paths:
            return None
        media_type = raw.decode("latin-1").split(";")[0].strip().lower()
        return None if media_type == JSON else media_type or "(empty)"

    def _authorized(self, scope: Scope) -> bool:
        if self.expected is None or scope.get("path") in self.open_paths:
            return True
        given = next((v for k, v in scope.get("headers", ()) if k.lower() == b"authorization"), b"")
        return hmac.compare_digest(given, self.expected)

    def _too_big(self, size: int) -> str:
        return f"request body of {size} bytes exceeds the limit of {self.max_bytes} bytes ({SIZE_ENV})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self._authorized(scope):
            await _refuse(
                send,
                401,
                f"missing or wrong bearer token: send 'Authorization: Bearer <token>' ({AUTH_ENV})",
                [(b"www-authenticate", b'Bearer realm="api"')],
            )
            return
        headers = {k.lower(): v for k, v in scope.get("headers", ())}
        media_type = self._not_json(scope, headers)
        if media_type is not None:
            message = f"{scope.get('path')} takes {JSON} only, got {media_type!r}: send a JSON body with "
            await _refuse(send, 415, message + f"'Content-Type: {JSON}'", [])
            return
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _refuse(
                    send, 400, f"Content-Length {length.decode(errors='replace')!r} is not a number", []
                )
                return
            if declared > self.max_bytes:
                await _refuse(send, 413, self._too_big(declared), [])
                return
            await self.app(scope, receive, send)  # the server enforces the declared length
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        # Streamed (chunked) body: read it up to the limit, then hand it over in one piece.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _refuse(send, 413, self._too_big(size), [])
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)
