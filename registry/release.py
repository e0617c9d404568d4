"""The release: what a promoted model version means, written once and read through one function.

Promotion writes one model-version metadata entry (``names.RELEASE``) holding every key a consumer
needs: which artifact is served, the feature schema, the decision threshold, the mitigation, the
primary metric, the data fingerprint, the code reference and the identity of the exported bundle.
Batch scoring, the Bento export and its smoke test, monitoring, the brief and rollback read the
production release through ``production_release`` (or a given version through ``release_of``);
none of them re-derives a threshold or an artifact name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml import names
from ml.features import FeatureSchema
from ml.promotion import recorded_evaluation
from registry.models import RegistryError, production_version

# Every key a release must hold; a version without one of them cannot be served or restored.
KEYS = (
    "model_name",
    "version",
    "artifact",
    "artifact_id",
    "feature_schema_artifact",
    "decision_threshold",
    "mitigation",
    "model_kind",
    "primary_metric",
    "data_fingerprint",
    "code_reference",
    "identity",
    "bento_tag",
)


def release_record(
    *,
    model_name: str,
    version: str,
    artifact: str,
    artifact_id: str,
    schema_artifact_id: str,
    decision_threshold: float,
    mitigation: dict,
    model_kind: str,
    primary_metric: dict,
    data_fingerprint: dict,
    code_reference: dict,
) -> dict:
    """The release entry of a version, with its identity: a hash of the served artifact's and the
    schema's artifact ids (unique to this ZenML store), which also tags the exported BentoML model,
    so two projects (or one whose state was reset) never share an exported model."""
    identity = hashlib.sha256(f"{artifact_id}:{schema_artifact_id}".encode()).hexdigest()[:16]
    return {
        "model_name": model_name,
        "version": str(version),
        "artifact": artifact,
        "artifact_id": str(artifact_id),
        "feature_schema_artifact": names.FEATURE_SCHEMA,
        "decision_threshold": float(decision_threshold),
        "mitigation": mitigation,
        "model_kind": model_kind,
        "primary_metric": primary_metric,
        "data_fingerprint": data_fingerprint,
        "code_reference": code_reference,
        "identity": identity,
        "bento_tag": f"{model_name}:v{version}-{identity}",
    }


@dataclass(frozen=True)
class Release:
    """A released model version: its record, the loaded model and schema, and the version itself
    (for its other artifacts, e.g. the training and test splits)."""

    record: dict
    model: Any
    schema: FeatureSchema
    version: Any  # zenml ModelVersionResponse

    @property
    def model_name(self) -> str:
        return self.record["model_name"]

    @property
    def number(self) -> str:
        return self.record["version"]

    @property
    def threshold(self) -> float:
        return float(self.record["decision_threshold"])

    @property
    def primary_metric(self) -> str:
        """The metric this version was selected and gated on (training.primary_metric then)."""
        return self.record["primary_metric"]["name"]

    @property
    def bento_tag(self) -> str:
        return self.record["bento_tag"]

    @property
    def input_columns(self) -> list[str]:
        """The columns of a record the served model takes: the features, a mitigated release's
        sensitive columns (they pick its group thresholds), and the id column when there is one."""
        sensitive = [c for c in getattr(self.model, "sensitive_features", ()) if c not in self.schema.names]
        return [*self.schema.names, *sensitive, *([self.schema.id_column] if self.schema.id_column else [])]

    @property
    def evaluation(self) -> dict:
        """The served model's evaluation as training recorded it: its test ``metrics`` (at the
        release's decisions) and its ``fairness`` record; the mitigated model's (the version's
        ``mitigated_evaluation``) for a mitigated release, the plain model's otherwise. Empty values
        where a version of before they were kept has none."""
        return recorded_evaluation(self.version.run_metadata, self.record["artifact"])

    @property
    def test_metrics(self) -> dict:
        """The served model's metrics on its test split (``evaluation``)."""
        return self.evaluation[names.METRICS]

    def fairness_gate(self):
        """What the served model's fairness gate judged (``ml.live_fairness.FairnessGate``): the
        sensitive columns and groups of its fairness record (the mitigated model's for a mitigated
        release) and the fairness limits it was trained with; None when either was not recorded."""
        from ml.fairness import recorded_edges
        from ml.live_fairness import FairnessGate
        from ml.settings import FairnessSettings

        settings = (self.version.run_metadata.get(names.TRAINING_SETTINGS) or {}).get("fairness")
        edges = recorded_edges(self.evaluation[names.FAIRNESS])
        if edges is None or settings is None:
            return None
        try:
            limits = FairnessSettings.model_validate(settings)
        except ValueError:  # pydantic's ValidationError: settings of a version no longer valid
            return None
        return FairnessGate(tuple(edges), edges, limits)

    def training_row_keys(self) -> np.ndarray:
        """The keys (``ml.monitoring.training_keys`` on ``key_columns``) of every row this version
        was trained on: written on the cluster by a Dask training (its train dataset is a sample of
        the train rows), computed from the train dataset otherwise."""
        from ml.monitoring import key_columns, training_keys

        stored = self.version.get_artifact(names.TRAIN_ROW_KEYS)
        if stored is not None:
            return stored.load()
        return training_keys(self.artifact(names.DATASET_TRAIN), key_columns(self.schema))

    def decisions(self, frame):
        """(decisions, probabilities) of this release on a raw frame, as every consumer decides."""
        from ml.evaluation import release_decisions  # scikit-learn: not for a command that only checks

        return release_decisions(self.model, frame, self.schema, self.threshold)

    def decision_bands(self, frame) -> list[list[tuple[float, float, float]]]:
        """Each row's rule as bands of the score with the share of each decided positive: its
        group's rule for a fairness-mitigated release (``MitigatedClassifier.group_rules``), the
        threshold's (``ml.decision.threshold_bands``) otherwise."""
        from ml.decision import threshold_bands
        from ml.fairness import MitigatedClassifier

        if isinstance(self.model, MitigatedClassifier):
            rules = self.model.group_rules()
            return [rules[group] for group in self.model.groups_of(frame)]
        return [threshold_bands(self.threshold)] * len(frame)

    def artifact(self, name: str) -> Any:
        """Another artifact of the version (e.g. ``names.DATASET_TRAIN``), loaded."""
        return self.version.get_artifact(name).load()


def record_of(version) -> dict:
    """The release entry of a ZenML model version; RegistryError naming what is missing otherwise."""
    record = version.run_metadata.get(names.RELEASE)
    name = f"version {version.name} of {version.model.name!r}"
    if not isinstance(record, dict):
        decision = (version.run_metadata.get(names.PROMOTION_DECISION) or {}).get("stage")
        why = (
            "it was rejected at promotion"
            if decision == "rejected"
            else "its training run did not reach promotion (failed or still running)"
            if decision is None
            else "it was promoted before releases were recorded"
        )
        raise RegistryError(
            f"{name} has no release ({why}); train and promote a new version (`python run.py train`) "
            "or pick another (`python run.py models`)"
        )
    missing = [key for key in KEYS if key not in record]
    if missing:
        raise RegistryError(f"{name} has an incomplete release (missing {missing}); train a new version")
    return record


def release_of(version) -> Release:
    """The release of ``version``: its record, and its served model and schema loaded."""
    record = record_of(version)
    model = version.get_artifact(record["artifact"]).load()
    schema = FeatureSchema.from_dict(version.get_artifact(record["feature_schema_artifact"]).load())
    return Release(record, model, schema, version)


def production_version_or_error(model_name: str):
    """The production version (its release checked, nothing loaded); RegistryError saying what to
    run when there is none."""
    version = production_version(model_name)
    if version is None:
        raise RegistryError(
            f"model {model_name!r} has no production version: train one first (`python run.py train`); "
            "`python run.py models` lists its versions"
        )
    record_of(version)
    return version


def production_release(model_name: str) -> Release:
    """The production release of ``model_name`` (model + schema + threshold + version), or a
    RegistryError that names the model and what to run."""
    return release_of(production_version_or_error(model_name))


def production_training_settings(model_name: str) -> tuple[str, dict | None]:
    """(production version, the training settings it was trained with) — what a retraining reuses,
    so that monitoring retrains the released model's recipe, not whatever configs/ holds today."""
    version = production_version_or_error(model_name)
    return str(version.name), version.run_metadata.get(names.TRAINING_SETTINGS)
