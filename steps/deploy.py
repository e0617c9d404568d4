"""Deployment: production model -> BentoML store -> Bento -> smoke test -> local server."""

from __future__ import annotations

import getpass
import json
import os
import time
from pathlib import Path
from typing import Annotated

from zenml import get_step_context, log_metadata, step

from adapters.records import audit
from adapters.state import StatePaths
from bentos import container_server, local_server
from bentos.bundle import export_bundle
from ml import names
from ml.settings import ServingSettings
from registry.models import RegistryError
from registry.release import Release, production_release, release_of
from steps._context import project_root, state

READY_SETTING = "serving.ready_timeout_seconds"  # named when a server is still starting at its end


def _export(release: Release) -> str:
    """The release as a BentoML model tagged with its identity (registry/release.py): an earlier
    export of the same release is reused, never another project's or another store's model."""
    import bentoml

    tag = release.bento_tag
    try:
        return str(bentoml.models.get(tag).tag)  # exported before: the same release, the same files
    except bentoml.exceptions.NotFound:
        pass
    record = release.record
    run_id = str(release.version.run_metadata.get(names.MLFLOW_RUN_ID, ""))
    info = {
        "model_name": release.model_name,
        "model_version": release.number,
        "mlflow_run_id": run_id,
        "release": record["artifact"],
        "identity": record["identity"],
    }
    labels = {"zenml_model": release.model_name, "zenml_version": release.number, "mlflow_run_id": run_id}
    with bentoml.models.create(tag, labels=labels, metadata=info) as ref:
        export_bundle(release.model, release.schema.to_dict(), release.threshold, Path(ref.path), info)
    return tag


@step(enable_cache=False)
def export_models(serving: ServingSettings) -> Annotated[dict, names.BENTO_MODELS]:
    """The production release (and the canary version's, if configured) into the BentoML store."""
    this = get_step_context().model
    production = production_release(this.name)
    tags = {"primary": _export(production)}
    if serving.canary.version is not None:
        from zenml.client import Client

        try:
            canary = Client().get_model_version(this.name, str(serving.canary.version))
        except KeyError:
            raise RegistryError(
                f"canary.version {serving.canary.version} is not a version of {this.name!r}"
            ) from None
        tags["canary"] = _export(release_of(canary))
    return tags


def _exported_release(tag: str) -> Release:
    """The registry's release of an exported BentoML model (its metadata names the version); refused
    unless the identities match, so a served model is provably the registered one."""
    import bentoml
    from zenml.client import Client

    info = bentoml.models.get(tag).info.metadata
    release = release_of(Client().get_model_version(info["model_name"], str(info["model_version"])))
    if release.record["identity"] != info.get("identity"):
        raise local_server.ServerError(
            f"BentoML model {tag} (identity {info.get('identity')}) is not the registry's version "
            f"{release.number} of {release.model_name!r} (identity {release.record['identity']}); "
            "delete it from the BentoML store and deploy again"
        )
    return release


def server_env(tags: dict, serving: ServingSettings) -> dict[str, str]:
    return {
        "SERVING_MODEL_TAG": tags["primary"],
        "SERVING_CANARY_TAG": tags.get("canary", ""),
        "SERVING_CANARY_SHARE": str(serving.canary.share if "canary" in tags else 0.0),
        "SERVING_WORKERS": str(serving.workers),
        "SERVING_TIMEOUT": str(serving.timeout_seconds),
        "SERVING_MAX_BATCH_SIZE": str(serving.max_batch_size),
        "SERVING_MAX_REQUEST_BYTES": str(serving.max_request_bytes),
        "SERVING_RANGE_MARGIN": str(serving.range_margin),
        "SERVING_INFERENCE_LOG": str(state().inference_log),
    }


def bentofile(serving: ServingSettings) -> Path:
    """bentofile.yaml, or a copy naming the image's base (`container.base_image`) when set."""
    import yaml

    source = project_root() / "bentofile.yaml"
    if serving.runtime != "container" or not serving.container.base_image:
        return source
    raw = yaml.safe_load(source.read_text())
    raw.setdefault("docker", {})["base_image"] = serving.container.base_image
    target = state().serving / "bentofile.container.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(raw, sort_keys=False))
    return target


@step(enable_cache=False)
def build_bento(bento_models: dict, serving: ServingSettings) -> Annotated[str, names.BENTO_TAG]:
    """`bentoml build` from bentofile.yaml; the Bento carries its Dockerfile for `containerize`."""
    import bentoml

    previous = dict(os.environ)
    os.environ.update(server_env(bento_models, serving))  # the service resolves its models on import
    try:
        bento = bentoml.bentos.build_bentofile(
            str(bentofile(serving)),
            build_ctx=str(project_root()),
            labels={"model": bento_models["primary"], "canary": bento_models.get("canary", "")},
        )
    finally:
        os.environ.clear()
        os.environ.update(previous)
    return str(bento.tag)


@step(enable_cache=False)
def smoke_test(
    bento_tag: str, bento_models: dict, serving: ServingSettings
) -> Annotated[dict, names.SMOKE_TEST]:
    """Serve the built Bento on a free loopback port; its answers must equal those of the release it
    serves: the registry's version named by the exported model, whose identity must match."""
    release = _exported_release(bento_models["primary"])
    frame = release.artifact(names.DATASET_TEST).head(serving.smoke_rows)
    expected_labels, expected_proba = release.decisions(frame)
    schema = release.schema
    records = json.loads(frame[release.input_columns].to_json(orient="records"))
    example = state().example_request
    example.parent.mkdir(parents=True, exist_ok=True)
    example.write_text(json.dumps({"records": records[:2]}, indent=1))
    port = local_server.free_port()
    url, log = f"http://127.0.0.1:{port}", state().smoke_log(port)
    env = {
        **server_env({"primary": bento_models["primary"]}, serving),
        "SERVING_INFERENCE_LOG": str(state().smoke_inference_log),
        "SERVING_AUTH_TOKEN": "",  # the private smoke-test server answers without the API token
    }
    process = local_server.start(bento_tag, "127.0.0.1", port, env, log, project_root())
    try:
        local_server.wait_ready(url, process, serving.ready_timeout_seconds, log, READY_SETTING)
        status, body = local_server.http_json(f"{url}/predict", {"records": records})
    finally:
        local_server.stop(process.pid, process)
    if status != 200:
        raise local_server.ServerError(f"smoke test: /predict answered {status}: {body}")
    got = [item["probability"] for item in body]
    worst = max(abs(a - b) for a, b in zip(got, expected_proba, strict=True))
    positive, negative = schema.positive_label, schema.negative_label
    labels_ok = [item["label"] for item in body] == [positive if y else negative for y in expected_labels]
    if worst > 1e-9 or not labels_ok:
        raise local_server.ServerError(
            f"smoke test: the Bento disagrees with the model (max probability difference {worst:.2e}, "
            f"labels equal: {labels_ok})"
        )
    return {"rows": len(records), "max_probability_difference": worst, "example_request": str(example)}


def _refuse_a_port_taken_by_another(serving: ServingSettings, url: str) -> None:
    """A deploy replaces this project's server; a port held by any other process (another project's
    server, one whose state was deleted) is refused before anything is stopped or built: its
    /readyz would answer for the new server, which could not bind."""
    try:
        if not local_server.port_in_use(serving.host, serving.port):
            return
    except local_server.ServerError as exc:
        raise local_server.ServerError(
            f"cannot serve at {url}: {exc}; set `host` (and `port`) in configs/serving.yaml: 127.0.0.1 "
            "(this machine only), 0.0.0.0 or :: (every interface), or an address of this machine"
        ) from None
    record_path = state().server_record
    if record_path.exists():
        old = json.loads(record_path.read_text())
        if old.get("url") == url and (old.get("container") or local_server.server_processes(old["pid"])):
            return  # this project's server: the deploy replaces it
    raise local_server.ServerError(
        f"cannot serve at {url}: port {serving.port} is held by a process this project did not start "
        f"({local_server.port_owner(serving.port)}); stop it if it is a stale server, or set `port` in "
        "configs/serving.yaml to a free one"
    )


def _stop_previous() -> None:
    """Stop the server or container this project's record names (a redeploy replaces it)."""
    record_path = state().server_record
    if record_path.exists():
        old = json.loads(record_path.read_text())
        if old.get("container"):
            container_server.stop(old["engine"], old["container"])
        else:
            local_server.stop(old["pid"])


def _serve_container(bento_tag: str, bento_models: dict, serving: ServingSettings, url: str) -> dict:
    """Build the Bento's image (a failed build leaves the running server as it is), then run it on
    the host's network in place of the previous server; its record's runtime fields."""
    engine, name = serving.container.engine, f"{bento_tag.partition(':')[0]}-{serving.port}"
    _refuse_a_port_taken_by_another(serving, url)
    image, build_seconds = container_server.build_image(bento_tag, engine)
    _stop_previous()
    logs = state().container_state
    env = {
        **server_env(bento_models, serving),
        "SERVING_INFERENCE_LOG": str(StatePaths(Path(container_server.CONTAINER_STATE)).inference_log),
        "SERVING_AUTH_TOKEN": os.environ.get("SERVING_AUTH_TOKEN", ""),
    }
    container_server.start(engine, image, name, serving.host, serving.port, env, logs)
    try:
        local_server.wait_ready(url, None, serving.ready_timeout_seconds, None, READY_SETTING)
    except local_server.ServerError as exc:
        tail = container_server.logs(engine, name)
        container_server.stop(engine, name)
        raise local_server.ServerError(f"{exc}\ncontainer {name} ({image}):\n{tail}") from None
    except BaseException:  # an interrupt: a container nothing records would hold the port
        container_server.stop(engine, name)
        raise
    user = container_server.user(engine, name)
    return {"container": name, "engine": engine, "image": image, "build_seconds": round(build_seconds, 1),
            "user": user, "inference_log": str(StatePaths(logs).inference_log), "pid": None}  # fmt: skip


def _serve_process(bento_tag: str, bento_models: dict, serving: ServingSettings, url: str) -> dict:
    _refuse_a_port_taken_by_another(serving, url)
    _stop_previous()
    log = state().server_log
    process = local_server.start(
        bento_tag, serving.host, serving.port, server_env(bento_models, serving), log, project_root()
    )
    try:
        local_server.wait_ready(url, process, serving.ready_timeout_seconds, log, READY_SETTING)
    except BaseException:  # any failure, an interrupt too: a server nothing records would hold the port
        local_server.stop(process.pid, process)
        raise
    return {"pid": process.pid, "log": str(log)}


@step(enable_cache=False)
def deploy_local(
    bento_tag: str, bento_models: dict, smoke_test: dict, serving: ServingSettings
) -> Annotated[dict, names.DEPLOYMENT]:
    """Start (or replace) this project's server, a process or a container (`runtime`); record URL,
    Bento tag and model version."""
    url, started = local_server.server_url(serving.host, serving.port), time.monotonic()
    serve = _serve_container if serving.runtime == "container" else _serve_process
    runtime = serve(bento_tag, bento_models, serving, url)  # its error: the command's failure status
    deployment = {
        "url": url,
        "runtime": serving.runtime,
        "bento_tag": bento_tag,
        "models": bento_models,
        "canary_share": serving.canary.share if "canary" in bento_models else 0.0,
        "ready_seconds": round(time.monotonic() - started, 2),
        "smoke_test": smoke_test,
        **runtime,
    }
    state().server_record.write_text(json.dumps(deployment, indent=1))
    log_metadata({names.DEPLOYMENT: deployment}, infer_model=True)
    audit(
        state().audit_log,
        getpass.getuser(),
        "deployment",
        f"serving {bento_models['primary']}",
        {"url": url, "bento": bento_tag, "canary": bento_models.get("canary"), "runtime": serving.runtime},
    )
    print(f"{url} serves {bento_models['primary']} (Bento {bento_tag})")  # the command prints the status
    return deployment
