"""A container engine of the project's own: Debian's podman run as root with ``runc`` and host
networking, its Docker-compatible API on a socket in a directory it owns, and an offline Python base
image built from Debian packages (no image registry needed).

Standard library only. Used by the `container` stack (ZenML talks to the socket through DOCKER_HOST),
by the container deployment (`runtime: container` in configs/serving.yaml) and by the tests.

    python -m stacks.containers start        # API socket in the state dir; prints `export DOCKER_HOST=...`
    python -m stacks.containers base-image   # builds (or finds) the base image; prints its tag
    python -m stacks.containers runtime-image  # the base image + requirements.lock (a parent image)
    python -m stacks.containers stop         # stops the API service started by `start` (by its pid)

Builds that install Python packages get the host's CA bundle and package-index configuration as
read-only mounts at build time only (``build_mounts``): nothing of either is written into an image
or into the project.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from adapters.state import state_dir

HOME_ENV = "PROJECT_CONTAINERS_DIR"  # where the engine's configuration and image storage live
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SUITE = "bookworm"
BASE_NAME = "localhost/python-base"
# The base image's definition: its hash (with the Debian suite and the mirror) tags the image. Two
# builds: Debian's packages (no mounts: dpkg fails with the CA bundle mounted over its path), then the
# venv with uv (the host's CA bundle and index configuration mounted while building: build_mounts).
OS_CONTAINERFILE = """\
ARG ROOTFS
FROM ${ROOTFS}
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \\
 && rm -rf /var/lib/apt/lists/*
"""
BASE_CONTAINERFILE = """\
ARG OS
FROM ${OS}
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir uv
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    LANG=C.UTF-8 PYTHONUNBUFFERED=1
"""
CONTAINERS_CONF = """\
# Written by stacks/containers.py: runc (crun cannot set rlimits or use hybrid cgroups here), the
# host's network (no bridge, no iptables chains left behind), explicit ulimits (`host` fails here).
[containers]
netns = "host"
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


class EngineError(RuntimeError):
    """The container engine is missing, not running, or a build or run failed."""


def default_home() -> Path:
    """$PROJECT_CONTAINERS_DIR, else a cache directory shared by this user's projects (images are
    large and generic; keeping them between runs is the point)."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "project-containers"


@dataclass(frozen=True)
class Engine:
    """podman with this project's configuration and image storage under ``home``."""

    home: Path

    @property
    def conf(self) -> Path:
        return self.home / "containers.conf"

    def prepare(self) -> Engine:
        if shutil.which("podman") is None or shutil.which("runc") is None:
            raise EngineError(
                "podman and runc are not installed; install them (`apt-get install podman runc "
                "debootstrap`, as root), or use Docker: export DOCKER_HOST=<its socket>"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.conf.exists() or self.conf.read_text() != CONTAINERS_CONF:
            self.conf.write_text(CONTAINERS_CONF)
        return self

    def flags(self) -> list[str]:
        """Global podman flags: storage under ``home`` (not CONTAINERS_STORAGE_CONF: with it every
        `run --rm` hung 20 s here)."""
        return ["--root", str(self.home / "storage"), "--runroot", str(self.home / "run")]

    def env(self) -> dict[str, str]:
        return {**os.environ, "CONTAINERS_CONF": str(self.conf)}

    def command(self, *args: str) -> list[str]:
        return ["podman", *self.flags(), *args]

    def run(self, *args: str, timeout: float = 1800, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            self.command(*args), env=self.env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and done.returncode != 0:
            command = " ".join(args[:3])
            raise EngineError(f"`podman {command} …` exited {done.returncode}:\n{done.stderr[-4000:]}")
        return done

    def image_exists(self, tag: str) -> bool:
        return self.run("image", "exists", tag, check=False).returncode == 0

    def image_size(self, tag: str) -> int:
        return int(self.run("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())


# ---- the API service (what ZenML's docker client and `docker` talk to) ----------------------------


def docker_host(sock: Path) -> str:
    return f"unix://{sock}"


def api_answers(host: str, timeout: float = 2.0) -> str | None:
    """None when the Docker-compatible API at ``host`` (unix://PATH) answers /_ping; else why not."""
    if not host.startswith("unix://"):
        return f"{host!r} is not a unix:// socket address (only local engines are checked)"
    path = host[len("unix://") :]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
            reply = sock.recv(64)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None if reply.startswith(b"HTTP/1.") and b" 200" in reply[:16] else f"answered {reply!r}"


def start_service(engine: Engine, sock: Path, log: Path, timeout: float = 30) -> int:
    """`podman system service --time=0 unix://SOCK` in its own session; return its pid once the
    socket answers."""
    engine.prepare()
    sock.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    with log.open("ab") as out:
        process = subprocess.Popen(
            engine.command("system", "service", "--time=0", docker_host(sock)),
            env=engine.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EngineError(f"podman system service exited {process.returncode}; see {log}")
        if api_answers(docker_host(sock)) is None:
            return process.pid
        time.sleep(0.2)
    stop_service(process.pid)
    raise EngineError(f"podman system service did not answer on {sock} within {timeout:.0f}s; see {log}")


def stop_service(pid: int, timeout: float = 15) -> None:
    """SIGTERM the service's process group (the pid ``start_service`` returned), SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
                if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(pid, 0)
                    return
            except (ProcessLookupError, FileNotFoundError):
                return
            time.sleep(0.1)


# ---- builds -------------------------------------------------------------------------------------


def debian_mirror() -> str:
    """The Debian archive apt already uses here (from /etc/apt/sources.list*), for `debootstrap`."""
    files = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in files:
        if not path.is_file() or not path.name.endswith((".list", ".sources")):
            continue
        text = path.read_text(errors="replace")
        for uri in re.findall(r"^\s*URIs:\s*(\S+)", text, re.M) + re.findall(
            r"^\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+", text, re.M
        ):
            if "security" not in uri and uri.startswith(("http://", "https://", "file:")):
                return uri
    raise EngineError("no Debian archive in /etc/apt/sources.list*; debootstrap needs one")


def build_mounts(workdir: Path) -> list[str]:
    """`--volume` values giving a build the host's CA bundle and package-index configuration, read
    only and at build time only (pip's configuration as pip merges it; uv's from its variables)."""
    mounts = []
    if CA_BUNDLE.is_file():
        mounts.append(f"{CA_BUNDLE}:{CA_BUNDLE}:ro")
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    ).stdout
    settings: dict[str, str] = {}
    for line in pip.splitlines():  # e.g. global.cert='/etc/ssl/certs/ca-certificates.crt'
        key, _, value = line.partition("=")
        section, _, name = key.partition(".")
        if name and section in ("global", "install"):
            settings[name] = value.strip().strip(chr(39))
    for key, value in os.environ.items():
        if key.startswith("PIP_"):
            settings[key[4:].lower().replace("_", "-")] = value
    lines = ["[global]"]
    for name, value in settings.items():
        if name in ("index-url", "extra-index-url", "find-links"):  # the host's own disk is not there
            value = " ".join(item for item in value.split() if not item.startswith(("file:", "/")))
        elif value.startswith("/") and Path(value).is_file() and Path(value) != CA_BUNDLE:
            mounts.append(f"{value}:{value}:ro")  # e.g. a constraints file, read where pip expects it
        if value:
            lines.append(f"{name} = {value}")
    (workdir / "pip.conf").write_text("\n".join(lines) + "\n")
    mounts.append(f"{workdir / 'pip.conf'}:/etc/pip.conf:ro")
    uv = ["native-tls = true"]  # uv trusts its own roots otherwise, not the mounted bundle
    for key, setting in (("UV_INDEX_URL", "index-url"), ("PIP_INDEX_URL", "index-url")):
        if os.environ.get(key):
            uv.append(f'{setting} = "{os.environ[key]}"')
            break
    (workdir / "uv.toml").write_text("\n".join(uv) + "\n")
    mounts.append(f"{workdir / 'uv.toml'}:/etc/uv/uv.toml:ro")
    return mounts


def base_image_tag(mirror: str) -> str:
    definition = f"{SUITE}\n{mirror}\n{OS_CONTAINERFILE}\n{BASE_CONTAINERFILE}"
    digest = hashlib.sha256(definition.encode()).hexdigest()[:12]
    return f"{BASE_NAME}:{digest}"


def build_base_image(engine: Engine, log=print) -> str:
    """The offline Python base image, built once per definition: `debootstrap --variant=minbase`
    from the host's Debian archive, `podman import`, then python3 + a venv (with uv) on top."""
    engine.prepare()
    mirror = debian_mirror()
    tag = base_image_tag(mirror)
    if engine.image_exists(tag):
        return tag
    if shutil.which("debootstrap") is None:
        raise EngineError("debootstrap is not installed (`apt-get install debootstrap`, as root)")
    rootfs_tag = f"{BASE_NAME}-rootfs:{hashlib.sha256((SUITE + chr(10) + mirror).encode()).hexdigest()[:12]}"
    with tempfile.TemporaryDirectory(dir=engine.home, prefix="build-") as work:
        workdir = Path(work)
        if not engine.image_exists(rootfs_tag):
            log(f"debootstrap {SUITE} from {mirror} (about 2 minutes)")
            rootfs = workdir / "rootfs"
            done = subprocess.run(
                ["debootstrap", "--variant=minbase", SUITE, str(rootfs), mirror],
                capture_output=True, text=True, check=False, timeout=1800,
            )  # fmt: skip
            if done.returncode != 0:
                raise EngineError(f"debootstrap exited {done.returncode}:\n{done.stderr[-3000:]}")
            tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
            imported = subprocess.run(
                engine.command("import", "-", rootfs_tag), stdin=tar.stdout, env=engine.env(),
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            tar.wait()
            if imported.returncode != 0:
                raise EngineError(f"podman import exited {imported.returncode}:\n{imported.stderr[-3000:]}")
            shutil.rmtree(rootfs, ignore_errors=True)
        os_tag = tag.replace(BASE_NAME, BASE_NAME + "-os")
        (workdir / "Containerfile.os").write_text(OS_CONTAINERFILE)
        (workdir / "Containerfile").write_text(BASE_CONTAINERFILE)
        log(f"building {tag}")
        build(engine, workdir, os_tag, workdir, {"ROOTFS": rootfs_tag}, file="Containerfile.os", mounts=False)
        build(engine, workdir, tag, workdir, {"OS": os_tag})
    return tag


RUNTIME_NAME = "localhost/python-runtime"
RUNTIME_CONTAINERFILE = """\
ARG BASE
FROM ${BASE}
COPY requirements.lock /tmp/requirements.lock
RUN uv pip install --python /opt/venv/bin/python --compile-bytecode -r /tmp/requirements.lock \\
 && rm /tmp/requirements.lock
"""


def runtime_image_tag(base: str, lock: Path) -> str:
    definition = f"{base}\n{lock.read_text()}\n{RUNTIME_CONTAINERFILE}"
    return f"{RUNTIME_NAME}:{hashlib.sha256(definition.encode()).hexdigest()[:12]}"


def build_runtime_image(engine: Engine, base: str, lock: Path, log=print) -> str:
    """The base image with ``lock`` installed into its venv: a parent image whose pipeline images
    (ZenML's `uv pip install -r requirements.lock`) find every requirement satisfied, so they build
    without the network. Tagged by the hash of the base image's tag, the lock and this definition."""
    tag = runtime_image_tag(base, lock)
    if engine.image_exists(tag):
        return tag
    with tempfile.TemporaryDirectory(dir=engine.home, prefix="build-") as work:
        workdir = Path(work)
        shutil.copyfile(lock, workdir / "requirements.lock")
        (workdir / "Containerfile").write_text(RUNTIME_CONTAINERFILE)
        log(f"building {tag}")
        build(engine, workdir, tag, workdir, {"BASE": base})
    return tag


def build(
    engine: Engine,
    context: Path,
    tag: str,
    workdir: Path,
    build_args: dict | None = None,
    file: str = "Containerfile",
    mounts: bool = True,
) -> float:
    """`podman build` with host networking and the host's CA/index configuration mounted; return
    the seconds it took. A failed build raises with the build's own error."""
    started = time.monotonic()
    args = ["build", "--network=host", "--layers", "-t", tag, "-f", str(context / file)]
    for mount in build_mounts(workdir) if mounts else []:
        args += ["--volume", mount]
    for key, value in (build_args or {}).items():
        args += ["--build-arg", f"{key}={value}"]
    engine.run(*args, str(context), timeout=3600)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.containers", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("start", "stop", "status", "base-image", "runtime-image"))
    parser.add_argument("--home", type=Path, default=None, help=f"default: ${HOME_ENV}, else ~/.cache/…")
    args = parser.parse_args(argv)
    engine = Engine(args.home or default_home())
    # The images are shared (the cache); the API service is this project's: socket and pid in its state.
    own = state_dir(Path(__file__).resolve().parents[1]) / "containers"
    own.mkdir(parents=True, exist_ok=True)
    sock, pidfile = own / "engine.sock", own / "engine.pid"
    try:
        if args.action in ("base-image", "runtime-image"):
            say = lambda line: print(line, file=sys.stderr)  # noqa: E731
            tag = build_base_image(engine, log=say)
            if args.action == "runtime-image":
                tag = build_runtime_image(engine, tag, Path("requirements.lock"), log=say)
            print(tag)
        elif args.action == "start":
            if pidfile.exists() and api_answers(docker_host(sock)) is None:
                pid = pidfile.read_text().strip()
                print(f"export DOCKER_HOST={docker_host(sock)}  # already running (pid {pid})")
                return 0
            pid = start_service(engine, sock, own / "engine.log")
            pidfile.write_text(str(pid))
            print(f"export DOCKER_HOST={docker_host(sock)}")
        elif args.action == "stop":
            if pidfile.exists():
                stop_service(int(pidfile.read_text()))
                pidfile.unlink()
        else:
            why = api_answers(docker_host(sock))
            print(json.dumps({"docker_host": docker_host(sock), "answers": why is None, "why": why}))
            return 0 if why is None else 1
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
