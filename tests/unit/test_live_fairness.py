"""The release's fairness gate judged again on a monitoring window's live labelled rows
(ml.live_fairness), on a table that is not ours: statsmodels' `fair` (women's affairs), education as
the sensitive column. The run through `run.py monitor`: tests/e2e/test_nightly.py."""

import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression

from ml import names
from ml.live_fairness import FairnessGate, fairness_breaches, live_fairness, live_fairness_line
from ml.monitoring import LabelledOutcomes
from ml.settings import FairnessSettings, MonitoringSettings

INPUTS = ["rate_marriage", "age", "yrs_married", "children", "religious", "educ", "occupation"]
GATE = FairnessGate(("educ",), {"educ": None}, FairnessSettings())  # grouped by value, as a code


@pytest.fixture(scope="module")
def fair():
    """A model trained on 3,000 women (the table shuffled: it ships sorted by its target), and the
    other 3,366 as a window whose labels have arrived."""
    table = sm.datasets.fair.load_pandas().data.sample(frac=1, random_state=0).reset_index(drop=True)
    train, window = table.iloc[:3000], table.iloc[3000:].reset_index(drop=True)
    model = LogisticRegression(max_iter=2000).fit(train[INPUTS], train.affairs > 0)
    proba = model.predict_proba(window[INPUTS])[:, 1]
    return window, proba, (proba >= 0.4).astype(int), (window.affairs > 0).astype(int).to_numpy()


def outcomes(window, proba, decisions, target, seen=None) -> LabelledOutcomes:
    seen = np.zeros(len(window), bool) if seen is None else seen
    return LabelledOutcomes(target, decisions, proba, seen, window[["educ"]])


def test_a_window_where_one_groups_outcomes_changed_breaches_the_releases_limit_naming_the_group(fair):
    """As trained, the model's error rates differ little between education levels (parity is
    unreachable there and reported). Then 60 % of the high-school women who had an affair are
    labelled as not having had one (their outcomes changed, their inputs did not): the model now
    wrongly flags many more of them, and the gate's rule says so."""
    window, proba, decisions, target = fair
    as_trained = live_fairness(outcomes(*fair), GATE, 20_000, seed=0)
    assert as_trained["available"] and as_trained[names.LIVE_ROWS] == as_trained["judged_rows"] == 3366
    assert fairness_breaches(as_trained) == [], live_fairness_line(as_trained)
    headline, *reported = live_fairness_line(as_trained).split("\n")
    assert headline == (
        "live fairness on 3366 labelled rows not trained on: within the release's limits; 2 reported, "
        "not judged:"
    )
    assert [line[4:] for line in reported] == as_trained["notes"], "what was not judged is said, one a line"
    assert all(line.startswith("  - ") for line in reported) and len(reported) == 2

    changed = target.copy()
    high_school = (window.educ == 12).to_numpy()
    changed[high_school & (target == 1) & (np.random.default_rng(1).random(len(target)) < 0.6)] = 0
    record = live_fairness(outcomes(window, proba, decisions, changed), GATE, 20_000, seed=0)
    (breach,) = fairness_breaches(record)
    assert (breach.metric, breach.threshold, breach.direction) == (
        "equalized_odds_difference[educ]",
        0.1,
        "above",
    )
    assert breach.value > 0.2, breach
    assert re.search(r"false positive rate of group '\d+' [.\d]+ vs '12' [.\d]+\)$", breach.detail), breach
    assert breach.detail.startswith("3366 labelled rows not seen in training; equalized odds difference")
    low, high = record["intervals"]["educ"]["equalized_odds_difference"]
    assert 0.1 < low < breach.value < high, "breached: its whole interval lies beyond the limit"
    assert live_fairness_line(record).split("\n") == [
        "live fairness on 3366 labelled rows not trained on: beyond the release's limits:",
        f"  - {record[names.BEYOND_LIMITS][0]['text']}",
    ]
    assert record[names.BEYOND_LIMITS][0]["text"].startswith("equalized odds difference for 'educ' is 0.")


def test_only_live_rows_are_judged_and_a_window_too_small_to_tell_is_reported_never_alerted(fair):
    window, proba, decisions, target = fair
    trained_on = live_fairness(outcomes(*fair, seen=np.ones(len(window), bool)), GATE, 20_000, seed=0)
    assert not trained_on["available"] and trained_on[names.LIVE_ROWS] == 0
    assert live_fairness_line(trained_on) == (
        "live fairness: not judged: none of the 3366 labelled rows is live (each was trained on)"
    )

    seen = np.arange(len(window)) >= 120  # 120 live rows: every education level below 50 rows
    strict = FairnessGate(GATE.columns, GATE.edges, FairnessSettings(when_not_judged="block"))
    few = live_fairness(outcomes(*fair, seen=seen), strict, 20_000, seed=0)
    assert few["available"] and few["judged_rows"] == 120
    assert fairness_breaches(few) == [] and few["violations"] == [], "a small window is never an alert"
    (note,) = (note for note in few["notes"] if note.startswith("'educ' not judged"))
    assert "fairness.min_group_size 50 live rows" in note and "a longer monitoring window" in note, note
    assert "reported, not judged:\n  - 'educ' not judged" in live_fairness_line(few)


def test_a_large_window_is_judged_on_a_seeded_sample_and_the_same_one_each_time(fair):
    first, again = (live_fairness(outcomes(*fair), GATE, 1000, seed=0) for _ in range(2))
    assert first == again
    assert (first["judged_rows"], first[names.LIVE_ROWS]) == (1000, 3366)
    assert live_fairness_line(first).startswith(
        "live fairness on a seeded sample of 1000 of the 3366 labelled rows not trained on:"
    )


def test_what_the_gate_cannot_be_judged_on_is_said():
    frame = pd.DataFrame({"educ": [12, 14]})
    labelled = LabelledOutcomes(
        np.array([1, 0]), np.array([1, 0]), np.array([0.9, 0.1]), np.zeros(2, bool), frame
    )
    assert live_fairness(None, GATE, 100, 0) is None, "no labels: nothing to judge, the quality line says so"
    assert live_fairness_line(None) is None
    unrecorded = live_fairness(labelled, None, 100, 0)
    assert not unrecorded["available"] and "retrain to monitor its fairness" in unrecorded["note"]
    nobody = live_fairness(labelled, FairnessGate((), {}, FairnessSettings()), 100, 0)
    assert "no sensitive column" in nobody["note"]
    gone = FairnessGate(("educ", "race"), {"educ": None, "race": None}, FairnessSettings())
    missing = live_fairness(labelled, gone, 100, 0)
    assert "the window has no column ['race']" in missing["note"], missing


def test_a_fairness_breach_alerts_unless_thresholds_fairness_is_off(fair):
    from steps.monitor import breaches_of

    window, proba, decisions, target = fair
    changed = np.where((window.educ == 12).to_numpy() & (target == 1), 0, target)
    record = live_fairness(outcomes(window, proba, decisions, changed), GATE, 20_000, seed=0)
    drift = {"drift_share": 0.0, "drifted_columns": {}, "quality": {names.LIVE_FAIRNESS: record}}
    health = {"available": False}
    (breach,) = breaches_of(drift, health, MonitoringSettings())
    assert breach.metric == "equalized_odds_difference[educ]"
    off = MonitoringSettings.model_validate({"thresholds": {"fairness": False}})
    assert breaches_of(drift, health, off) == [], "thresholds.fairness: false reports, never alerts"


def test_the_gate_monitoring_judges_is_the_served_models_groups_and_the_limits_it_was_trained_with():
    """A mitigated release is watched on the mitigated model's record (its groups), with the
    fairness settings recorded at training, not today's configs/training.yaml; a version that
    recorded neither (trained before they were kept) has no gate, and the window says why."""
    from types import SimpleNamespace

    from registry.release import Release

    plain = {names.GROUP_EDGES: {"gender": None, "age": [35.0, 50.0]}}
    mitigated = {names.GROUP_EDGES: {"gender": None}}
    settings = {"fairness": {"max_equalized_odds_difference": 0.05, "min_group_size": 30}}
    meta = {
        names.FAIRNESS: plain,
        names.MITIGATED_EVALUATION: {"available": True, names.FAIRNESS: mitigated},
        names.TRAINING_SETTINGS: settings,
    }

    def gate(artifact, metadata):
        version = SimpleNamespace(run_metadata=metadata)
        return Release({"artifact": artifact}, None, None, version).fairness_gate()

    served_plain = gate(names.MODEL, meta)
    assert served_plain.columns == ("gender", "age") and served_plain.edges["age"] == (35.0, 50.0)
    assert served_plain.settings.max_equalized_odds_difference == 0.05
    assert served_plain.settings.min_group_size == 30
    assert gate(names.MITIGATED_MODEL, meta).columns == ("gender",)
    assert gate(names.MODEL, {names.FAIRNESS: plain}) is None, "no training settings recorded"
    assert gate(names.MODEL, {**meta, names.FAIRNESS: {"passed": True}}) is None, "no groups recorded"
    renamed = {names.TRAINING_SETTINGS: {"fairness": {"max_odds": 0.1}}}
    assert gate(names.MODEL, {**meta, **renamed}) is None, "settings that no longer validate"


def test_the_dashboards_fairness_tab_plots_each_windows_disparities_beside_the_releases_limits(
    fair, tmp_path
):
    """Two windows (as trained, then the high-school women's outcomes changed) under a gate that also
    limits the equal opportunity difference: the Fairness tab plots each judged disparity per
    sensitive column, named as its breach, beside its limit; a window that judged nothing adds no
    point, and a project that never judged fairness has no Fairness tab."""
    from uuid import UUID

    from adapters.evidently_workspace import FAIRNESS_PANEL, FAIRNESS_TAB, save_snapshot
    from ml.live_fairness import fairness_snapshot
    from ml.monitoring import outcome_snapshot
    from tests.unit.test_evidently_workspace import dashboard_series

    window, proba, decisions, target = fair
    gate = FairnessGate(GATE.columns, GATE.edges, FairnessSettings(max_equal_opportunity_difference=0.15))
    changed = np.where((window.educ == 12).to_numpy() & (target == 1), 0, target)
    records = [
        live_fairness(outcomes(window, proba, decisions, labels), gate, 20_000, seed=0)
        for labels in (target, changed)
    ]
    path = str(tmp_path / "workspace")
    quiet = outcome_snapshot(breaches=0, incident=False, retraining=False, alert_delivered=False)
    project = UUID(save_snapshot(path, "p", quiet))
    assert FAIRNESS_TAB not in [tab.title for tab in dashboard_series(path, project)[0].tabs]
    assert fairness_snapshot(None, gate) is None and fairness_snapshot(records[0], None) is None
    assert (
        fairness_snapshot(live_fairness(outcomes(*fair), FairnessGate((), {}, gate.settings), 9, 0), gate)
        is None
    )
    for record in records:
        save_snapshot(path, "p", fairness_snapshot(record, gate))

    dashboard, points = dashboard_series(path, project)
    assert [tab.title for tab in dashboard.tabs].count(FAIRNESS_TAB) == 1, "added once"
    plotted = points[FAIRNESS_PANEL]
    for disparity in (
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equal_opportunity_difference",
    ):
        expected = [record["disparities"]["educ"][disparity] for record in records]
        assert plotted[f"{disparity}[educ]"] == pytest.approx(expected), disparity
    assert plotted["demographic_parity_ratio limit"] == [0.8, 0.8]
    assert plotted["equalized_odds_difference limit"] == [0.1, 0.1]
    assert plotted["equal_opportunity_difference limit"] == [0.15, 0.15]
    assert "demographic_parity_difference[educ]" not in plotted, "a disparity without a limit is not plotted"
    (breach,) = fairness_breaches(records[1])
    assert plotted[breach.metric][-1] == pytest.approx(breach.value), (
        "the breach's value is the plotted point"
    )
    assert breach.value > plotted["equalized_odds_difference limit"][-1]
