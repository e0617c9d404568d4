"""Status messages of the commands, in English and Spanish, each with the runbook section it links to.

``run.py`` prints them (``Status.line``); the runbook page a status links to quotes it in both
languages, and a test checks that every link points at an existing heading.
"""

from __future__ import annotations

from dataclasses import dataclass

RUNBOOK_DIR = "runbooks/en"


@dataclass(frozen=True)
class Status:
    """A status of a command: English text, Spanish text, runbook link (``runbooks/en/PAGE.md#anchor``)."""

    en: str
    es: str
    runbook: str

    @property
    def text(self) -> str:
        """``English / Spanish``, as the runbooks quote it."""
        return f"{self.en} / {self.es}"

    def line(self, detail: str = "") -> str:
        """``English / Spanish: detail (runbook: link)``."""
        return self.text + (f": {detail}" if detail else "") + f" (runbook: {self.runbook})"


def _page(page: str, anchor: str) -> str:
    return f"{RUNBOOK_DIR}/{page}.md#{anchor}"


TRAINED = Status(
    "Training finished", "Entrenamiento terminado", _page("02-experiments", "from-a-run-to-a-model-version")
)
TRAINING_FAILED = Status(
    "Training failed", "Entrenamiento fallido", _page("03-pipelines", "when-a-run-fails")
)
COMMAND_FAILED = Status("Command failed", "Comando fallido", _page("03-pipelines", "when-a-run-fails"))
DEPLOYED = Status("Deployment succeeded", "Despliegue exitoso", _page("05-deployment", "query-the-api"))
DEPLOY_FAILED = Status(
    "Deployment failed", "Despliegue fallido", _page("05-deployment", "when-a-deployment-fails")
)
STOPPED = Status("Server stopped", "Servidor detenido", _page("05-deployment", "stop-the-server"))
SERVER_BEHIND = Status(
    "Server behind production",
    "Servidor desactualizado",
    _page("05-deployment", "deploy-the-production-model"),
)
ROLLED_BACK = Status("Rollback succeeded", "Reversión exitosa", _page("05-deployment", "roll-back"))
SCORED = Status("Scoring succeeded", "Puntuación exitosa", _page("06-monitoring", "nightly-batch-scoring"))
NO_BREACH = Status(
    "No threshold breached", "Ningún umbral superado", _page("06-monitoring", "metrics-catalogue")
)
BREACHED = Status("Threshold breached", "Umbral superado", _page("07-incident-playbook", "detection"))
RETRAINING = Status("Retraining", "Reentrenamiento", _page("06-monitoring", "drift-response"))
RETRAINING_DEFERRED = Status(
    "Retraining requested", "Reentrenamiento solicitado", _page("06-monitoring", "drift-response")
)
SCHEDULED = Status("Schedule registered", "Programación registrada", _page("03-pipelines", "schedules"))
BRIEF = Status("Executive brief", "Informe ejecutivo", _page("09-executive-brief", "produce-the-brief"))

ALL = (
    TRAINED,
    TRAINING_FAILED,
    COMMAND_FAILED,
    DEPLOYED,
    DEPLOY_FAILED,
    STOPPED,
    ROLLED_BACK,
    SERVER_BEHIND,
    SCORED,
    NO_BREACH,
    BREACHED,
    RETRAINING,
    RETRAINING_DEFERRED,
    SCHEDULED,
    BRIEF,
)
_FAILURES = {"train": TRAINING_FAILED, "deploy": DEPLOY_FAILED}


def failure(command: str) -> Status:
    """The failure status of a ``run.py`` command (``Command failed`` unless it has its own)."""
    return _FAILURES.get(command, COMMAND_FAILED)
