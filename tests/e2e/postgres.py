"""A real PostgreSQL server for a test: initdb + pg_ctl on a free loopback port, stopped after."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bentos.local_server import free_port


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None)
    if not found:
        raise RuntimeError(
            f"PostgreSQL server binary {name!r} not found: install the server "
            "(Debian: apt-get install postgresql; scripts/test.sh does it when run as root)"
        )
    return found


@contextmanager
def postgres_server(password: str | None = None) -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh server on loopback: trust auth, or with ``password`` the
    user must give it (SCRAM), and the URL carries it."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    home = Path(tempfile.mkdtemp(prefix="pg-"))
    data, port = home / "data", free_port()
    as_user: dict = {}
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres account
        shutil.chown(home, "postgres")
        as_user = {"user": "postgres"}

    def run(*args: str) -> None:
        result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, **as_user)
        if result.returncode != 0:
            log = (home / "server.log").read_text() if (home / "server.log").exists() else ""
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}{log}")

    auth = ["--auth=trust"]
    if password is not None:
        (home / "pwfile").write_text(password)
        if as_user:
            shutil.chown(home / "pwfile", "postgres")
        auth = ["--auth=scram-sha-256", f"--pwfile={home / 'pwfile'}"]
    run(initdb, "-D", str(data), "-U", "andamio", *auth, "-E", "UTF8")
    run(
        pg_ctl,
        "-D",
        str(data),
        "-l",
        str(home / "server.log"),
        "-w",
        "-o",
        f"-p {port} -k {home} -c listen_addresses=127.0.0.1",
        "start",
    )
    try:
        user = "andamio" if password is None else f"andamio:{password}"
        yield f"postgresql+psycopg://{user}@127.0.0.1:{port}/postgres"
    finally:
        run(pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(home, ignore_errors=True)
