"""Start, probe and stop `bentoml serve` processes on this machine (loopback by default)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


class ServerError(RuntimeError):
    """A server did not start, did not become ready, or answered wrongly."""


LOWEST_FREE_PORT = 20000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, below the kernel's ephemeral range, which it never hands out for a
    bind to port 0: one found free there stays free until the server binds it. A port from a bind to
    0 did not: BentoML's circus bound its own control socket to the port chosen for the HTTP server
    in between ("Address already in use"), and the deployment failed."""
    first_ephemeral = 32768
    with contextlib.suppress(OSError, ValueError):
        first_ephemeral = int(EPHEMERAL_RANGE.read_text().split()[0])
    ports = range(LOWEST_FREE_PORT, first_ephemeral)
    for port in random.SystemRandom().sample(ports, min(len(ports), 200)):  # never the tests' seed
        if not port_in_use(host, port):
            return port
    family, kind, proto, _, address = _stream_address(host, 0)
    with socket.socket(family, kind, proto) as sock:  # all below the ephemeral range taken: any free port
        sock.bind(address)
        return sock.getsockname()[1]


def _stream_address(host: str, port: int) -> tuple:
    """getaddrinfo's first TCP entry for ``host:port`` (its family: IPv4 or IPv6)."""
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ServerError(f"host {host!r} does not resolve on this machine ({exc.strerror})") from None


def server_url(host: str, port: int) -> str:
    """The server's base URL; an IPv6 address in brackets (``http://[::1]:3000``)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def port_in_use(host: str, port: int) -> bool:
    """Whether something listens on ``host:port``: binding it fails (SO_REUSEADDR, as the server
    binds, so a closed connection's TIME_WAIT does not count). Raise ServerError when nothing could
    ever listen there: a name that does not resolve, an address not of this machine, a port this
    user may not bind."""
    family, kind, proto, _, address = _stream_address(host, port)
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            why = {
                errno.EADDRNOTAVAIL: "not an address of this machine",
                errno.EACCES: "a port below 1024 needs privileges this user lacks",
            }.get(exc.errno, exc.strerror)
            raise ServerError(f"nothing can listen on {host} port {port}: {why}") from None
    return False


def port_owner(port: int) -> str:
    """What listens on ``port`` ("pid N: its command line, in its directory"), as far as this user
    may see; "unknown" otherwise."""
    import psutil

    try:
        pids = {c.pid for c in psutil.net_connections(kind="inet")
                if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid}  # fmt: skip
    except psutil.Error:
        pids = set()
    described = []
    for pid in sorted(pids):
        try:
            process = psutil.Process(pid)
            described.append(f"pid {pid}: {' '.join(process.cmdline())[:160]}, in {process.cwd()}")
        except psutil.Error:
            described.append(f"pid {pid}")
    return "; ".join(described) or "unknown"


def start(
    target: str, host: str, port: int, env: dict[str, str], log_file: Path, cwd: Path
) -> subprocess.Popen:
    """`bentoml serve TARGET` in its own session (so it outlives the caller when asked to)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bentoml", "serve", target, "--host", host, "--port", str(port)],
            cwd=cwd,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def http_json(url: str, payload: object | None = None, timeout: float = 30) -> tuple[int, object]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    try:
        return status, json.loads(body) if body else None
    except json.JSONDecodeError:
        return status, body.decode(errors="replace")


def wait_ready(
    url: str,
    process: subprocess.Popen | None,
    timeout: float,
    log_file: Path | None = None,
    setting: str | None = None,
) -> float:
    """Poll /readyz until 200; return the seconds it took. Raise with the log tail otherwise, naming
    ``setting`` (where ``timeout`` comes from) when the server was still starting."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process is not None and process.poll() is not None:
            break
        try:
            if http_json(f"{url}/readyz", timeout=2)[0] == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.25)
    tail = log_file.read_text(errors="replace")[-3000:] if log_file and log_file.exists() else ""
    exited = process is not None and process.poll() is not None
    why = f"server at {url} {'exited' if exited else 'not ready'} after {time.monotonic() - started:.0f}s"
    if not exited and setting:
        why += (
            f" ({setting}: {timeout:g}); if its log below shows it still loading (a large model, a busy "
            f"host), raise {setting} in configs/serving.yaml"
        )
    raise ServerError(f"{why}\n{tail}")


def _alive(pid: int, process: subprocess.Popen | None) -> bool:
    if process is not None:
        return process.poll() is None
    try:
        os.killpg(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def server_processes(pid: int) -> list:
    """The server and its descendants (psutil processes). BentoML's workers run in sessions of their
    own, outside the server's process group: a group signal does not reach them."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def stop(pid: int, process: subprocess.Popen | None = None, timeout: float = 20) -> None:
    """SIGTERM the server's process group (it flushes its inference log), SIGKILL if it lingers;
    then SIGKILL any worker still alive (a killed arbiter leaves its workers serving)."""
    import psutil

    workers = server_processes(pid)[1:]
    try:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and _alive(pid, process):
                time.sleep(0.2)
            if not _alive(pid, process):
                return
    finally:
        for worker in psutil.wait_procs(workers, timeout=5)[1]:  # a moment to finish their shutdown
            with contextlib.suppress(psutil.Error):  # already gone
                worker.kill()
