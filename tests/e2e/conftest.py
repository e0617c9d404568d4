"""Session-wide fixtures of the end-to-end modules: a container engine and its images, and the demo
project trained once per worker."""

from __future__ import annotations

import shutil
import sys
import time

import pytest

from stacks import containers


@pytest.fixture(scope="session")
def container_engine(tmp_path_factory):
    """This project's podman (stacks/containers.py): the offline base image, built once per definition
    and kept in the engine's cache directory between sessions, and a Docker-compatible API socket of this
    session's own, stopped by its pid at the end."""
    engine = containers.Engine(containers.default_home()).prepare()
    started = time.monotonic()
    base = containers.build_base_image(engine, log=print)
    base_seconds = time.monotonic() - started
    home = tmp_path_factory.mktemp("engine")
    sock = home / "engine.sock"
    pid = containers.start_service(engine, sock, home / "engine.log")
    yield {
        "engine": engine,
        "base_image": base,
        "base_seconds": base_seconds,
        "docker_host": containers.docker_host(sock),
    }
    containers.stop_service(pid)


@pytest.fixture(scope="session")
def runtime_image(container_engine):
    """The offline base image with requirements.lock installed: the container stack's parent image in
    the tests (ZenML's own image would need a registry). Built once per lock, cached like the base."""
    from tests.e2e.harness import PROJECT_ROOT

    engine = container_engine["engine"]
    return containers.build_runtime_image(
        engine, container_engine["base_image"], PROJECT_ROOT / "requirements.lock"
    )


@pytest.fixture(scope="session")
def _demo_release_snapshot(tmp_path_factory):
    """The demo data on the `local` stack, trained once per xdist worker (DEMO_RELEASE_TRAINING, `--outputs`
    written) into a directory of the worker's own, then copied
    aside. ZenML, MLflow and BentoML keep absolute paths, so `demo_release` restores the copy at the
    same place rather than elsewhere."""
    from tests.e2e.harness import (
        DEMO_RELEASE_TRAINING,
        PROJECT_ROOT,
        demo_stack,
        must,
        run_cli,
        training_config,
    )

    live = tmp_path_factory.getbasetemp() / "demo-release"
    live.mkdir()
    env, project = demo_stack(live)
    config = training_config(live, "training", **DEMO_RELEASE_TRAINING)
    outputs = live / "train-outputs"
    train = ["train", "--project", str(project), "--config", config, "--outputs", str(outputs)]
    out = must(run_cli(PROJECT_ROOT, env, *train)).stdout
    snapshot = tmp_path_factory.mktemp("demo-release-snapshot") / "state"
    shutil.copytree(live, snapshot, symlinks=True)
    return {"snapshot": snapshot, "state": live, "env": env, "project": project, "config": config,
            "outputs": outputs, "out": out}  # fmt: skip


@pytest.fixture(scope="module")
def demo_release(_demo_release_snapshot):
    """A module's own copy of the trained demo project (version 1 in production, nothing scored or
    served yet): `state`, `env`, `project` (config path), `config` (training config path), `outputs`
    (the train's --outputs file) and `out` (its stdout). A module's tests run one after another on
    one worker, so each module finds the state as the training left it, whatever the previous module
    did to its copy."""
    shared = dict(_demo_release_snapshot)
    snapshot, live = shared.pop("snapshot"), shared["state"]
    shutil.rmtree(live)
    shutil.copytree(snapshot, live, symlinks=True)
    forget_mlflow_stores()
    return shared


def forget_mlflow_stores() -> None:
    """MLflow keeps, for the life of a process, one tracking and one registry store per URI (lru_cache)
    and one SQLAlchemy engine per database URI (the stores' ``_engine_map``), its SQLite connections
    open. The restored state has the same URI but a new database file: what an earlier module of this
    worker cached would still read the deleted one (test_serving once found no version 2 of the model
    after test_container_serving had run on its worker). MLflow has no public call to drop them."""
    if "mlflow" not in sys.modules:
        return
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore
    from mlflow.tracking._model_registry.registry import ModelRegistryStoreRegistry
    from mlflow.tracking._tracking_service.registry import TrackingStoreRegistry

    for stores in (TrackingStoreRegistry, ModelRegistryStoreRegistry):
        stores._get_store_with_resolved_uri.cache_clear()
    for store in (TrackingStore, RegistryStore):
        with store._engine_map_lock:
            for engine in store._engine_map.values():
                engine.dispose()
            store._engine_map.clear()
