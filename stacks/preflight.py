"""Checks of the active ZenML stack before a pipeline run is created: the components the pipeline
needs, and that the servers its components point at answer. Without them, a missing experiment tracker
surfaces as a 140-line traceback and an unreachable S3 endpoint as 530 lines, after the run started."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

from ml.settings import ConfigError

CONNECT_TIMEOUT_SECONDS = 3.0
FIX = "`python run.py stack apply local` (registers and activates the local stack), or `zenml stack set NAME`"


def endpoint_answers(url: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> str | None:
    """None when a TCP connection to ``url``'s host and port opens within ``timeout``; else why not."""
    parts = urlsplit(url)
    if not parts.hostname:
        return f"{url!r} names no host"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return None
    except OSError as error:
        return f"{type(error).__name__}: {error}"


def endpoints(stack) -> list[tuple[str, str, str]]:
    """(component type, component name, URL) of the servers the stack's components talk to."""
    found = []
    store = stack.artifact_store
    endpoint = (getattr(store.config, "client_kwargs", None) or {}).get("endpoint_url")
    if endpoint:
        found.append(("artifact store", store.name, str(endpoint)))
    for component in (stack.experiment_tracker, stack.model_registry):
        uri = getattr(getattr(component, "config", None), "tracking_uri", None) if component else None
        if uri and urlsplit(str(uri)).scheme in ("http", "https"):
            found.append((component.type.value.replace("_", " "), component.name, str(uri)))
    return found


CONTAINER_FLAVORS = ("local_docker",)  # orchestrators that run steps through a local Docker API
LOCAL_FLAVORS = ("local",)  # orchestrators that run steps in this process, on this machine's files


def check_engine(stack_name: str) -> None:
    """ConfigError (exit 2) unless a Docker-compatible API answers where DOCKER_HOST points (else the
    default socket): steps of a container stack cannot start without one."""
    import os

    from stacks.containers import api_answers

    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    why = api_answers(host)
    if why:
        raise ConfigError(
            f"the stack {stack_name!r} runs its steps in containers, but no container engine answers at "
            f"{host} ({why}); start one: `python -m stacks.containers start` (podman) and export the "
            "DOCKER_HOST it prints, or start Docker"
        )


def table_file(data) -> tuple[str, str] | None:
    """(field, path) of the file a table of ``data`` is read from (a CSV or Parquet path, a sqlite:///
    database); None for the demo and for a database server."""
    from sqlalchemy.engine import make_url

    if data.source in ("csv", "parquet"):
        return "data.path", str(data.path)
    url = make_url(data.sql_url) if data.source == "sql" else None
    if url is not None and url.get_backend_name() == "sqlite" and url.database:
        return "data.sql_url", url.database
    return None


def check_mounted(stack_name: str, data, root: Path) -> None:
    """ConfigError unless the table of ``data`` (a CSV or Parquet path, a sqlite:/// database) lies in
    the project's data/ folder, the one the step containers of a container stack see (mounted:
    configs/stacks/container.yaml): a table elsewhere is not in them, and the run failed in its
    first step, after the image was built."""
    found = table_file(data)
    if found is None:
        return
    field, where = found
    table = (root / where).resolve()
    if not table.is_relative_to((root / "data").resolve()):
        raise ConfigError(
            f"the stack {stack_name!r} runs its steps in containers that see the project's data/ folder "
            f"({root / 'data'}), not {table} ({field}); put the table there (e.g. data/{table.name}) "
            "and set that path, read it from a database server (data.source: sql), or run on the local "
            "stack (`zenml stack set local`)"
        )


GIT_INIT = "`git init && git add -A && git commit -m 'Project from Andamio'`"


def check_code_archive(stack_name: str, root: Path, mounted: bool) -> None:
    """ConfigError when the code ZenML archives for each run of a container or cloud stack would carry
    more than the code. ZenML reads .gitignore through git only: outside a git work tree it archives
    every file of the project (.state/ with the artifact store and MLflow runs, growing with each run,
    data/, a .venv/ folder). Inside one it ships what git tracks, so (``mounted``: the container stack,
    which mounts data/) files of data/ committed before .gitignore left data/ out would travel, and each
    step container would unpack the committed copy over the mounted folder."""
    import subprocess

    def git(*args: str) -> subprocess.CompletedProcess | None:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None

    inside = git("rev-parse", "--is-inside-work-tree")
    if inside is None or inside.stdout.strip() != "true":
        folders = (root / name for name in (".state", "data", ".venv"))  # a link is not followed
        kept_out = [f"{path.name}/" for path in folders if path.is_dir() and not path.is_symlink()]
        carried = f" ({', '.join(kept_out)} included)" if kept_out else ""
        why = "git is not installed" if inside is None else "it is not a git repository"
        raise ConfigError(
            f"the stack {stack_name!r} ships the project's code with each run, and ZenML reads .gitignore "
            f"through git only: {root} is outside git ({why}), so every file of the project would be "
            f"archived and uploaded with every run{carried}; make the project a git repository "
            f"({GIT_INIT}, .gitignore leaves .state/, data/ and .venv/ out), or run on the local stack "
            "(`zenml stack set local`)"
        )
    ignored = git("check-ignore", "-q", ".")
    if ignored is not None and ignored.returncode == 0:  # e.g. scripts/demo.sh's build/demo
        top = git("rev-parse", "--show-toplevel")
        enclosing = top.stdout.strip() if top else "around it"
        raise ConfigError(
            f"the stack {stack_name!r} ships the project's code with each run, and ZenML archives what git "
            f"does not ignore: {root} lies in a folder the git repository {enclosing} ignores, so the "
            f"archive would hold no file; make the project a repository of its own ({GIT_INIT} in it), or "
            "run on the local stack (`zenml stack set local`)"
        )
    listed = git("ls-files", "--", "data") if mounted else None
    tracked = listed.stdout.split() if listed is not None and listed.returncode == 0 else []
    if tracked:
        shown = ", ".join(tracked[:3]) + (f" and {len(tracked) - 3} more" if len(tracked) > 3 else "")
        raise ConfigError(
            f"the stack {stack_name!r} mounts the project's data/ folder into its step containers, but git "
            f"tracks {shown}: ZenML would ship them in the run's code archive and each step would unpack "
            f"them over the mounted folder; untrack them (`git rm -r --cached data`, .gitignore already "
            "leaves data/ out) and commit"
        )


def check_remote(stack_name: str, flavor: str, data) -> None:
    """ConfigError when the table of ``data`` is a file of the project (a relative path): the steps of
    a stack whose orchestrator runs them away from this machine (SageMaker, Vertex, Kubernetes, ...)
    get the code ZenML archives, and .gitignore leaves data/ out of it (a day's table would travel,
    and be stored again, with every run). An absolute path is a volume the team mounts in every step."""
    found = table_file(data)
    if found is None or Path(found[1]).is_absolute():
        return
    field, where = found
    raise ConfigError(
        f"the stack {stack_name!r} runs its steps on its {flavor} orchestrator, away from this machine, "
        f"and they do not see the project's file {where} ({field}): the project's data/ folder is not "
        "sent with the code; read the table from a database server the steps reach (data.source: sql), "
        f"or set the absolute path of a volume every step mounts (configs/stacks/{stack_name}.yaml), "
        "or run on the local or container stack (`zenml stack set local`)"
    )


def check_remote_scores(stack_name: str, flavor: str, scoring) -> None:
    """ConfigError when ``scoring`` (ScoringSettings) writes the scores table to SQLite, a file, on a
    stack whose orchestrator runs the steps away from this machine: the table would be written in the
    step's container and lost with it, after the run said it was written."""
    from sqlalchemy.engine import make_url

    url = scoring.database_url
    if url is not None and make_url(url).get_backend_name() != "sqlite":
        return
    where = "empty: SQLite in the state directory" if url is None else url
    raise ConfigError(
        f"the stack {stack_name!r} runs its steps on its {flavor} orchestrator, away from this machine: "
        f"the scores table would be written to a SQLite file in the step's container "
        f"(scoring.database_url: {where}) and lost with it; set scoring.database_url in "
        "configs/scoring.yaml to a database server the steps reach (postgresql+psycopg://user@host/db, "
        "its password in the variable scoring.database_password_env names), or run on the local or "
        "container stack (`zenml stack set local`)"
    )


def check_stack(
    command: str, needs: tuple[str, ...] = (), data=None, root: Path | None = None, scoring=None
) -> None:
    """ConfigError (exit 2, one paragraph) when the active stack lacks a component ``command``
    needs (e.g. "experiment_tracker"), one of its servers does not answer, (``data``, the
    project's DataSettings, and its ``root``) its step containers would not see the table, or
    (``scoring``, ScoringSettings) its steps would write the scores table where it is lost."""
    from zenml.client import Client

    stack = Client().active_stack
    missing = [kind for kind in needs if getattr(stack, kind, None) is None]
    if missing:
        lacking = " and no ".join(kind.replace("_", " ") for kind in missing)
        raise ConfigError(
            f"the active stack {stack.name!r} has no {lacking}, which `run.py {command}` needs; "
            f"{FIX} to one that has"
        )
    flavor = stack.orchestrator.flavor
    if flavor in CONTAINER_FLAVORS:  # steps in containers on this machine, data/ and the state mounted
        check_engine(stack.name)
        if data is not None and root is not None:
            check_mounted(stack.name, data, root)
        if root is not None:
            check_code_archive(stack.name, root, mounted=True)
    elif flavor not in LOCAL_FLAVORS:  # steps away from this machine
        if root is not None:
            check_code_archive(stack.name, root, mounted=False)
        if data is not None:
            check_remote(stack.name, flavor, data)
        if scoring is not None:
            check_remote_scores(stack.name, flavor, scoring)
    for kind, name, url in endpoints(stack):
        why = endpoint_answers(url)
        if why:
            raise ConfigError(
                f"the active stack {stack.name!r}: {kind} {name!r} points at {url}, which does not answer "
                f"({why}); start that server, or correct the URL in the stack's spec and apply it again "
                f"(`python run.py stack apply {stack.name}`), or {FIX}"
            )
