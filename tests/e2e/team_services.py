"""The services of the `team` stack, real and on 127.0.0.1, started and stopped by a test: an
S3-compatible endpoint (moto's server), an MLflow tracking server (SQLite backend, artifacts in the
bucket) and a ZenML server (its FastAPI app under uvicorn, SQLite store, password login)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from bentos.local_server import free_port

BIN = Path(sys.executable).parent
S3_KEY, S3_SECRET = "team-access-key", "team-secret-key"  # moto accepts any pair
ZENML_USER, ZENML_PASSWORD = "default", "team-password"
BUCKET = "team-artifacts"


@dataclass(frozen=True)
class TeamServices:
    s3_url: str
    mlflow_url: str
    zenml_url: str
    bucket: str = BUCKET

    def client_env(self) -> dict[str, str]:
        """What an engineer exports to use the team stack (URLs and credentials)."""
        return {
            "ZENML_STORE_URL": self.zenml_url,
            "ZENML_STORE_USERNAME": ZENML_USER,
            "ZENML_STORE_PASSWORD": ZENML_PASSWORD,
            "TEAM_S3_BUCKET": self.bucket,
            "TEAM_S3_ENDPOINT_URL": self.s3_url,
            "TEAM_S3_ACCESS_KEY_ID": S3_KEY,
            "TEAM_S3_SECRET_ACCESS_KEY": S3_SECRET,
            "TEAM_MLFLOW_TRACKING_URI": self.mlflow_url,
            # The MLflow server runs without its auth app; ZenML requires one auth method for a
            # remote tracking URI, so these travel as basic auth and are ignored by the server.
            "TEAM_MLFLOW_USERNAME": "team",
            "TEAM_MLFLOW_PASSWORD": "team",
        }


def _base_env() -> dict[str, str]:
    leaky = ("ZENML_", "MLFLOW_", "BENTOML_", "AWS_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(leaky)}
    env.update(ZENML_ANALYTICS_OPT_IN="false", DO_NOT_TRACK="1", NO_COLOR="1")
    return env


class _Service:
    """A server process: started at once, waited for later (so boots overlap), always stopped."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, health: str) -> None:
        self.args, self.log, self.health = args, log, health
        with log.open("wb") as out:
            # Own session: `mlflow server` runs uvicorn as a child; stop() ends the whole group.
            self.process = subprocess.Popen(
                args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.args[:3]} exited {self.process.returncode}:\n{self.log.read_text()[-3000:]}"
                )
            try:
                if httpx.get(self.health, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.health} not ready after {timeout} s:\n{self.log.read_text()[-3000:]}"
                )
            time.sleep(0.3)

    def stop(self) -> None:
        """SIGTERM to the process group, then SIGKILL to whatever of the group is left."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)


@contextmanager
def team_services(timeout: float = 120) -> Iterator[TeamServices]:
    """Start the three services (MLflow and ZenML boot in parallel); stop them on exit."""
    home = Path(tempfile.mkdtemp(prefix="team-stack-"))
    s3_port, mlflow_port, zenml_port = free_port(), free_port(), free_port()
    s3_url = f"http://127.0.0.1:{s3_port}"
    services: list[_Service] = []
    try:
        s3 = _Service(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
            _base_env(),
            home / "s3.log",
            f"{s3_url}/moto-api/",
        )
        services.append(s3)
        s3.wait_ready(timeout)
        import boto3

        boto3.client(
            "s3",
            endpoint_url=s3_url,
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
        ).create_bucket(Bucket=BUCKET)

        mlflow_env = {
            **_base_env(),
            "AWS_ACCESS_KEY_ID": S3_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "AWS_DEFAULT_REGION": "us-east-1",
            "MLFLOW_S3_ENDPOINT_URL": s3_url,
        }
        mlflow_args = [
            str(BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{home}/mlflow.db",
            "--artifacts-destination",
            f"s3://{BUCKET}/mlflow",
            "--host",
            "127.0.0.1",
            "--port",
            str(mlflow_port),
            "--workers",
            "1",
        ]
        zenml_env = {
            **_base_env(),
            "ZENML_CONFIG_PATH": str(home / "zenml-server"),
            "ZENML_STORE_URL": f"sqlite:///{home}/zenml.db",
            "ZENML_SERVER": "true",
            "ZENML_SERVER_AUTO_ACTIVATE": "true",
            "ZENML_DEFAULT_USER_NAME": ZENML_USER,
            "ZENML_DEFAULT_USER_PASSWORD": ZENML_PASSWORD,
        }
        zenml_args = [
            sys.executable,
            "-m",
            "uvicorn",
            "zenml.zen_server.zen_server_api:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(zenml_port),
        ]
        # Start both, then wait for both: their boots overlap.
        services.append(
            _Service(mlflow_args, mlflow_env, home / "mlflow.log", f"http://127.0.0.1:{mlflow_port}/health")
        )
        services.append(
            _Service(zenml_args, zenml_env, home / "zenml.log", f"http://127.0.0.1:{zenml_port}/health")
        )
        for service in services:
            service.wait_ready(timeout)
        yield TeamServices(s3_url, f"http://127.0.0.1:{mlflow_port}", f"http://127.0.0.1:{zenml_port}")
    finally:
        for service in reversed(services):
            service.stop()
        shutil.rmtree(home, ignore_errors=True)
