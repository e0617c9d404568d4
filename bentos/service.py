"""The BentoML HTTP service of the production model.

POST /predict and POST /explain take ``{"records": [...]}`` as JSON (any other media type is a
415); BentoML adds /healthz, /livez, /readyz (false until the models are loaded) and /metrics
(Prometheus); Swagger UI is at /docs and the OpenAPI document at /docs.json (bentos/contract.py).
Settings come from SERVING_* environment variables (bentos/runtime.py); the input schema is
generated from the served model's feature schema (types, categories, the training range widened by
SERVING_RANGE_MARGIN), so bad input is a 400 naming the field.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from pathlib import Path
from typing import Annotated

import bentoml
from bentoml.validators import ContentType

from bentos.bundle import SPEC_FILE, ServedModel, load_model
from bentos.contract import ContractService, docs_app
from bentos.guard import RequestGuard
from bentos.inference_log import InferenceLog, row
from bentos.readiness import WorkerReadiness
from bentos.runtime import ServingRuntime
from bentos.schema import Explanation, Prediction, body_model, record_model
from bentos.server_log import install as one_line_refusals

RUNTIME = ServingRuntime.from_env()
one_line_refusals()  # a refused request is a WARNING line in the server log, not a traceback
PRIMARY = bentoml.models.BentoModel(RUNTIME.model_tag)
CANARY = bentoml.models.BentoModel(RUNTIME.canary_tag) if RUNTIME.canary_tag else None
_stored = PRIMARY.stored
if _stored is None:
    raise bentoml.exceptions.NotFound(
        f"BentoML model {RUNTIME.model_tag!r} is not in the store; export it with `python run.py deploy`"
    )
SPEC = json.loads(Path(_stored.path_of(SPEC_FILE)).read_text())
Record = record_model(SPEC["schema"], SPEC.get("mitigation"), margin=RUNTIME.range_margin)
# {"records": [...]}: a body of another shape is a 400 saying so
Body = body_model(Record, RUNTIME.max_batch_size)
# A declared content type spares BentoML from building the output's JSON schema on every response
# (it derives the media type from the schema otherwise: about 1 ms per request, more than the model).
JSON = ContentType("application/json")


@bentoml.service(
    name="scoring",
    service_class=ContractService,  # the OpenAPI document as the service answers (bentos/contract.py)
    http={"host": RUNTIME.host, "port": RUNTIME.port},
    workers=RUNTIME.workers,
    traffic={"timeout": RUNTIME.timeout},
    # Every answered request is in the inference log (with its latency) and every request in
    # /metrics; a per-request access-log line on top costs ~0.1 ms of the hot path.
    logging={"access": {"enabled": RUNTIME.access_log}},
)
class ScoringService:
    primary = PRIMARY

    def __init__(self) -> None:
        self.models: dict[str, ServedModel] = {}
        self.routing = random.Random()
        self.log = InferenceLog(RUNTIME.log_path)
        self.labels = SPEC["schema"]["positive_label"], SPEC["schema"]["negative_label"]
        shared = Path(RUNTIME.log_path).parent / ".workers-ready"  # beside the log: writable wherever it is
        self.readiness = WorkerReadiness(shared, RUNTIME.workers, bentoml.server_context.worker_index)
        self._loader = threading.Thread(target=self._load, name="model-loader", daemon=True)
        self._loader.start()

    def _load(self) -> None:
        refs = {"primary": PRIMARY, **({"canary": CANARY} if CANARY is not None else {})}
        loaded = {}
        for role, ref in refs.items():
            model = load_model(Path(ref.resolve().path))
            loaded[role] = model
        self.models = loaded
        self.readiness.mark_loaded()

    def __is_ready__(self) -> bool:
        """/readyz: this worker's models loaded, and every other worker's (bentos/readiness.py)."""
        return "primary" in self.models and self.readiness.all_loaded()

    def _route(self) -> ServedModel:
        if "primary" not in self.models:
            raise bentoml.exceptions.ServiceUnavailable("the model is still loading; retry shortly")
        if "canary" in self.models and self.routing.random() < RUNTIME.canary_share:
            return self.models["canary"]
        return self.models["primary"]

    @staticmethod
    def _ids(records: list[dict]) -> list:
        column = SPEC["schema"].get("id_column")
        return [r.get(column) if column else i for i, r in enumerate(records)]

    @bentoml.api(input_spec=Body)
    def predict(self, records: list) -> Annotated[list[Prediction], JSON]:
        """Label (good/bad), probability and answering model version for each record."""
        # Sync on purpose: BentoML runs it in a thread, where the booster releases the GIL while the
        # event loop parses the next request (an async version was no faster under load).
        started = time.perf_counter()
        model = self._route()
        rows = [r.__dict__ for r in records]  # the validated fields, without model_dump's copy
        proba = model.predict_proba(rows)
        decisions = model.decisions(rows, proba)  # the release's threshold (or group thresholds)
        version = model.spec["info"]["model_version"]
        positive, negative = self.labels
        out = [
            Prediction(
                id=i,
                label=positive if d else negative,
                probability=float(p),
                model_version=version,
            )
            for i, p, d in zip(self._ids(rows), proba, decisions, strict=True)
        ]
        self._log("predict", version, out, rows, started)
        return out

    @bentoml.api(input_spec=Body)
    def explain(self, records: list) -> Annotated[list[Explanation], JSON]:
        """Per-feature contributions (log-odds) of the answering model for each record."""
        started = time.perf_counter()
        model = self._route()
        rows = [r.__dict__ for r in records]
        version = model.spec["info"]["model_version"]
        contributions = model.contributions(rows)
        out = [
            Explanation(id=i, model_version=version, contributions=c)
            for i, c in zip(self._ids(rows), contributions, strict=True)
        ]
        self._log("explain", version, out, rows, started)
        return out

    def _log(self, endpoint: str, version: str, out: list, rows: list[dict], started: float) -> None:
        """One inference-log row per answered record, built and encoded by the log's thread after the
        answer (label and probability for predictions, empty for explanations)."""
        elapsed = (time.perf_counter() - started) * 1000
        request, now = uuid.uuid4().hex, time.time()
        self.log.append(
            lambda: [
                row(
                    now,
                    request,
                    endpoint,
                    version,
                    o.id,
                    r,
                    getattr(o, "label", None),
                    getattr(o, "probability", None),
                    elapsed,
                )
                for o, r in zip(out, rows, strict=True)
            ]
        )

    @bentoml.on_shutdown
    def _flush_log(self) -> None:
        self.log.close()
        self.readiness.forget()


# Bearer-token auth (when SERVING_AUTH_TOKEN is set), the request-size limit and JSON-only API paths,
# before any parsing.
ScoringService.add_asgi_middleware(
    RequestGuard,
    token=RUNTIME.auth_token,
    max_bytes=RUNTIME.max_request_bytes,
    json_paths=frozenset(api.route for api in ScoringService.apis.values()),
)
ScoringService.mount_asgi_app(docs_app, path="/", name="docs")
