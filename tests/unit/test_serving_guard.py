"""The API's guard middleware on its own: bearer-token auth and the request-size limit."""

import asyncio
import json

import pytest

from bentos.guard import RequestGuard


async def echo_app(scope, receive, send):
    """Answers 200 with the size of the body it received."""
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    payload = json.dumps({"received": len(body)}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": payload})


def call(guard, path="/predict", body=b"{}", headers=(), chunked=False, method="POST"):
    """Run one request through ``guard``; return (status, headers, json body)."""
    head = [(k.lower().encode(), v.encode()) for k, v in headers]
    if not chunked:
        head.append((b"content-length", str(len(body)).encode()))
    parts = [body[i : i + 100] for i in range(0, len(body), 100)] or [b""]
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": head}
    asyncio.run(guard(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    raw = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), json.loads(raw)


def test_without_a_token_every_path_is_open():
    guard = RequestGuard(echo_app, token=None, max_bytes=1024)
    assert call(guard)[0] == 200


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, 401),
        ("Bearer wrong", 401),
        ("bearer s3cret-for-tests", 401),
        ("s3cret-for-tests", 401),
        ("Bearer s3cret-for-tests", 200),
    ],
    ids=["missing", "wrong-token", "wrong-scheme-case", "no-scheme", "right"],
)
def test_with_a_token_the_api_needs_the_bearer_header(header, expected):
    guard = RequestGuard(echo_app, token="s3cret-for-tests", max_bytes=1024)
    status, headers, body = call(guard, headers=[("Authorization", header)] if header else [])
    assert status == expected, (header, status, body)
    if expected == 401:
        assert headers[b"www-authenticate"].startswith(b"Bearer"), headers
        assert "SERVING_AUTH_TOKEN" in body["error"] and "s3cret" not in body["error"], body


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/readyz", "/metrics", "/docs.json"])
def test_health_metrics_and_docs_stay_open_with_a_token(path):
    guard = RequestGuard(echo_app, token="s3cret-for-tests", max_bytes=1024)
    assert call(guard, path=path, method="GET", body=b"")[0] == 200, path


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_bodies_over_the_limit_get_413_and_never_reach_the_service(chunked):
    guard = RequestGuard(echo_app, token=None, max_bytes=1024)
    status, _, body = call(guard, body=b"x" * 1025, chunked=chunked)
    assert status == 413 and "exceeds the limit of 1024 bytes" in body["error"], body
    assert "SERVING_MAX_REQUEST_BYTES" in body["error"], body
    status, _, body = call(guard, body=b"x" * 1024, chunked=chunked)
    assert (status, body) == (200, {"received": 1024}), "a body at the limit reaches the service whole"


def test_a_malformed_content_length_is_a_400():
    guard = RequestGuard(echo_app, token=None, max_bytes=1024)
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/predict", "headers": [(b"content-length", b"ten")]}
    asyncio.run(guard(scope, receive, send))
    assert sent[0]["status"] == 400 and b"Content-Length" in sent[1]["body"], sent


@pytest.mark.parametrize(
    "media_type",
    [
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/xml",
        "application/octet-stream",
        "application/vnd.bentoml+pickle",
    ],
)
def test_a_body_in_any_media_type_but_json_gets_415_naming_json(media_type):
    guard = RequestGuard(echo_app, token=None, max_bytes=1024, json_paths={"/predict", "/explain"})
    for path in ("/predict", "/explain"):
        status, headers, body = call(guard, path=path, headers=[("Content-Type", media_type)])
        assert status == 415, f"{path} with {media_type}: {status} {body}"
        assert "application/json" in body["error"] and media_type.split(";")[0] in body["error"], body
        assert headers[b"content-type"] == b"application/json", headers


@pytest.mark.parametrize(
    "media_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_json_bodies_and_other_paths_pass_the_media_type_check(media_type):
    guard = RequestGuard(echo_app, token=None, max_bytes=1024, json_paths={"/predict"})
    assert call(guard, headers=[("Content-Type", media_type)])[0] == 200, media_type
    assert call(guard, path="/other", headers=[("Content-Type", "text/plain")])[0] == 200, "not an API path"
    assert call(guard)[0] == 200, "no Content-Type: BentoML reads the body as JSON"


def test_a_refused_request_is_one_warning_line_in_the_server_log_and_a_server_error_keeps_its_traceback(
    caplog,
):
    """BentoML logged every refused request at ERROR with its traceback (25 lines for an unknown
    category): a client's 400s and the 503s while the model loads are now one WARNING line naming
    the path, the status and the field; a server error keeps its ERROR and traceback."""
    import logging
    from types import SimpleNamespace
    from typing import Literal

    import pydantic
    from bentoml._internal.server.http_app import log_exception
    from bentoml.exceptions import ServiceUnavailable

    from bentos.server_log import HTTP_APP_LOGGER, install

    install()
    install()  # once per process, however often the service module is imported
    assert len(logging.getLogger(HTTP_APP_LOGGER).filters) == 1
    request = SimpleNamespace(url=SimpleNamespace(path="/predict"), method="POST")
    Record = pydantic.create_model("Record", ocupacion=(Literal["docente", "oficina"], ...))
    Body = pydantic.create_model("Body", records=(list[Record], ...))

    def validate():
        Body.model_validate({"records": [{"ocupacion": "astronauta"}]})

    def raising(error: Exception):
        def fail():
            raise error

        return fail

    failures = (
        validate,
        raising(ServiceUnavailable("the model is still loading; retry shortly")),
        raising(RuntimeError("the booster's file is unreadable")),
    )
    with caplog.at_level(logging.WARNING, logger=HTTP_APP_LOGGER):
        for fail in failures:
            try:
                fail()
            except Exception:
                log_exception(request)
    refused, loading, broken = caplog.records
    assert (refused.levelname, refused.exc_info) == ("WARNING", None)
    assert refused.getMessage() == (
        "POST /predict refused with 400: records.0.ocupacion: Input should be 'docente' or 'oficina'"
    )
    assert loading.levelname == "WARNING" and loading.exc_info is None
    assert loading.getMessage() == "POST /predict refused with 503: the model is still loading; retry shortly"
    assert broken.levelname == "ERROR" and broken.exc_info[0] is RuntimeError
    assert broken.getMessage() == "Exception on /predict [POST]"
