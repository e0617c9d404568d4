"""The Bento's image: build it (`bentoml containerize`'s builder, with podman or docker) and run it on
the host's network as the image's non-root user (`runtime: container` in configs/serving.yaml)."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path

from stacks.containers import Engine, EngineError, build_mounts, default_home

CONTAINER_STATE = "/state"  # where the container sees its writable state directory (the inference log)
IMAGE_UID = 1034  # the uid of BentoML's `bentoml` user in the images it generates (bento__uid_gid)


def engine(name: str) -> tuple[list[str], dict[str, str]]:
    """The CLI prefix and environment of ``name``: podman with this project's configuration, or
    docker (the engine DOCKER_HOST points at)."""
    if name == "podman":
        own = Engine(default_home()).prepare()
        return own.command(), own.env()
    return ["docker"], dict(os.environ)


def run(name: str, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    prefix, env = engine(name)
    command = [*prefix, *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        what = " ".join(args[:2])
        raise EngineError(f"`{prefix[0]} {what}` exited {done.returncode}: {done.stderr[-3000:]}")
    return done


def image_name(bento_tag: str) -> str:
    name, _, version = bento_tag.partition(":")
    return f"localhost/{name}:{version}"


def build_image(bento_tag: str, engine_name: str) -> tuple[str, float]:
    """Build the Bento's image (skipped when it exists); return its name and the seconds the build
    took. The host's CA bundle and index configuration are mounted at build time only (podman)."""
    import bentoml

    image = image_name(bento_tag)
    if run(engine_name, "image", "inspect", image, check=False).returncode == 0:
        return image, 0.0
    prefix, env = engine(engine_name)
    options: dict = {"network": "host"}
    started = time.monotonic()
    # BentoML logs a failed build and returns (bentoml._internal.container.build): collect its error.
    errors = _Errors()
    builder_log = logging.getLogger("bentoml._internal.container")
    builder_log.addHandler(errors)
    with tempfile.TemporaryDirectory(prefix="bento-build-") as work, _environment(env):
        if engine_name == "podman":
            options.update(root=prefix[2], runroot=prefix[4], volume=build_mounts(Path(work)))
        try:
            bentoml.container.build(bento_tag, backend=engine_name, image_tag=(image,), **options)
        except bentoml.exceptions.BentoMLException as exc:
            errors.messages.append(str(exc))
        finally:
            builder_log.removeHandler(errors)
    if run(engine_name, "image", "inspect", image, check=False).returncode != 0:
        why = "\n".join(errors.messages)[-4000:] or "no error reported; run `bentoml containerize` to see it"
        if engine_name == "docker" and "BuildKit" in why:
            why += (
                "\nBentoML builds with BuildKit: point DOCKER_HOST at a Docker engine that has it (18.09 or "
                "newer, with buildx), build without it (export DOCKER_BUILDKIT=0), or set container.engine: "
                "podman in configs/serving.yaml"
            )
        raise EngineError(f"building the image of Bento {bento_tag} failed:\n{why}")
    return image, time.monotonic() - started


class _Errors(logging.Handler):
    """BentoML's builder warnings and errors (a backend it finds unhealthy only warns why)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _environment(env: dict[str, str]):
    previous = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(previous)


def start(engine_name: str, image: str, name: str, host: str, port: int, env: dict, state: Path) -> str:
    """Run ``image`` detached as ``name`` on the host's network, as the image's non-root user; its
    writable state (``state`` on the host) at /state. Replaces a container of the same name."""
    stop(engine_name, name)
    state.mkdir(parents=True, exist_ok=True)
    if os.getuid() == 0:
        os.chown(state, IMAGE_UID, IMAGE_UID)  # the image's user writes its inference log there
    args = ["run", "-d", "--name", name, "--network", "host", "--volume", f"{state}:{CONTAINER_STATE}:rw"]
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    done = run(engine_name, *args, image, "serve", "--host", host, "--port", str(port))
    return done.stdout.strip()


def logs(engine_name: str, name: str) -> str:
    done = run(engine_name, "logs", "--tail", "60", name, check=False)
    return done.stdout + done.stderr


def user(engine_name: str, name: str) -> str:
    """`id` of the container's main process user (e.g. uid=1034(bentoml) gid=1034(bentoml) ...)."""
    return run(engine_name, "exec", name, "id").stdout.strip()


def stop(engine_name: str, name: str) -> None:
    """Stop and remove the container ``name`` (no error when there is none)."""
    run(engine_name, "rm", "--force", name, check=False)
