"""The release entry: complete or refused with what is missing and what to do."""

from types import SimpleNamespace

import pytest

from ml import names
from registry.models import RegistryError
from registry.release import KEYS, record_of, release_record


def version(metadata: dict, name: str = "4"):
    return SimpleNamespace(name=name, model=SimpleNamespace(name="churn"), run_metadata=metadata)


def record(**changes):
    values = {
        "model_name": "churn",
        "version": "4",
        "artifact": names.MODEL,
        "artifact_id": "a1",
        "schema_artifact_id": "s1",
        "decision_threshold": 0.65,
        "mitigation": {"method": "none"},
        "model_kind": "lightgbm",
        "primary_metric": {"name": "precision", "value": 0.8},
        "data_fingerprint": {"sha256": "x", "rows": 10, "columns": 3},
        "code_reference": {"git_commit": None, "note": "not in git"},
    }
    return release_record(**{**values, **changes})


def test_a_release_holds_every_key_and_its_identity_tags_the_bento_model():
    entry = record()
    assert set(entry) == set(KEYS)
    assert entry["decision_threshold"] == 0.65
    assert entry["bento_tag"] == f"churn:v4-{entry['identity']}"
    assert record(artifact_id="a2")["identity"] != entry["identity"], "another artifact, another identity"
    assert record_of(version({names.RELEASE: entry})) is entry


@pytest.mark.parametrize(
    ("metadata", "why"),
    [
        ({}, "its training run did not reach promotion"),
        ({names.PROMOTION_DECISION: {"stage": "rejected"}}, "it was rejected at promotion"),
        (
            {names.PROMOTION_DECISION: {"stage": "production"}},
            "it was promoted before releases were recorded",
        ),
    ],
)
def test_a_version_without_a_release_is_refused_saying_why_and_what_to_run(metadata, why):
    with pytest.raises(RegistryError, match="version 4 of 'churn' has no release") as caught:
        record_of(version(metadata))
    assert why in str(caught.value) and "python run.py train" in str(caught.value)


def test_an_incomplete_release_names_the_missing_keys():
    entry = record()
    del entry["decision_threshold"]
    with pytest.raises(RegistryError, match=r"incomplete release \(missing \['decision_threshold'\]\)"):
        record_of(version({names.RELEASE: entry}))


def test_a_production_version_without_a_release_does_not_block_promotion():
    """After an upgrade, a production version promoted before releases were recorded can be served by
    no consumer: the candidate is judged on the gates alone (not held in staging forever)."""
    from steps.promote import yardstick

    legacy = version({names.PROMOTION_DECISION: {"stage": "production"}}, name="2")
    metric, note, unreleased, overlap = yardstick(legacy, None, "precision")
    assert metric is None and note is None and overlap is None, (metric, note, overlap)
    assert (
        "promoted before releases were recorded" in unreleased and "judged on the gates alone" in unreleased
    )
    assert yardstick(None, None, "precision") == (None, None, None, None)
