import math

import pytest

from ml.promotion import Candidate, decide
from ml.settings import PromotionSettings
from ml.training import select_best

GATES = PromotionSettings(min_primary_metric=0.7, tolerance=0.01)
GOOD = Candidate("model", 0.80, ())
UNFAIR = Candidate("model", 0.82, ("equalized odds difference for 'gender' is 0.200 > 0.1 (…)",))
MITIGATED = Candidate("mitigated_model", 0.75, ())


def test_first_model_is_judged_on_the_gates_alone():
    decision = decide([GOOD], "precision", GATES, production_metric=None)
    assert (decision.stage, decision.candidate) == ("production", "model"), decision
    assert "no production version to compare with" in decision.reasons


def test_better_or_within_tolerance_replaces_production():
    assert decide([GOOD], "precision", GATES, 0.79, "3").stage == "production"
    tie = decide([GOOD], "precision", GATES, 0.805, "3")
    assert tie.stage == "production", "0.80 trails 0.805 by less than the 0.01 tolerance"
    assert "precision 0.8000 vs production version 3 0.8050" in tie.reasons[-1], tie.reasons


def test_worse_model_stays_in_staging():
    decision = decide([GOOD], "precision", GATES, 0.85, "3")
    assert decision.stage == "staging", decision
    assert decision.reasons[-1].startswith("worse than production: precision 0.8000 vs production version 3")


def test_quality_gate_rejects_below_the_floor():
    decision = decide([Candidate("model", 0.65, ())], "precision", GATES, None)
    assert decision.stage == "rejected" and decision.candidate is None
    assert decision.reasons == (
        "quality gate: model precision 0.6500 < floor 0.7 (promotion.min_primary_metric)",
    ), decision.reasons


def test_fairness_gate_blocks_even_a_first_model():
    decision = decide([UNFAIR], "precision", GATES, None)
    assert decision.stage == "rejected", "an unfair model must never be promoted"
    assert decision.reasons == (f"fairness gate: model {UNFAIR.fairness_violations[0]}",)


def test_mitigated_candidate_is_promoted_when_the_plain_one_is_unfair():
    decision = decide([UNFAIR, MITIGATED], "precision", GATES, None)
    assert (decision.stage, decision.candidate) == ("production", "mitigated_model"), decision
    assert decision.reasons[0].startswith("fairness gate: model"), "why the plain model lost"


def test_every_failure_is_listed_when_nothing_passes():
    decision = decide([UNFAIR, Candidate("mitigated_model", 0.6, ())], "precision", GATES, None)
    assert decision.stage == "rejected" and len(decision.reasons) == 2, decision.reasons


@pytest.mark.parametrize(
    ("scores", "best"),
    [([0.71, 0.78, 0.74], 1), ([0.8, 0.8, 0.7], 0), ([math.nan, 0.6, 0.7], 2), ([0.9], 0)],
)
def test_selector_picks_the_highest_validation_score(scores, best):
    assert select_best(scores, "precision") == best, scores


def test_selector_refuses_nothing_to_choose():
    with pytest.raises(ValueError, match="no candidates"):
        select_best([], "precision")
    with pytest.raises(ValueError, match="undefined validation precision"):
        select_best([math.nan], "precision")
