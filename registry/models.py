"""Find, stage and roll back model versions (ZenML client + the stack's model registry)."""

from __future__ import annotations

import fcntl
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ml import names
from ml.promotion import recorded_evaluation

MLFLOW_VERSION = names.MLFLOW_VERSION
REPLACED = names.REPLACED
DECISIONS = names.STAGE_HISTORY


class RegistryError(RuntimeError):
    """A model-registry operation is not possible (no such version, nothing to roll back to)."""


def _client():
    from zenml.client import Client

    return Client()


def production_version(model_name: str):
    """The version in production, or None."""
    from zenml.enums import ModelStages

    try:
        return _client().get_model_version(model_name, ModelStages.PRODUCTION)
    except KeyError:
        return None


def _registry():
    return _client().active_stack.model_registry


def register_in_mlflow(model_name: str, model_uri: str, description: str) -> str | None:
    """Register ``model_uri`` as a new MLflow registry version; None when the stack has no registry."""
    registry = _registry()
    if registry is None:
        return None
    try:
        registry.get_model(model_name)
    except KeyError:
        registry.register_model(model_name, description=description)
    # A tracking server accepts a logged model (models:/m-…) as a source only with its model id, which
    # ZenML's register_model_version does not pass: register through the registry's MLflow client.
    model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
    version = registry.mlflow_client.create_model_version(
        model_name, model_uri, description=description, model_id=model_id
    )
    return str(version.version)


def set_mlflow_stage(model_name: str, registry_version: str | None, stage: str) -> None:
    """Mirror a ZenML stage as an MLflow alias (production -> champion)."""
    from zenml.model_registries.base_model_registry import ModelVersionStage

    registry = _registry()
    if registry is None or registry_version is None:
        return
    registry.update_model_version(model_name, registry_version, stage=ModelVersionStage[stage.upper()])


def _record(model_name: str, version_name: str, entry: dict, extra: dict | None = None) -> None:
    from zenml import log_metadata

    version = _client().get_model_version(model_name, version_name)
    history = list(version.run_metadata.get(DECISIONS, []))
    history.append({**entry, "at": datetime.now(UTC).isoformat(timespec="seconds"), "by": getpass.getuser()})
    log_metadata({DECISIONS: history, **(extra or {})}, model_name=model_name, model_version=version_name)


@contextmanager
def _stage_lock(model_name: str) -> Iterator[None]:
    """Stage changes of one model, one at a time among the processes that share this ZenML
    configuration. ZenML's ``set_stage(force=True)`` reads the current holder and archives it in
    separate steps, so two concurrent promotions could both end in production (seen in
    test_two_concurrent_promotions_leave_exactly_one_production_version)."""
    from zenml.config.global_config import GlobalConfiguration

    path = Path(GlobalConfiguration().config_directory) / "locks" / f"stage-{model_name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield


def set_stage(model_name: str, version_name: str, stage: str, why: str, extra: dict | None = None) -> None:
    """Move a version to ``stage`` (production archives the previous holder) in ZenML and MLflow."""
    with _stage_lock(model_name):
        _set_stage(model_name, version_name, stage, why, extra)


def _set_stage(model_name: str, version_name: str, stage: str, why: str, extra: dict | None) -> None:
    client = _client()
    previous = production_version(model_name) if stage == "production" else None
    version = client.get_model_version(model_name, version_name)
    version.set_stage(stage, force=True)
    set_mlflow_stage(model_name, version.run_metadata.get(MLFLOW_VERSION), stage)
    if previous is not None and previous.name != version.name:
        set_mlflow_stage(model_name, previous.run_metadata.get(MLFLOW_VERSION), "archived")
        _record(
            model_name, previous.name, {"stage": "archived", "why": f"replaced by version {version.name}"}
        )
        extra = {**(extra or {}), REPLACED: previous.name}
    _record(model_name, version.name, {"stage": stage, "why": why}, extra)


def rollback(model_name: str, to_version: str | None = None) -> tuple[str, str, str]:
    """Put back the version the current production replaced (or ``to_version``); return (from, to,
    the stage ``to`` had: 'archived' for a replaced production, 'staging' for a candidate never served)."""
    current = production_version(model_name)
    if current is None:
        raise RegistryError(f"model {model_name!r} has no production version to roll back from")
    target = to_version or current.run_metadata.get(REPLACED)
    if not target:
        raise RegistryError(
            f"production version {current.name} of {model_name!r} replaced no earlier version; "
            "name one with --to VERSION (see `python run.py models`)"
        )
    try:
        version = _client().get_model_version(model_name, str(target))
    except KeyError:
        raise RegistryError(f"model {model_name!r} has no version {target!r}") from None
    from registry.release import record_of

    record_of(version)  # only a version whose release is complete can serve again
    was = str(version.stage or "none")
    set_stage(model_name, str(target), "production", f"rollback from version {current.name}")
    return current.name, str(target), was


def training_state(version) -> str:
    """How the training of a version without a promotion decision ended: 'failed' when every run
    that made it failed (or was stopped), else 'running'."""
    from zenml.enums import ExecutionStatus

    runs = _client().list_pipeline_runs(model_version_id=version.id, size=100).items
    statuses = [run.status for run in runs]
    ended = {ExecutionStatus.FAILED, ExecutionStatus.STOPPED, ExecutionStatus.CANCELLED}
    return "failed" if not statuses or all(status in ended for status in statuses) else "running"


def describe_versions(model_name: str) -> list[dict]:
    client = _client()
    try:
        versions = client.list_model_versions(model=client.get_model(model_name).id, size=1000).items
    except KeyError:
        return []
    rows = []
    for version in versions:
        meta = version.run_metadata
        decision = meta.get(names.PROMOTION_DECISION) or {}
        release = meta.get(names.RELEASE) or {}
        artifact = release.get("artifact", meta.get(names.RELEASE_ARTIFACT))
        rows.append(
            {
                "version": version.name,
                "stage": str(version.stage or "none"),
                "training": "promotion decided" if decision else training_state(version),
                "primary_metric": meta.get(names.PRIMARY_METRIC),  # what it was selected and gated on
                "decision": decision.get("stage"),
                "release": artifact,
                "threshold": release.get("decision_threshold"),
                # its number in the MLflow registry, which registers only promoted or staged versions
                "mlflow": meta.get(names.MLFLOW_VERSION),
                "card": (meta.get(names.MODEL_CARD) or {}).get("html"),
                "served": recorded_evaluation(meta, artifact),  # what the release serves, as evaluated
                "created": version.created.isoformat(timespec="seconds") if version.created else None,
                # monitoring_<date> and monitoring_decision_<date> entries (steps/monitor.py)
                "monitoring": {
                    key: value for key, value in meta.items() if key.startswith(names.MONITORING_PREFIX)
                },
            }
        )
    return rows
