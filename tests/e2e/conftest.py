"""Session-wide fixtures of the end-to-end modules that need a container engine."""

from __future__ import annotations

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
