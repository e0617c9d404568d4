"""The server log keeps errors of the server, not of its clients.

BentoML logs every request it refuses ("Exception on /predict [POST]", logger ``HTTP_APP_LOGGER``) at
ERROR with the whole traceback: a record with an unknown category cost 25 lines, and a client sending
it a thousand times filled the log an operator reads for errors, restarts and timeouts
(runbooks/en/05-deployment.md). A request refused for its input (pydantic's ValidationError: the 400
naming the field) or answered 4xx or 503 (the model still loading) is one WARNING line with the
method, the path, the status and what was wrong; anything else keeps its ERROR and traceback.
"""

from __future__ import annotations

import logging

HTTP_APP_LOGGER = "bentoml._internal.server.http_app"
MAX_REASON = 500  # characters of the refusal's reason on its line


def refusal(error: BaseException) -> tuple[int, str] | None:
    """(status, reason) when ``error`` is a client's or a not-ready refusal; None for a server error."""
    from bentoml.exceptions import BentoMLException
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        found = error.errors(include_url=False, include_context=False, include_input=False)
        shown = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in found[:5])
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        return 400, shown + more
    if isinstance(error, BentoMLException):
        status = error.error_code.value
        if status < 500 or status == 503:
            return status, str(error)
    return None


class RefusalsInOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        found = refusal(error) if error is not None else None
        if found is None or not isinstance(record.args, tuple) or len(record.args) != 2:
            return True
        path, method = record.args
        status, reason = found
        record.msg, record.args = "%s %s refused with %d: %s", (method, path, status, reason[:MAX_REASON])
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info, record.exc_text = None, None
        return True


def install() -> None:
    """Add the filter to BentoML's HTTP app logger (once per process)."""
    logger = logging.getLogger(HTTP_APP_LOGGER)
    if not any(isinstance(f, RefusalsInOneLine) for f in logger.filters):
        logger.addFilter(RefusalsInOneLine())
