import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from ml.evaluation import classification_metrics
from ml.promotion import Candidate, candidates_from, decide, with_mitigation_note, with_reuse_note
from ml.settings import PromotionSettings
from ml.training import select_best

GATES = PromotionSettings(min_lift=None, min_roc_auc=None, min_primary_metric=0.7, tolerance=0.01)
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
    # the audit record's why: its what ("promotion: rejected") names the stage already
    assert decision.why() == decision.reasons[0] and not decision.why().startswith("rejected")
    assert decide([GOOD], "precision", GATES, None).why().startswith("model passed the quality")
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


def test_a_fair_model_failing_a_quality_gate_is_not_released_as_its_mitigated_twin():
    """statsmodels' randhie: the plain model was fair but 1.08x the base rate (min lift 1.1); the
    ThresholdOptimizer's stricter thresholds reached 1.15x. Releasing it would decide by group for
    no disparity: rejected, the reason says why."""
    fair_but_weak = Candidate("model", 0.744, (), roc_auc=0.72, base_rate=0.6875, test_rows=4038)
    twin = Candidate("mitigated_model", 0.791, (), roc_auc=0.72, base_rate=0.6875, test_rows=4038)
    decision = decide([fair_but_weak, twin], "precision", TRANSFERABLE, None)
    assert (decision.stage, decision.candidate) == ("rejected", None), decision
    assert decision.reasons[0].startswith("quality gate: model precision 0.7440 is 1.08x"), decision.reasons
    assert decision.reasons[1] == (
        "mitigated_model not considered: model breaks no fairness limit, and a fairness-mitigated model"
        " (group-specific thresholds on the sensitive features) is released only to fix a disparity"
    ), decision.reasons
    unfair_and_weak = Candidate("model", 0.744, UNFAIR.fairness_violations, 0.72, 0.6875, test_rows=4038)
    fixed = decide([unfair_and_weak, twin], "precision", TRANSFERABLE, None)
    assert (fixed.stage, fixed.candidate) == ("production", "mitigated_model"), fixed


def test_a_rejection_for_fairness_says_why_there_was_no_mitigated_candidate():
    unavailable = {
        "available": False,
        "note": "mitigation over continent was not possible: Degenerate labels",
    }
    rejected = decide([UNFAIR], "precision", GATES, None)
    noted = with_mitigation_note(rejected, [UNFAIR], unavailable)
    assert noted.reasons == (
        *rejected.reasons,
        "no mitigated_model to judge: mitigation over continent was not possible: Degenerate labels",
    ), noted
    fair = decide([GOOD], "precision", GATES, None)
    assert with_mitigation_note(fair, [GOOD], unavailable) == fair, (
        "a fair model needs no mitigation: no note"
    )
    assert with_mitigation_note(rejected, [UNFAIR], None) == rejected, "mitigation: none"


def test_a_model_from_the_step_cache_is_promoted_saying_which_run_trained_it():
    """A retraining launched by drift on a table that has not changed reproduces the model from the
    step cache: the decision says so, so that the team does not take the new version for a new model."""
    decision = decide([GOOD], "precision", GATES, None)
    noted = with_reuse_note(decision, "training_pipeline-2026_03_05-02_00_00_000001")
    assert (noted.stage, noted.reasons[:-1]) == (decision.stage, decision.reasons), noted
    assert noted.reasons[-1] == (
        "its model is the one run training_pipeline-2026_03_05-02_00_00_000001 trained (the step cache: "
        "the same data, code and settings); a new model needs new data or settings"
    )
    assert with_reuse_note(decision, None) == decision, "a model this run trained: no note"


def test_every_failure_is_listed_when_nothing_passes():
    decision = decide([UNFAIR, Candidate("mitigated_model", 0.6, ())], "precision", GATES, None)
    assert decision.stage == "rejected" and len(decision.reasons) == 2, decision.reasons


TRANSFERABLE = PromotionSettings()  # the defaults: lift over the base rate and ROC AUC, no floor


def test_a_model_far_above_a_low_base_rate_passes_where_the_old_absolute_floor_blocked_it():
    """The real table of the issue: positive rate 0.32, precision 0.67 (2.1x), blocked by a 0.7 floor."""
    candidate = Candidate("model", 0.67, (), roc_auc=0.76, base_rate=0.32)
    decision = decide([candidate], "precision", TRANSFERABLE, None)
    assert decision.stage == "production", decision
    assert "2.09x the always-positive baseline 0.3200 (base rate 0.320)" in decision.reasons[0], decision
    floored = decide(
        [candidate], "precision", TRANSFERABLE.model_copy(update={"min_primary_metric": 0.7}), None
    )
    assert floored.stage == "rejected", "the absolute floor stays available as an option"
    assert floored.reasons == (
        "quality gate: model precision 0.6700 < floor 0.7 (promotion.min_primary_metric)",
    )


def test_a_model_barely_above_a_high_base_rate_is_blocked_with_the_base_rate_named():
    """Base rate 0.75: precision 0.78 clears a 0.7 floor but is only 1.04x always answering positive."""
    decision = decide(
        [Candidate("model", 0.78, (), roc_auc=0.58, base_rate=0.75)], "precision", TRANSFERABLE, None
    )
    assert decision.stage == "rejected", decision
    assert decision.reasons == (
        "quality gate: model precision 0.7800 is 1.04x the always-positive baseline 0.7500 (base rate 0.750);"
        " min lift 1.1 (promotion.min_lift); a higher decision_threshold (configs/training.yaml) labels"
        " fewer, surer rows positive; at this base rate a perfect model's precision is 1.33x the baseline,"
        " so min lift 1.1 asks for 0.8250: make the rarer class data.positive_label (configs/project.yaml),"
        " judge it on roc_auc (primary_metric), or lower promotion.min_lift",
        "quality gate: model ROC AUC 0.5800; min 0.6 (promotion.min_roc_auc, 0.5 is chance)",
    ), decision.reasons


def test_a_lift_gate_a_common_positive_label_makes_near_impossible_says_so_and_the_ways_out():
    """statsmodels' racd10 (US elderly, 2003), "saw a doctor this year" (89 % did), the visit counts
    dropped: precision can be at most 1.12x always answering positive, so min lift 1.1 asked for
    0.98 and the only hint was a higher threshold; F1's baseline (0.943) puts it beyond any model.
    The reason gives the ceiling, what the gate asks for, and the ways out; with the rarer class as
    the positive label the same table passes the lift gate."""
    from pathlib import Path

    import statsmodels

    from ml.evaluation import classification_metrics
    from ml.features import binary_target, infer_schema
    from ml.settings import DataSettings, ModelSettings, SplitSettings
    from ml.training import predict_proba, split_dataset, train_model

    where = Path(statsmodels.__file__).parent / "sandbox/regression/tests/racd10data_with_transformed.csv"
    table = pd.read_csv(where).drop(columns=["physician", "docvis", "ldocvis", "ldocvisa"])
    table["docbin"] = table["docbin"].astype(str)
    split = split_dataset(table, "docbin", SplitSettings(), seed=42)
    gates = PromotionSettings()
    for positive, negative in (("1", "0"), ("0", "1")):
        data = DataSettings(
            source="csv", path="t.csv", target_column="docbin", positive_label=positive, id_column=""
        )
        schema = infer_schema(split.train, [c for c in table if c != "docbin"], data, negative)
        model = train_model(split.train, schema, ModelSettings(), 42)
        y = binary_target(split.test["docbin"], positive)
        proba = predict_proba(model, split.test, schema)
        for metric in ("precision", "f1"):
            threshold = 0.5 if positive == "1" else float(np.quantile(proba, 0.85))
            metrics = classification_metrics(y, proba, threshold)
            (candidate,) = candidates_from(metrics, {"violations": []}, None, metric)
            lift = [r for r in decide([candidate], metric, gates, None).reasons if "min_lift" in r]
            if positive == "0":  # 11 % of rows: far from any ceiling, the lift gate passed
                assert len(lift) == 1 and not lift[0].startswith("quality gate:"), lift
                assert "perfect model" not in lift[0], lift
                continue
            assert candidate.base_rate > 0.85, candidate
            (reason,) = lift
            assert reason.startswith("quality gate:"), reason  # blocked
            baseline = y.mean() if metric == "precision" else 2 * y.mean() / (1 + y.mean())
            said = f"at this base rate a perfect model's {metric} is {1 / baseline:.2f}x the baseline"
            assert said in reason, reason
            if metric == "precision":
                assert f"min lift 1.1 asks for {1.1 * y.mean():.4f}" in reason, reason
            else:
                assert "so no model can pass min lift 1.1" in reason, reason
            assert reason.endswith(
                "make the rarer class data.positive_label (configs/project.yaml), judge it on roc_auc"
                " (primary_metric), or lower promotion.min_lift"
            ), reason


def test_a_rare_label_model_that_labels_few_rows_positive_is_not_told_to_raise_its_threshold():
    """statsmodels' cataneo2 births, low birth weight 6 % of them: at 0.5 the model labelled 2 of 929
    test rows positive, both wrong. The lift gate's hint said "a higher decision_threshold labels
    fewer, surer rows positive" beside the support gate's "or lower decision_threshold"."""
    y_true = np.array([1] * 56 + [0] * 873)
    proba = np.r_[[0.3] * 56, [0.6, 0.55], np.linspace(0.01, 0.4, 871)]
    metrics = classification_metrics(y_true, proba, 0.5)
    (candidate,) = candidates_from(metrics, {"violations": []}, None, "precision")
    decision = decide([candidate], "precision", TRANSFERABLE, None)
    assert decision.stage == "rejected", decision
    support, lift = decision.reasons[:2]
    assert support.endswith(
        "or lower decision_threshold (configs/training.yaml): more rows are labelled positive (it labels"
        " 2 of the 929 test rows positive; 56 are; decision_threshold: max_f1 picks the model's best-F1 one"
        " on the validation split)"
    ), support
    assert lift == (
        "quality gate: model precision 0.0000 is 0.00x the always-positive baseline 0.0603 (base rate"
        " 0.060); min lift 1.1 (promotion.min_lift)"
    ), lift


def test_a_model_measured_on_too_few_test_rows_is_rejected_with_the_fix():
    """statsmodels' spector (32 rows) left 7 test rows: a precision of 1.0 there is noise."""
    y_true = np.array([1, 0, 1, 0, 0, 1, 0])
    proba = np.array([0.9, 0.2, 0.8, 0.4, 0.1, 0.7, 0.3])
    metrics = classification_metrics(y_true, proba, 0.5)
    no_fairness = {"violations": []}
    (candidate,) = candidates_from(metrics, no_fairness, None, "precision")
    assert candidate.test_rows == 7, candidate
    rows_only = TRANSFERABLE.model_copy(update={"min_metric_support": None})
    decision = decide([candidate], "precision", rows_only, None)
    assert decision.stage == "rejected", decision
    assert decision.reasons == (
        "quality gate: model measured on 7 test rows; min 100 (promotion.min_test_rows): too few for"
        " its metrics to mean much; add rows to the table, raise split.test_size, or lower"
        " promotion.min_test_rows",
    ), decision.reasons
    lowered = decide([candidate], "precision", rows_only.model_copy(update={"min_test_rows": 5}), None)
    assert lowered.stage == "production", lowered
    assert "model measured on 7 test rows; min 5 (promotion.min_test_rows)" in lowered.reasons[0], lowered
    off = decide([candidate], "precision", rows_only.model_copy(update={"min_test_rows": None}), None)
    assert off.stage == "production" and "test rows" not in off.reasons[0], off.reasons
    # both candidates of a mitigated release are measured on the same split
    mitigated = {"available": True, "fairness": no_fairness, "metrics": metrics}
    assert [c.test_rows for c in candidates_from(metrics, no_fairness, mitigated, "precision")] == [7, 7]


def test_a_primary_metric_resting_on_a_few_rows_is_rejected_naming_them_with_the_fix():
    """statsmodels' autos (41 test rows, turbo or not): precision 1.0 of 3 positive decisions,
    released as 5.86x the base rate. The metric's own count is judged (precision: the positive
    decisions; recall: the positive labels), each candidate's, and null turns the check off."""
    y_true = np.array([1] * 7 + [0] * 134)
    proba = np.r_[[0.9, 0.8, 0.7], [0.3] * 4, np.linspace(0.01, 0.45, 134)]
    metrics = classification_metrics(y_true, proba, 0.5)
    (candidate,) = candidates_from(metrics, {"violations": []}, None, "precision")
    assert candidate.support == (3, "positive_decisions") and candidate.metric == 1.0, candidate
    decision = decide([candidate], "precision", TRANSFERABLE, None)
    assert decision.stage == "rejected", decision
    assert decision.reasons == (
        "quality gate: model precision rests on 3 positive decisions; min 30 (promotion.min_metric_support):"
        " too few to judge it (a row of them more or less right moves it by 0.33); add rows to the table"
        " or raise split.test_size, or lower promotion.min_metric_support; or lower decision_threshold"
        " (configs/training.yaml): more rows are labelled positive (it labels 3 of the 141 test rows"
        " positive; 7 are; decision_threshold: max_f1 picks the model's best-F1 one on the validation split)",
    ), decision.reasons
    three = TRANSFERABLE.model_copy(update={"min_metric_support": 3})
    passed = decide([candidate], "precision", three, None)
    assert passed.stage == "production", passed
    assert (
        "model precision rests on 3 positive decisions; min 3 (promotion.min_metric_support)"
        in passed.reasons[0]
    )
    off = decide([candidate], "precision", TRANSFERABLE.model_copy(update={"min_metric_support": None}), None)
    assert off.stage == "production" and "rests on" not in off.reasons[0], off.reasons
    (by_recall,) = candidates_from(metrics, {"violations": []}, None, "recall")
    assert by_recall.support == (7, "positive_labels"), by_recall
    (few,) = decide([by_recall], "recall", TRANSFERABLE, None).reasons
    assert "rests on 7 positive labels" in few and "decision_threshold" not in few, (
        "no threshold gives labels"
    )
    mitigated = {
        "available": True,
        "fairness": {"violations": []},
        "metrics": classification_metrics(y_true, proba, 0.2),
    }
    _, fixed = candidates_from(metrics, {"violations": []}, mitigated, "precision")
    assert fixed.support == (int((proba >= 0.2).sum()), "positive_decisions"), "its own decisions"


@pytest.mark.parametrize(
    ("metric", "value", "lift"),
    [("f1", 0.80, 0.80 / (2 * 0.6 / 1.6)), ("accuracy", 0.72, 0.72 / 0.6), ("roc_auc", 0.75, 1.5)],
)
def test_lift_is_over_the_always_positive_answer_of_each_metric(metric, value, lift):
    decision = decide(
        [Candidate("model", value, (), roc_auc=0.75, base_rate=0.6)], metric, TRANSFERABLE, None
    )
    assert f"is {lift:.2f}x" in decision.reasons[0], decision.reasons


def test_recall_is_judged_against_flagging_as_many_rows_at_random():
    """Answering always positive has recall 1, so recall had no lift gate: with `primary_metric:
    recall`, a model that flagged every row (a low decision_threshold, or a mitigated model's group
    thresholds) passed and beat production's recall. Flagging a share of the rows at random catches
    that share of the positives: recall must be min_lift times it (the precision lift, in other words)."""
    rng = np.random.default_rng(0)
    y_true = (rng.random(2000) < 0.07).astype(int)  # a rare positive class
    proba = np.clip(0.25 * y_true + rng.random(2000) * 0.75, 0, 1)  # ranks well: ROC AUC ~0.83
    everyone = candidates_from(
        classification_metrics(y_true, proba, 0.01), {"violations": []}, None, "recall"
    )
    (flags_all,) = everyone
    assert flags_all.metric == 1.0 and flags_all.flagged > 0.98, flags_all
    decision = decide(everyone, "recall", TRANSFERABLE, None)
    assert decision.stage == "rejected", decision
    (lift,) = [r for r in decision.reasons if "min lift" in r]
    assert lift.startswith(
        f"quality gate: model recall 1.0000 flagging {flags_all.flagged:.1%} of the test rows is"
        f" {1 / flags_all.flagged:.2f}x the {flags_all.flagged:.4f} that flagging as many at random catches;"
        " min lift 1.1 (promotion.min_lift); a higher decision_threshold"
    ), lift
    (ranked,) = candidates_from(
        classification_metrics(y_true, proba, 0.6), {"violations": []}, None, "recall"
    )
    passed = decide([ranked], "recall", TRANSFERABLE, None)
    assert passed.stage == "production", passed
    assert (
        f"is {ranked.metric / ranked.flagged:.2f}x the {ranked.flagged:.4f} that flagging"
        in passed.reasons[0]
    )
    old = decide([Candidate("model", 0.9, (), roc_auc=0.7, base_rate=0.3)], "recall", TRANSFERABLE, None)
    assert old.stage == "production" and "lift" not in old.reasons[0], "a record without its decisions"


def test_a_single_class_test_split_has_no_roc_auc_and_fails_that_gate():
    decision = decide([Candidate("model", 0.9, (), base_rate=0.3)], "precision", TRANSFERABLE, None)
    assert decision.stage == "rejected" and "ROC AUC nan" in decision.reasons[-1], decision.reasons


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


def test_a_production_model_that_cannot_score_the_new_table_is_no_yardstick(monkeypatch):
    """A team that changed its table (the target column is gone): the production model cannot be
    measured on the new test split, so a candidate passing the gates stays in staging, and the
    reasons say so once (not also "no production version"), naming the error and the command that
    makes it production once checked; a candidate failing the gates is still rejected, no command."""
    from types import SimpleNamespace

    import pandas as pd

    import steps.promote as promote
    from ml.settings import TrainingSettings

    schema = SimpleNamespace(target_column="smoker", positive_label="Yes", names=["GPA", "GRADE"])
    keys = np.array([], dtype=np.uint64)  # trained on none of these rows
    release = SimpleNamespace(schema=schema, model=None, threshold=0.5, training_row_keys=lambda: keys)
    monkeypatch.setattr(promote, "release_of", lambda version: release)
    production, frame = SimpleNamespace(name="2"), pd.DataFrame({"GPA": [2.66], "GRADE": ["1"]})
    training = TrainingSettings(promotion=GATES)
    decision, measured = promote.judge([GOOD], production, frame, training, "5")
    assert (decision.stage, decision.candidate, measured) == ("staging", "model", None), decision
    assert "no production version to compare with" not in decision.reasons, decision.reasons
    assert decision.reasons[-1] == (
        "production version 2 could not score this data (KeyError: 'smoker'); no yardstick, no production: "
        "once checked, `python run.py rollback --to 5`"
    ), decision.reasons
    rejected, _ = promote.judge([Candidate("model", 0.65, ())], production, frame, training, "5")
    assert rejected.stage == "rejected" and "rollback" not in " ".join(rejected.reasons), rejected.reasons


def test_production_is_compared_on_the_candidates_test_rows_it_was_not_trained_on(monkeypatch):
    """A team changes the split's seed (or the table grows, or the engine's split differs): the
    candidate's test rows include rows production was trained on. An overfitting production (a
    random forest, near-perfect on its own training rows) then looked better than it is and kept
    its place. Both are now compared on the test rows production never saw (the figures checked
    against the metrics computed here on those rows, found by customer id); with fewer of them
    than promotion.min_test_rows, on all rows as before, the in-sample share said."""
    from types import SimpleNamespace

    from sklearn.metrics import precision_score

    import steps.promote as promote
    from ml import names
    from ml.data.demo import generate_demo
    from ml.features import binary_target, build_customer_features, feature_columns, infer_schema
    from ml.monitoring import key_columns, training_keys
    from ml.settings import DataSettings, FeatureSettings, ModelSettings, SplitSettings, TrainingSettings
    from ml.training import predict_proba, split_dataset, train_model

    tables = generate_demo(customers=3000, seed=3)
    dataset = build_customer_features(tables.customers, tables.sales)
    data = DataSettings()
    schema = infer_schema(dataset, feature_columns(dataset, data, FeatureSettings()), data, names.BAD)
    before = split_dataset(dataset, names.TARGET, SplitSettings(), seed=0)  # production's split
    now = split_dataset(dataset, names.TARGET, SplitSettings(), seed=1)  # the candidate's
    forest = train_model(before.train, schema, ModelSettings(kind="random_forest"), seed=0)
    model = train_model(now.train, schema, ModelSettings(), seed=0)
    release = SimpleNamespace(
        model=forest, schema=schema, threshold=0.5, number="3",
        training_row_keys=lambda: training_keys(before.train, key_columns(schema)),
    )  # fmt: skip
    monkeypatch.setattr(promote, "release_of", lambda version: release)

    def precision(fitted, rows):
        y = binary_target(rows[names.TARGET], names.GOOD)
        return classification_metrics(y, predict_proba(fitted, rows, schema), 0.5)["precision"]

    unseen = now.test[~now.test[names.ID].isin(before.train[names.ID])]
    seen = len(now.test) - len(unseen)
    assert 100 < len(unseen) < len(now.test), len(unseen)
    candidate = Candidate("model", precision(model, now.test), (), roc_auc=0.8, test_rows=len(now.test))
    challengers = promote.Challengers({"model": model, "mitigated_model": None}, schema, 0.5)

    def judged(min_test_rows):
        gates = TRANSFERABLE.model_copy(update={"min_test_rows": min_test_rows, "min_lift": None})
        training = TrainingSettings(promotion=gates)
        return promote.judge([candidate], SimpleNamespace(name="3"), now.test, training, "4", challengers)

    decision, measured = judged(100)
    assert measured.count == len(unseen), measured
    assert measured.production == pytest.approx(precision(forest, unseen)), measured
    assert measured.candidates["model"] == pytest.approx(precision(model, unseen)), measured
    assert precision(forest, now.test) > candidate.metric + 0.02, "in-sample, production looks better"
    assert measured.candidates["model"] > measured.production, "on rows it never saw, it is not"
    assert decision.stage == "production", decision.reasons
    assert decision.reasons[-2] == (
        f"at least as good: precision {measured.candidates['model']:.4f} vs production version 3 "
        f"{measured.production:.4f} on the {len(unseen)} evaluation rows production version 3 was not "
        "trained on (tolerance 0.005)"
    ), decision.reasons
    assert decision.reasons[-1].startswith(
        f"production version 3 was trained on {seen} of these 600 evaluation rows, or on rows with the same"
        " inputs (a grown table, another split seed or engine moves rows between splits; a row's twin"
    ), decision.reasons  # titanic without names: 10 test rows repeat a training row's inputs, one split
    assert decision.reasons[-1].endswith(f": compared on the {len(unseen)} it was not"), decision.reasons

    fallback, measured = judged(len(unseen) + 1)
    assert measured.count is None and measured.production == pytest.approx(precision(forest, now.test))
    assert fallback.stage == "staging" and "on the same evaluation data" in fallback.reasons[-2], fallback
    assert (
        f"compared on all 600 (only {len(unseen)} rows it was not trained on, promotion.min_test_rows "
        f"{len(unseen) + 1}); production's figure is in-sample on the {seen} it was trained on"
    ) in fallback.reasons[-1], fallback.reasons
    assert fallback.reasons[-1].endswith(
        "; once checked, `python run.py rollback --to 4` makes this version production"
    )

    # a fairness-mitigated candidate is measured on those rows by its own (group-threshold) decisions
    from ml.fairness import mitigate
    from ml.settings import FairnessSettings

    y_val = binary_target(now.validation[names.TARGET], names.GOOD)
    fixed = mitigate(model, schema, now.validation, y_val, ("gender",), FairnessSettings(), seed=0)
    challengers = promote.Challengers({"model": model, "mitigated_model": fixed}, schema, 0.5)
    unfair = Candidate("model", candidate.metric, ("equalized odds ...",), 0.8, test_rows=600)
    twin = Candidate("mitigated_model", candidate.metric, (), 0.8, test_rows=600)
    y_unseen = binary_target(unseen[names.TARGET], names.GOOD)
    served = precision_score(y_unseen, fixed.predict(unseen))
    assert served != pytest.approx(precision(model, unseen)), "its own decisions, not the plain model's"
    gates = TRANSFERABLE.model_copy(update={"min_lift": None})
    mitigated, measured = promote.judge(
        [unfair, twin],
        SimpleNamespace(name="3"),
        now.test,
        TrainingSettings(promotion=gates),
        "4",
        challengers,
    )
    assert measured.candidates["mitigated_model"] == pytest.approx(served), measured
    assert (
        mitigated.candidate == "mitigated_model"
        and f"precision {served:.4f} vs production" in (mitigated.reasons[-2])
    ), mitigated.reasons

    rejected, _ = promote.judge(
        [Candidate("model", 0.1, (), 0.8, test_rows=600)], SimpleNamespace(name="3"), now.test,
        TrainingSettings(promotion=gates.model_copy(update={"min_primary_metric": 0.5})), "4", challengers,
    )  # fmt: skip
    assert rejected.stage == "rejected" and not [r for r in rejected.reasons if "trained on" in r], (
        "nothing was compared with production: nothing said about its rows"
    )

    release.training_row_keys = lambda: training_keys(now.train, key_columns(schema))  # the same split
    same, measured = judged(100)
    assert measured.count is None and not [r for r in same.reasons if "trained on" in r], same.reasons


def test_a_candidate_the_api_cannot_serve_is_held_in_staging_saying_why_and_the_override():
    """model.kind: random_forest trains, scores in batch and passes the gates, but the served bundle
    holds LightGBM or linear models: made production, it broke the deployment that follows. It
    stays in staging, the reason naming the estimator and the command of a batch-only team."""
    import steps.promote as promote
    from ml import names
    from ml.data.demo import generate_demo
    from ml.features import build_customer_features, feature_columns, infer_schema
    from ml.settings import DataSettings, FeatureSettings, ModelSettings, TrainingSettings
    from ml.training import train_model

    tables = generate_demo(customers=600, seed=3)
    frame = build_customer_features(tables.customers, tables.sales)
    data = DataSettings()
    schema = infer_schema(frame, feature_columns(frame, data, FeatureSettings()), data, names.BAD)
    training = TrainingSettings(promotion=GATES)
    decisions = {}
    for kind in ("random_forest", "logistic_regression"):
        model = train_model(frame, schema, ModelSettings(kind=kind), seed=0)
        challengers = promote.Challengers({"model": model, "mitigated_model": None}, schema, 0.5)
        decisions[kind], _ = promote.judge([GOOD], None, frame, training, "5", challengers)
    held, served = decisions["random_forest"], decisions["logistic_regression"]
    assert (served.stage, served.reasons[-1]) == ("production", "no production version to compare with")
    assert held.stage == "staging", held.reasons
    assert held.reasons[-1] == (
        "not production: the API cannot serve it (the served bundle holds LightGBM or linear models "
        "(model.kind: lightgbm or logistic_regression), got RandomForestClassifier: train one of those "
        "to deploy it); a team that scores in batch only makes it production with "
        "`python run.py rollback --to 5`"
    ), held.reasons


def _leakage_case(table, target: str, positive: str, drop=()):
    """(single_feature_roc_auc of ``table``'s features, the candidate a model scoring its test split
    perfectly would be): split as training splits, the schema inferred as training infers it."""
    from sklearn.model_selection import train_test_split

    from ml.evaluation import single_feature_roc_auc
    from ml.features import binary_target, feature_columns, infer_schema
    from ml.settings import DataSettings, FeatureSettings

    data = DataSettings(
        source="csv", path="t.csv", target_column=target, positive_label=positive, id_column=None
    )
    data = data.model_copy(update={"sensitive_features": []})
    table = table.drop(columns=list(drop))
    train, test = train_test_split(table, test_size=0.25, random_state=7, stratify=table[target])
    schema = infer_schema(train, feature_columns(train, data, FeatureSettings()), data, "no")
    alone = single_feature_roc_auc(train, test, schema, seed=7)
    y_true = binary_target(test[target], positive)
    metrics = classification_metrics(y_true, np.where(y_true == 1, 0.9, 0.1), 0.5)
    (candidate,) = candidates_from(
        {**metrics, "single_feature_roc_auc": alone}, {"violations": []}, None, "precision"
    )
    return alone, candidate


def test_a_column_derived_from_the_target_is_named_and_blocks_promotion_with_the_fix():
    """statsmodels' `fair`: 'had an affair' is `affairs > 0`; a table that keeps `affairs` hands the
    model the answer (a perfect test split). The gate names the column and the two ways out."""
    import statsmodels.api as sm

    table = sm.datasets.fair.load_pandas().data
    table["affair"] = np.where(table["affairs"] > 0, "yes", "no")
    alone, candidate = _leakage_case(table, "affair", "yes")
    assert list(alone)[0] == "affairs" and alone["affairs"] == 1.0, alone
    assert candidate.strongest_features[0] == ("affairs", 1.0), candidate
    decision = decide([candidate], "precision", TRANSFERABLE, None)
    assert decision.stage == "rejected", decision
    (reason,) = [r for r in decision.reasons if "promotion.max_single_feature_roc_auc" in r]
    assert reason.startswith(
        "quality gate: model's feature(s) alone rank the test split with ROC AUC 'affairs' 1.0000; not"
        " below 0.999 (promotion.max_single_feature_roc_auc): a column that alone separates the classes"
        " is most often target leakage"
    ), reason
    assert "features.drop: ['affairs']" in reason and "max_single_feature_roc_auc: null" in reason, reason
    off = TRANSFERABLE.model_copy(update={"max_single_feature_roc_auc": None})
    assert decide([candidate], "precision", off, None).stage == "production", "null turns the check off"
    # every leaking column is named at once, not one per training run (racd10's doctor visits were
    # derived from three columns)
    table["hours_with_lover"] = table["affairs"] * 2.5
    _, candidate = _leakage_case(table, "affair", "yes")
    (reason,) = [r for r in decide([candidate], "precision", TRANSFERABLE, None).reasons if "leakage" in r]
    assert "ROC AUC 'affairs' 1.0000, 'hours_with_lover' 1.0000; not below" in reason, reason
    assert "features.drop: ['affairs', 'hours_with_lover']" in reason, reason
    # without them the strongest column is an ordinary one, stated among the gates passed
    alone, candidate = _leakage_case(table, "affair", "yes", drop=["affairs", "hours_with_lover"])
    assert max(alone.values()) < 0.8 and "affairs" not in alone, alone
    decision = decide([candidate], "precision", TRANSFERABLE, None)
    assert decision.stage == "production", decision
    column = list(alone)[0]
    assert f"strongest feature alone, '{column}', ranks the test split with ROC AUC" in decision.reasons[0]


def test_a_leak_in_text_with_missing_values_or_in_a_number_far_from_zero_either_way_is_found():
    """A status written after the outcome (text, blank in some rows), and a distance whose size, not
    its sign, is the outcome: neither orders the rows by value, each alone separates the classes."""
    import statsmodels.api as sm

    table = sm.datasets.fair.load_pandas().data.drop(columns=["affairs"])
    rng = np.random.default_rng(3)
    y = rng.random(len(table)) < 0.3
    table["label"] = np.where(y, "yes", "no")
    status = np.where(y, "claim filed", "no claim").astype(object)
    status[rng.random(len(table)) < 0.1] = None
    size = np.where(y, 1 + rng.random(len(table)), rng.random(len(table)) * 0.5)
    table["status"], table["distance"] = status, size * rng.choice([-1, 1], len(table))
    alone, _ = _leakage_case(table.drop(columns=["distance"]), "label", "yes")
    assert list(alone)[0] == "status" and alone["status"] > 0.9, alone
    alone, _ = _leakage_case(table.drop(columns=["status"]), "label", "yes")
    assert list(alone)[0] == "distance" and alone["distance"] >= 0.999, alone


def test_strong_measurements_that_do_not_hand_over_the_label_pass_the_leakage_check():
    """scikit-learn's breast cancer data: 'worst perimeter' alone ranks it near 0.99, an honest
    measurement taken before the diagnosis; the check is for a column that is the answer. Versions
    trained before the check (no figure) are judged as before."""
    from sklearn.datasets import load_breast_cancer

    table = load_breast_cancer(as_frame=True).frame
    table["target"] = np.where(table["target"] == 0, "malignant", "benign")
    alone, candidate = _leakage_case(table, "target", "malignant")
    assert 0.95 < max(alone.values()) < 0.999 and len(alone) == 10, alone
    assert decide([candidate], "precision", TRANSFERABLE, None).stage == "production"
    before = Candidate("model", 0.9, (), roc_auc=0.9, base_rate=0.3, test_rows=200)
    assert decide([before], "precision", TRANSFERABLE, None).stage == "production"


def test_one_feature_ranking_the_test_split_as_well_as_the_model_is_noted_naming_it_and_the_fix():
    """titanic (OpenML 40945) with its lifeboat kept: 'boat' alone ranks the test split at 0.9658, the
    model at 0.9644, both under the leakage gate's 0.999. The release goes ahead, with a note: the
    lifeboat is written after the sinking, so a passenger to score would not have it yet. star98's
    share of low-income pupils (0.901 beside the model's 0.867) is known in time: the note says to keep
    such a column, not only to drop it."""
    titanic = Candidate(
        "model",
        0.978,
        (),
        roc_auc=0.9644,
        base_rate=0.382,
        test_rows=262,
        strongest_features=(("boat", 0.9658), ("sex", 0.7690)),
        support=(91, "positive_decisions"),
    )
    decision = decide([titanic], "precision", TRANSFERABLE, None)
    assert decision.stage == "production", decision
    (note,) = [reason for reason in decision.reasons if reason.startswith("leakage note:")]
    assert note.startswith(
        "leakage note: model's strongest feature alone, 'boat', ranks the test split as well as the whole"
        " model (ROC AUC 0.9658 vs 0.9644): the other features add nothing to it."
    ), note
    assert "drop it (features.drop: [boat] in configs/training.yaml). If it is known before, keep it" in note
    assert note.endswith("(fewer features, a simpler model or more rows may)"), note
    assert decision.reasons.index(note) < len(decision.reasons) - 1, "before the comparison with production"
    better = replace(titanic, roc_auc=0.9812)  # the other features add to it: nothing to note
    assert not [r for r in decide([better], "precision", TRANSFERABLE, None).reasons if "leakage note" in r]
    one_class = replace(titanic, roc_auc=float("nan"))  # no ROC AUC: fails its own gate, no note
    assert not [
        r for r in decide([one_class], "precision", TRANSFERABLE, None).reasons if "leakage note" in r
    ]
    # statsmodels' fair_pt: years married alone 0.6963, the model 0.6705: a weak model, no leak suspect
    weak = replace(titanic, roc_auc=0.6705, strongest_features=(("nmarried", 0.6963),))
    (noted,) = [r for r in decide([weak], "precision", TRANSFERABLE, None).reasons if "note: model's" in r]
    assert noted == (
        "model note: model's strongest feature alone, 'nmarried', ranks the test split as well as the whole"
        " model (ROC AUC 0.6963 vs 0.6705): the other features add nothing to it; fewer features, a simpler"
        " model or more rows may do better"
    ), noted
    vouched = TRANSFERABLE.model_copy(update={"max_single_feature_roc_auc": None})
    assert not [r for r in decide([titanic], "precision", vouched, None).reasons if "leakage note" in r]


def test_a_mitigated_model_that_keeps_little_of_the_models_metric_is_rejected_not_released():
    """statsmodels' randhie, a rare label (2 % of people see a doctor 15+ times a year), precision at
    the best-F1 threshold, unfair across physical limitation: Fairlearn's rules meet equalized odds
    where balanced accuracy is best, flagging a large share of the rows at a fraction of the
    model's precision, which the lift gate alone let through (1.5x the base rate). The mitigation
    loss gate rejects it naming both figures; with the gate off it is released, as before."""
    import statsmodels.api as sm

    from ml.evaluation import classification_metrics
    from ml.fairness import assess_fairness, group_edges, mitigate, sensitive_groups
    from ml.features import binary_target, infer_schema
    from ml.settings import DataSettings, FairnessSettings, ModelSettings, SplitSettings
    from ml.training import max_f1_threshold, predict_proba, split_dataset, train_model

    table = sm.datasets.randhie.load_pandas().data
    table["use"] = np.where(table.pop("mdvis") >= 15, "heavy", "light")
    table["limited"] = np.where(table.pop("physlm") > 0, "yes", "no")
    split = split_dataset(table, "use", SplitSettings(), seed=42)
    data = DataSettings(source="csv", path="t.csv", target_column="use", positive_label="heavy", id_column="")
    columns = [c for c in table.columns if c not in ("use", "limited")]
    schema = infer_schema(split.train, columns, data, "light")
    model = train_model(split.train, schema, ModelSettings(), 42)
    y_val, y_test = (
        binary_target(split.validation["use"], "heavy"),
        binary_target(split.test["use"], "heavy"),
    )
    threshold = max_f1_threshold(y_val, predict_proba(model, split.validation, schema))
    proba = predict_proba(model, split.test, schema)
    metrics = classification_metrics(y_test, proba, threshold)
    settings = FairnessSettings(bootstrap_samples=0)
    edges = group_edges(split.train, ("limited",), settings)
    groups = sensitive_groups(split.test, ("limited",), settings, edges)
    fairness = assess_fairness(y_test, (proba >= threshold).astype(int), groups, settings).to_dict()
    assert fairness["violations"], fairness  # the plain model breaks equalized odds
    fixed = mitigate(model, schema, split.validation, y_val, ("limited",), settings, seed=0, edges=edges)
    decided = fixed.predict(split.test)
    own = classification_metrics(y_test, proba, threshold, y_pred=decided)
    record = assess_fairness(y_test, decided, groups, settings).to_dict()
    mitigated = {"available": True, "fairness": record, "metrics": own}
    candidates = candidates_from(metrics, fairness, mitigated, "precision")
    plain, twin = candidates
    assert twin.metric < 0.5 * plain.metric and twin.flagged > 10 * plain.flagged, candidates
    gates = PromotionSettings(min_metric_support=None)  # the plain model's few positive decisions
    decision = decide(candidates, "precision", gates, None)
    assert decision.stage == "rejected", decision
    kept = f"is {twin.metric / plain.metric:.0%} of model's {plain.metric:.4f}"
    (reason,) = [r for r in decision.reasons if "promotion.max_mitigation_loss" in r]
    assert reason.startswith(f"quality gate: mitigated_model precision {twin.metric:.4f} {kept}"), reason
    assert f"flagging {twin.flagged:.1%} of the test rows vs {plain.flagged:.1%}" in reason, reason
    assert "raise promotion.max_mitigation_loss (null: off)" in reason, reason
    lenient = decide(candidates, "precision", gates.model_copy(update={"max_mitigation_loss": None}), None)
    assert (lenient.stage, lenient.candidate) == ("production", "mitigated_model"), lenient
    kept_half = replace(twin, metric=0.5 * plain.metric)
    assert decide([plain, kept_half], "precision", gates, None).stage == "production"
