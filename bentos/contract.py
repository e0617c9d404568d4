"""The API's published contract: a short description, the OpenAPI document as the service really
answers, and the Swagger UI at /docs (the spec at /docs.json).

BentoML 1.4 builds the document from the service (``Service.openapi_spec``) with the Bento's README
(the whole project README) as its description, every error body's ``detail`` typed as a string
(a 400's is pydantic's list of errors), an optional request body, and none of the statuses the
guard answers; it serves Swagger UI at ``/`` only. The service class uses ``ContractService``
(``bentoml.service(service_class=...)``), which corrects the document, and mounts ``docs_app``.
"""

from __future__ import annotations

from typing import Any

import bentoml
from bentoml._internal.service.openapi.specification import OpenAPISpecification
from bentoml._internal.utils.cattr import bentoml_cattr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

API_DESCRIPTION = """\
Scores records with the production model (a canary version answers a configured share).

- **POST /predict**: body `{"records": [record, ...]}` (1 to max_batch_size records); answers one
  `{"id", "label", "probability", "model_version"}` per record, in order.
- **POST /explain**: the same body; answers one `{"id", "model_version", "contributions"}` per record:
  log-odds per feature plus `baseline`, adding up to the prediction's log-odds.

A record holds the model's features (schema below) and the id column, echoed back; other fields are
refused (a sensitive column the model does not decide by, or the target, with a message saying so).
Numbers must be JSON numbers (not booleans or strings) within the training range widened by
`range_margin` times that range on each side (configs/serving.yaml); categories one of the listed
values (a JSON number sent for a code, 6 for "6" or "6.0", is read as the listed one). Every row of the table
the model was trained from is accepted (ranges, missing values and categories are the whole table's):
a category only its validation or test split held is scored as a missing value, as batch scoring does.

Bodies are JSON only. Errors are JSON with an `error` message:
- 400: invalid input; `detail` lists each error with the field's location (`loc`), `msg` and `type`.
- 401: missing or wrong `Authorization: Bearer <token>` when SERVING_AUTH_TOKEN is set
  (/healthz, /livez, /readyz, /metrics and these docs stay open).
- 413: body over max_request_bytes. 415: any Content-Type but `application/json`.
- 503: the model is still loading (/readyz turns 200 when it is ready).
"""

MESSAGE = {"title": "Message", "type": "string"}
ERROR = {"title": "Error", "type": "object", "properties": {"error": MESSAGE}, "required": ["error"]}
VALIDATION_ERROR = {
    "title": "ValidationError",
    "type": "object",
    "description": "Invalid input: each error names the field (loc), what is wrong (msg) and its type",
    "properties": {
        "error": MESSAGE,
        "detail": {
            "title": "Errors",
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                    "url": {"type": "string"},
                },
                "required": ["loc", "msg", "type"],
            },
        },
    },
    "required": ["error"],
}
# The statuses the guard and BentoML answer an API call with; BentoML's own error schemas keep their names.
ERROR_STATUSES = {
    "400": "Invalid input",
    "401": "Missing or wrong bearer token",
    "404": "Not found",
    "413": "Request body over max_request_bytes",
    "415": "Content-Type other than application/json",
    "500": "Internal error (see the server log)",
    "503": "The model is still loading",
}
SCHEMA_OF = {"400": "InvalidArgument", "404": "NotFound", "500": "InternalServerError"}


def _ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def correct(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` (BentoML's OpenAPI document as a dict) with the short description, the error bodies
    the service answers, and the API request bodies required."""
    spec["info"]["description"] = API_DESCRIPTION
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["InvalidArgument"] = VALIDATION_ERROR
    for name in ("NotFound", "InternalServerError", "Error"):
        schemas[name] = {**ERROR, "title": name}
    for item in spec["paths"].values():
        operation = item.get("post")
        if not operation or "requestBody" not in operation:
            continue
        operation["requestBody"]["required"] = True
        operation["responses"].update(
            {
                status: {
                    "description": description,
                    "content": {
                        "application/json": {"schema": {"$ref": _ref(SCHEMA_OF.get(status, "Error"))}}
                    },
                }
                for status, description in ERROR_STATUSES.items()
            }
        )
    return spec


class ContractService(bentoml.Service):
    """A BentoML service whose OpenAPI document (and the Swagger UI's text) is ``correct``'s."""

    @property
    def doc(self) -> str:
        return API_DESCRIPTION

    @property
    def openapi_spec(self) -> OpenAPISpecification:
        return bentoml_cattr.structure(correct(super().openapi_spec.asdict()), OpenAPISpecification)


SWAGGER_UI = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8"><title>Scoring API</title>
  <link rel="stylesheet" type="text/css" href="./static_content/swagger-ui.css" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="./static_content/swagger-ui-bundle.js" charset="UTF-8"></script>
  <script src="./static_content/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
  <script src="./static_content/swagger-initializer.js" charset="UTF-8"></script>
</body>
</html>
"""


async def _swagger_ui(_: Request) -> HTMLResponse:
    return HTMLResponse(SWAGGER_UI)  # BentoML's static Swagger UI, reading ./docs.json


# Mounted at "/" (BentoML mounts apps passively: only /docs is taken, every other path goes on).
docs_app = Starlette(routes=[Route("/docs", _swagger_ui, methods=["GET"])])
