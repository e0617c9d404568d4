"""The facts of a version's model card, from the registry (metadata and artifacts), the release's
decisions on its test split, and the audit log; ``ml.card.render_card`` formats them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import confusion_matrix

from ml import names
from ml.brief import say
from ml.card import fairness_verdict, metric_intervals
from ml.evaluation import release_decisions
from ml.explain import UNITS
from ml.fairness import (
    GROUP_METRICS,
    POOLED_GROUP,
    MitigatedClassifier,
    assess_fairness,
    edges_over,
    ordered_groups,
    recorded_edges,
    sensitive_groups,
)
from ml.features import FeatureSchema, binary_target
from ml.promotion import recorded_evaluation
from ml.settings import CardSettings, DataSettings, FairnessSettings
from ml.support import metric_support
from registry.models import RegistryError
from registry.release import release_of

if TYPE_CHECKING:
    import pandas as pd

ETHICS = {"ethics_en": "runbooks/en/08-ethics.md", "ethics_es": "runbooks/es/08-ethics.md"}
CODE_KEYS = ("git_commit", "git_dirty", "config_sha256", "note")  # what the card reads (None: not recorded)
FINGERPRINT_KEYS = ("sha256", "rows", "columns")


def _judged(version) -> tuple[Any, FeatureSchema, float, str | None, dict, dict]:
    """The model the card speaks of (the release, or for a version without one the candidate the
    gates judged), its schema, threshold, artifact name, release record and recorded evaluation
    (``recorded_evaluation``: test metrics and fairness record)."""
    meta = version.run_metadata
    if names.RELEASE in meta:
        release = release_of(version)
        artifact = release.record["artifact"]
        return release.model, release.schema, release.threshold, artifact, release.record, release.evaluation
    if names.METRICS not in meta:
        raise RegistryError(
            f"version {version.name} of {version.model.name!r} has no evaluation (its training run did not "
            "finish): there is nothing to put on a card; `python run.py models` lists the versions"
        )
    decision = meta.get(names.PROMOTION_DECISION) or {}
    threshold = decision.get("decision_threshold", 0.5)
    model = version.get_artifact(names.MODEL).load()
    schema = FeatureSchema.from_dict(version.get_artifact(names.FEATURE_SCHEMA).load())
    return model, schema, float(threshold), None, {}, recorded_evaluation(meta, None)


def _rests_on(metric: str, confusion: list[list[int]]) -> dict[str, Any]:
    """How many test rows ``metric`` rests on, in words of both languages ("3 positive decisions"),
    as monitoring counts them (``ml.support.metric_support``)."""
    support, of = metric_support(metric, confusion)
    return {
        "support": support,
        "support_en": say("en", f"support.{of}"),
        "support_es": say("es", f"support.{of}"),
    }


def card_facts(version, project: str, data: DataSettings, card: CardSettings, audit: list[dict]) -> dict:
    """Everything the card of ``version`` states, as plain data."""
    meta = version.run_metadata
    model, schema, threshold, artifact, record, evaluation = _judged(version)
    test = version.get_artifact(names.DATASET_TEST).load()
    train = version.get_artifact(names.DATASET_TRAIN).load()
    validation = version.get_artifact(names.DATASET_VALIDATION).load()
    y_true = binary_target(test[schema.target_column], schema.positive_label)
    y_pred, proba = release_decisions(model, test, schema, threshold)
    recorded, fairness_record = evaluation[names.METRICS], evaluation[names.FAIRNESS]
    confusion = confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist()
    intervals = metric_intervals(y_true, y_pred, proba, confusion)
    settings = meta.get(names.TRAINING_SETTINGS) or {}
    fairness_settings = FairnessSettings.model_validate(settings.get("fairness", {}))
    # the groups the gate judged (records of before 2026-12-05 kept none: the test split's own quartiles)
    edges = edges_over(test, data.sensitive_features, fairness_settings, recorded_edges(fairness_record))
    groups = sensitive_groups(test, data.sensitive_features, fairness_settings, edges)
    by_group = assess_fairness(y_true, y_pred, groups, fairness_settings).by_group
    decision = meta.get(names.PROMOTION_DECISION) or {"stage": "none", "reasons": ["no promotion decision"]}
    explained = meta.get(names.GLOBAL_IMPORTANCE) or {}
    split_rows = _split_rows(meta)  # a table split on a Dask cluster: its artifacts are samples
    y_train = binary_target(train[schema.target_column], schema.positive_label)
    return {
        "project": project,
        "model_name": version.model.name,
        "version": str(version.name),
        "stage": str(version.stage or "none"),
        "created": version.created.date().isoformat() if version.created else "n/a",
        "artifact": artifact,
        "model_kind": record.get("model_kind") or (settings.get("model") or {}).get("kind", "n/a"),
        "threshold": threshold,
        "threshold_max_f1": settings.get(names.DECISION_THRESHOLD) == "max_f1",  # chosen on validation
        "mitigation": {
            "method": "none",
            "features": [],
            "constraint": None,
            **(record.get("mitigation") or {}),
        },
        "decision_rules": _decision_rules(model),  # a mitigated release's group thresholds
        "unserved_mitigation": _unserved_mitigation(meta, artifact, settings),
        "decision": {"stage": decision.get("stage"), "reasons": list(decision.get("reasons", []))},
        "code_reference": {**dict.fromkeys(CODE_KEYS), **(meta.get(names.CODE_REFERENCE) or {})},
        "data_fingerprint": {**dict.fromkeys(FINGERPRINT_KEYS), **(meta.get(names.DATA_FINGERPRINT) or {})},
        "mlflow_run_id": meta.get(names.MLFLOW_RUN_ID),
        "uses": {
            "intended": card.intended_use,
            "out_of_scope": card.out_of_scope_uses,
            "limitations": card.limitations,
        },
        "data": {
            "rows": split_rows or {"train": len(train), "validation": len(validation), "test": len(test)},
            "unlabelled": int(meta.get(names.UNLABELLED_ROWS) or 0),  # not trained on
            "group": _groups(data.group_column, (train, validation, test), sampled=bool(split_rows)),
            "period": card.data_period,  # None: "not provided" in each language
            "target": schema.target_column,
            "positive_label": schema.positive_label,
            "positive_rate": float(np.mean(y_train)),
            "features": schema.names,
            "sensitive": list(data.sensitive_features),
        },
        "evaluation": {
            "rows": len(test),
            "primary_metric": meta.get(names.PRIMARY_METRIC),
            "baseline_precision": recorded.get(names.BASELINE_PRECISION),
            "metrics": [
                {
                    "name": key,
                    "value": recorded.get(key),
                    "low": intervals.get(key, (None,))[0],
                    "high": intervals.get(key, (None, None))[1],
                    **_rests_on(key, confusion),
                }
                for key in names.METRIC_NAMES
            ],
        },
        "fairness": {
            "passed": bool(fairness_record.get("passed")),
            "verdict": fairness_verdict(fairness_record),  # blocked | not judged | passed
            "score": fairness_record.get("fairness_score"),
            # the gate judged it (not: parity unreachable for the groups' base rates, or uncertain)
            "score_judged": fairness_record.get(names.FAIRNESS_SCORE_JUDGED) is not False,
            "violations": list(fairness_record.get("violations", [])),
            "notes": list(fairness_record.get("notes", [])),  # reported, not judged
            "by_group": [  # per feature, its groups as the report orders them ('<35', '35-50', '50+')
                {
                    "feature": feature,
                    "group": group,
                    **{k: (int(row[k]) if k == "count" else float(row[k])) for k in GROUP_METRICS},
                }
                for feature in dict.fromkeys(by_group.index.get_level_values(0))
                for group, row in ordered_groups(by_group.xs(feature, level=0)).iterrows()
            ],
        },
        "explanation": {
            "method": explained.get("method", "n/a"),
            "units": UNITS.get(explained.get("method"), "n/a"),
            "top": list(explained.get("top", {}).items()),
        },
        "approvals": [
            entry
            for entry in audit
            if (entry.get("details") or {}).get("model") == version.model.name
            and str((entry.get("details") or {}).get("version")) == str(version.name)
        ],
        "links": ETHICS,
    }


def _decision_rules(model) -> dict | None:
    """How a fairness-mitigated model decides, group by group: each group's score bands and the
    share of each band's rows decided positive (``MitigatedClassifier.group_rules``), and the group
    whose rule decides the rows of groups it was not fitted on; None for a single threshold."""
    if not isinstance(model, MitigatedClassifier):
        return None
    return {
        "groups": [
            {
                "group": group,
                "bands": [{"low": low, "high": high, "chance": chance} for low, high, chance in bands],
            }
            for group, bands in model.group_rules().items()
        ],
        "features": list(model.sensitive_features),
        "fallback": model.fallback_group_,
        "pooled": model.fallback_group_ == POOLED_GROUP,
    }


def _unserved_mitigation(meta, artifact: str | None, settings: dict) -> dict | None:
    """The fairness-mitigated model a version fitted and does not serve (the plain model was served,
    or nothing was), with how it fared, or why it could not be fitted; None when none was tried or
    it is the one served (the card's "Mitigation" line said "none" over a model the gates judged)."""
    evaluation = meta.get(names.MITIGATED_EVALUATION)
    if not evaluation or artifact == names.MITIGATED_MODEL:
        return None
    if not evaluation.get("available"):
        return {"available": False, "note": evaluation.get("note") or "mitigation was not possible"}
    fairness = evaluation.get(names.FAIRNESS) or {}
    metric = meta.get(names.PRIMARY_METRIC) or "precision"
    return {
        "available": True,
        "method": (settings.get("fairness") or {}).get("mitigation", "threshold_optimizer"),
        "features": list(evaluation.get("features", [])),
        "passed": bool(fairness.get("passed")),
        "score": fairness.get("fairness_score"),
        "metric": metric,
        "value": (evaluation.get("metrics") or {}).get(metric),
    }


def _groups(column: str | None, splits: tuple[pd.DataFrame, ...], sampled: bool) -> dict | None:
    """How a table with a group column was split: the column, and the groups each split holds
    (none when the splits are samples of a table split on a Dask cluster)."""
    if column is None or any(column not in part for part in splits):
        return None
    counts = None if sampled else [int(part[column].nunique()) for part in splits]
    return {"column": column, "counts": counts}


def _split_rows(meta) -> dict[str, int] | None:
    """Rows of each split of a table split on a Dask cluster (its artifacts hold samples of them)."""
    rows = meta.get(names.SPLIT_ROWS)
    return {split: sum(by_class.values()) for split, by_class in rows.items()} if rows else None
