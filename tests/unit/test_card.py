"""The model card: every section, the same numbers in English and Spanish, "not provided" where the
team wrote nothing, and the reason of a rejection."""

import re
import xml.etree.ElementTree as ET

import jinja2
import numpy as np
import pytest
from markupsafe import escape
from scipy.stats import binomtest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from ml import names
from ml.card import (
    SECTIONS,
    _metrics_of_resamples,
    bootstrap_intervals,
    fairness_verdict,
    metric_intervals,
    num,
    render_card,
)
from registry.card import ETHICS, _unserved_mitigation


def facts(**changes):
    base = {
        "project": "Customer Scoring",
        "model_name": "customer-scoring",
        "version": "3",
        "stage": "production",
        "created": "2026-12-01",
        "artifact": names.MODEL,
        "model_kind": "lightgbm",
        "threshold": 0.65,
        "threshold_max_f1": False,
        "mitigation": {"method": "none", "features": [], "constraint": None},
        "decision_rules": None,
        "unserved_mitigation": None,
        "decision": {"stage": "production", "reasons": ["model passed the quality and fairness gates"]},
        "code_reference": {
            "git_commit": "a" * 40,
            "git_dirty": False,
            "config_sha256": "b" * 64,
            "note": None,
        },
        "data_fingerprint": {"sha256": "c" * 64, "rows": 10000, "columns": 17},
        "mlflow_run_id": "r1",
        "uses": {"intended": None, "out_of_scope": None, "limitations": None},
        "data": {
            "rows": {"train": 6000, "validation": 2000, "test": 2000},
            "unlabelled": 0,
            "group": None,
            "period": None,
            "target": "label",
            "positive_label": "good",
            "positive_rate": 0.6283,
            "features": ["region", "n_orders"],
            "sensitive": ["gender", "age"],
        },
        "evaluation": {
            "rows": 2000,
            "primary_metric": "precision",
            "baseline_precision": 0.6283,
            "metrics": [
                {
                    "name": key,
                    "value": 0.8 + i / 100,
                    "low": 0.7 + i / 100,
                    "high": 0.9 + i / 100,
                    "support": 700 + i,
                    "support_en": "positive decisions",
                    "support_es": "decisiones positivas",
                }
                for i, key in enumerate(names.METRIC_NAMES)
            ],
        },
        "fairness": {
            "passed": True,
            "verdict": "passed",
            "score": 0.911,
            "score_judged": True,
            "violations": [],
            "notes": [],
            "by_group": [
                {
                    "feature": "gender",
                    "group": "female",
                    "count": 990,
                    "selection_rate": 0.5,
                    "precision": 0.8,
                    "recall": 0.7,
                    "false_positive_rate": 0.2,
                }
            ],
        },
        "explanation": {"method": "TreeSHAP", "units": "log-odds", "top": [("n_orders", 0.41234)]},
        "approvals": [
            {"at": "2026-12-01T10:00:00", "who": "ana", "what": "promotion: production", "why": "gates"}
        ],
        "links": ETHICS,  # what registry.card_facts gives the templates
    }
    return {**base, **changes}


def test_the_html_card_is_well_formed_and_has_every_section():
    root = ET.fromstring(render_card(facts()).html.split("\n", 1)[1])  # after <!DOCTYPE html>
    ids = {section.get("id") for section in root.iter("section")}
    assert ids == {anchor for anchor, _ in SECTIONS}, ids
    markdown = render_card(facts()).markdown
    for _, title in SECTIONS:
        assert f"## {title}" in markdown, title


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+\.\d+", text)


def test_english_and_spanish_carry_the_same_numbers():
    card = render_card(facts())
    english, spanish = card.markdown.split("## Resumen en español")
    for line in spanish.splitlines():
        for number in _numbers(line):
            assert number in english, f"{number} of the Spanish summary is not in the English card: {line}"
    for m in facts()["evaluation"]["metrics"]:
        assert (
            f"{m['name']}: {num(m['value'])} (intervalo del 95 %: {num(m['low'])} – {num(m['high'])}; "
            f"se basa en {m['support']} decisiones positivas)" in spanish
        )
        interval = f"{num(m['low'])} – {num(m['high'])}"
        assert (
            f"| {m['name']} | {num(m['value'])} | {interval} | {m['support']} positive decisions |" in english
        )
    assert "umbral de decisión 0.65" in spanish and "Decision threshold: 0.65" in english


def test_a_card_without_intended_use_text_says_so_in_both_languages():
    card = render_card(facts())
    assert (
        "Intended uses: not provided" in card.markdown and "Usos previstos: no proporcionado" in card.markdown
    )
    written = render_card(
        facts(uses={"intended": "rank customers", "out_of_scope": "credit", "limitations": None})
    )
    assert "Intended uses: rank customers" in written.markdown and "Out-of-scope uses: credit" in written.html


def test_the_ethics_runbook_is_linked_and_what_the_gate_did_not_judge_is_said_in_both_languages():
    """The links were empty ('[]()') on every card: the templates asked for keys the facts did not
    have. A passing verdict with a score under the four-fifths rule says why (reported, not judged)."""
    note = (
        "demographic parity ratio for 'sex' is 0.748, 90% interval 0.551-0.954: 0.8 lies inside the interval"
    )
    fairness = {**facts()["fairness"], "score": 0.748, "notes": [note]}
    card = render_card(facts(fairness=fairness))
    english, spanish = card.markdown.split("## Resumen en español")
    assert "[runbooks/en/08-ethics.md](runbooks/en/08-ethics.md)" in english, english[-600:]
    assert "[runbooks/es/08-ethics.md](runbooks/es/08-ethics.md)" in spanish, spanish
    assert '<a href="runbooks/en/08-ethics.md">' in card.html and "[]()" not in card.markdown
    assert f"Reported, not judged:\n- {note}\n" in english, english
    assert f"<p>Reported, not judged:</p><ul><li>{escape(note)}</li></ul>" in card.html
    assert "puntuación 0.748 (1 aspecto informado sin juzgar: sección Fairness)" in spanish, spanish
    with pytest.raises(jinja2.UndefinedError, match="ethics_en"):  # a fact missing fails, never renders empty
        render_card(facts(links={"en": "runbooks/en/08-ethics.md"}))


def test_a_model_no_fairness_group_was_judged_for_is_not_judged_on_its_card_not_passed():
    """star98 (schools, no sensitive column) got "Verdict: passed, fairness score n/a": the gate
    passes when it has nothing to judge, and the card read as if the model had been checked."""
    note = (
        "model fairness not judged: data.sensitive_features is empty; name the columns that describe people"
    )
    unjudged = {"passed": True, "fairness_score": None, "violations": [], "notes": [note]}
    blocked = {"passed": False, "fairness_score": None, "violations": ["fairness not judged (block)"]}
    assert fairness_verdict(unjudged) == "not judged" and fairness_verdict(blocked) == "blocked"
    assert fairness_verdict({"passed": True, "fairness_score": 0.91}) == "passed"
    fairness = {**facts()["fairness"], "verdict": fairness_verdict(unjudged), "score": None, "notes": [note]}
    data = {**facts()["data"], "sensitive": []}
    card = render_card(facts(fairness={**fairness, "by_group": []}, data=data))
    assert "| feature | group |" not in card.markdown and "<th>feature</th>" not in card.html, (
        "no empty table"
    )
    english, spanish = card.markdown.split("## Resumen en español")
    assert (
        "Verdict: **not judged**, fairness score n/a." in english
        and "passed" not in english.split("## Fairness")[1][:40]
    )
    assert "Sensitive features (fairness only unless configured otherwise): none" in english, english
    assert "Equidad: **no evaluada**, puntuación n/a" in spanish, spanish
    assert '<p class="">Verdict: <strong>not judged</strong>' in card.html, card.html
    blocked_card = render_card(facts(fairness={**fairness, "passed": False, "verdict": "blocked"})).markdown
    assert "Verdict: **blocked**" in blocked_card and "Equidad: **bloqueada**" in blocked_card


def test_rows_left_out_of_training_for_their_missing_label_are_on_the_card_in_both_languages():
    data = {**facts()["data"], "unlabelled": 40}
    card = render_card(facts(data=data))
    assert "test 2000 (40 rows without a label left out: scored, not trained on); period" in card.markdown
    assert "prueba 2000 filas (40 filas sin etiqueta excluidas: se puntúan, no se entrena con ellas)" in (
        card.markdown
    )
    assert "without a label" not in render_card(facts()).markdown, "no note when every row has a label"


def test_a_threshold_chosen_by_max_f1_is_said_so_in_both_languages():
    chosen = render_card(facts(threshold=0.171234, threshold_max_f1=True))
    assert "Decision threshold: 0.1712 (decision_threshold: max_f1, the best F1 on the validation split)" in (
        chosen.markdown
    )
    assert (
        "umbral de decisión 0.1712 (decision_threshold: max_f1, el mejor F1 en el split de validación)."
        in (chosen.markdown)
    )
    assert "the best F1 on the validation split" in chosen.html
    assert "max_f1" not in render_card(facts()).markdown, "a configured threshold is not said chosen"


def test_a_rejected_versions_card_says_why():
    reasons = ["quality gate: model precision 0.6100 < floor 0.99 (promotion.min_primary_metric)"]
    card = render_card(facts(stage="none", artifact=None, decision={"stage": "rejected", "reasons": reasons}))
    assert "Promotion decision: rejected" in card.markdown and reasons[0] in card.markdown
    assert "served artifact: none (not released)" in card.markdown
    assert "Decisión de promoción: rejected" in card.markdown
    assert "floor 0.99" in card.html


def test_a_mitigated_model_fitted_and_not_served_is_on_the_card_not_mitigation_none_alone():
    """A version whose plain model was served, or that was rejected, said "Mitigation: none" though a
    mitigated model was fitted and judged (or could not be fitted): the card says which, with its
    figures, from the version's metadata."""
    meta = {
        names.PRIMARY_METRIC: "precision",
        names.MITIGATED_EVALUATION: {
            "available": True,
            "features": ["gender"],
            "metrics": {"precision": 0.7412},
            names.FAIRNESS: {"passed": False, "fairness_score": 0.7731},
        },
    }
    settings = {"fairness": {"mitigation": "threshold_optimizer"}}
    unserved = _unserved_mitigation(meta, None, settings)
    assert _unserved_mitigation(meta, names.MITIGATED_MODEL, settings) is None, "served: the Mitigation line"
    assert _unserved_mitigation({}, names.MODEL, settings) is None, "none tried"
    card = render_card(facts(stage="none", artifact=None, unserved_mitigation=unserved))
    said = "A fairness-mitigated model (threshold_optimizer over gender) was fitted and is not served: its"
    assert f"{said} fairness gate blocked, fairness score 0.773, precision 0.741" in card.markdown
    assert said in card.html and "equidad bloqueada, puntuación 0.773" in card.markdown
    failed = {names.MITIGATED_EVALUATION: {"available": False, "note": "a group with one class"}}
    card = render_card(facts(unserved_mitigation=_unserved_mitigation(failed, names.MODEL, settings)))
    assert "No fairness-mitigated model: a group with one class." in card.markdown
    assert "(no fue posible ajustar un modelo mitigado)" in card.markdown


def test_a_mitigated_release_lists_each_groups_rule_not_one_threshold_in_both_languages():
    """A fairness-mitigated release decides by a rule per group (ThresholdOptimizer's two thresholds
    and weights): the card lists each group's bands of the score and the share decided positive,
    says which group's rule decides a group not fitted, and writes no single threshold."""
    from ml.decision import rule_bands

    young = {"p0": 0.3, "operator0": ">", "threshold0": 0.62, "p1": 0.7, "operator1": ">", "threshold1": 0.41}
    older = {"p0": 1.0, "operator0": ">", "threshold0": 0.55, "p1": 0.0, "operator1": ">", "threshold1": 0.2}
    rules = {
        "groups": [
            {
                "group": group,
                "bands": [dict(zip(("low", "high", "chance"), b, strict=True)) for b in rule_bands(rule)],
            }
            for group, rule in (("<35", young), ("35+", older))
        ],
        "features": ["age"],
        "fallback": "<35",
        "pooled": False,
    }
    mitigation = {"method": "threshold_optimizer", "features": ["age"], "constraint": "equalized_odds"}
    card = render_card(facts(artifact=names.MITIGATED_MODEL, mitigation=mitigation, decision_rules=rules))
    english = card.markdown.split("## Resumen en español")[0]
    assert "Decision thresholds: one rule per group of age (threshold_optimizer, equalized_odds)" in english
    for row in (
        "| <35 | up to 0.410 | 0.0000 |",
        "|  | 0.410 – 0.620 | 0.7000 |",
        "|  | above 0.620 | 1.0000 |",
        "| 35+ | up to 0.550 | 0.0000 |",  # the second threshold carries no weight: one band
        "|  | above 0.550 | 1.0000 |",
    ):
        assert row in english, english[:1500]
    assert "follow the rule of '<35'" in english and "Decision threshold: 0.65" not in card.markdown
    assert "umbral de decisión 0.65" not in card.markdown
    assert (
        "<35: hasta 0.410 → 0.0000, 0.410 – 0.620 → 0.7000, más de 0.620 → 1.0000; 35+: hasta 0.550"
        in card.markdown
    )
    assert (
        "<td>0.410 – 0.620</td><td>0.7000</td>" in card.html
        and "umbrales de decisión por grupo de age" in card.html
    )
    ET.fromstring(card.html.split("\n", 1)[1])  # still well-formed
    plain = render_card(facts())
    assert "Decision threshold: 0.65" in plain.markdown and "one rule per group" not in plain.markdown
    pooled = render_card(facts(decision_rules={**rules, "fallback": "other (small groups)", "pooled": True}))
    assert (
        "Rows of groups smaller than fairness.min_group_size when the rules were fitted, and of groups not "
        "seen then, follow the rule of 'other (small groups)'."
    ) in pooled.markdown


def test_a_fairness_score_the_gate_did_not_judge_is_said_so_next_to_a_passed_verdict_in_both_languages():
    """Parity unreachable for the groups' base rates: the gate passed on the other disparities and
    reported the lowest demographic parity ratio (0.482) without judging it; the card said "passed,
    fairness score 0.482" and a reader took the low score for a judged one (the brief said it)."""
    fairness = {**facts()["fairness"], "score": 0.482, "score_judged": False}
    card = render_card(facts(fairness=fairness))
    said = "fairness score 0.482 (the lowest demographic parity ratio, reported, not judged: below)."
    assert f"Verdict: **passed**, {said}" in card.markdown and said in card.html
    assert "puntuación 0.482 (el menor ratio de paridad demográfica, informado, no evaluado)" in card.markdown
    assert "not judged: below" not in render_card(facts()).markdown, "a judged score: nothing added"


def test_bootstrap_intervals_hold_the_point_estimate():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    proba = np.clip(y * 0.3 + rng.random(2000) * 0.7, 0, 1)
    pred = (proba >= 0.5).astype(int)
    intervals = bootstrap_intervals(y, pred, proba, rounds=200)
    precision = (y[pred == 1] == 1).mean()
    low, high = intervals[names.PRECISION]
    assert low < precision < high and high - low < 0.1, (low, precision, high)
    assert set(intervals) == set(names.METRIC_NAMES)


def test_a_precision_on_a_few_positive_decisions_has_an_interval_of_the_resamples_that_define_it():
    """statsmodels' autos: 3 positive decisions, all right, among 41 test rows. Resamples drawing
    none of the 3 (4 %) have no precision; counted as 0, they made the card's interval 0.000 -
    1.000, a model that might be always wrong; and the resamples that draw some read 1.000, as
    if 3 decisions were certain. The card gives the shares exact binomial intervals (0.292 -
    1.000) and says the figure rests on 3 positive decisions."""
    from registry.card import _rests_on

    y = np.array([1] * 7 + [0] * 34)
    pred = np.array([1] * 3 + [0] * 38)
    proba = np.where(pred == 1, 0.9, np.linspace(0.05, 0.6, 41))
    resampled = bootstrap_intervals(y, pred, proba, rounds=500)
    assert resampled[names.PRECISION] == (1.0, 1.0), "the resamples with a positive decision, not 0"
    confusion = confusion_matrix(y, pred, labels=[0, 1]).tolist()
    intervals = metric_intervals(y, pred, proba, confusion)  # what the card shows
    assert intervals[names.PRECISION] == pytest.approx((0.2924, 1.0), abs=1e-4), "3 of 3: exact binomial"
    assert intervals[names.RECALL] == pytest.approx(binomtest(3, 7).proportion_ci(method="exact"))
    assert intervals[names.ACCURACY] == pytest.approx(binomtest(37, 41).proportion_ci(method="exact"))
    assert intervals[names.F1] == resampled[names.F1] and intervals[names.ROC_AUC] == resampled[names.ROC_AUC]
    no_decision = confusion_matrix(y, np.zeros(41), labels=[0, 1]).tolist()
    assert names.PRECISION not in metric_intervals(y, np.zeros(41), proba, no_decision), (
        "no decision: no interval"
    )
    assert _rests_on(names.PRECISION, confusion) == {
        "support": 3, "support_en": "positive decisions", "support_es": "decisiones positivas",
    }  # fmt: skip
    assert _rests_on(names.ACCURACY, confusion)["support"] == 41


def test_each_resamples_metrics_are_sklearns_ties_and_one_class_included():
    """The vectorised metrics of the card's bootstrap equal sklearn's on each resample: scores with
    ties (ROC AUC's half credit), a resample without a predicted positive (precision undefined: NaN,
    left out of the interval, as sklearn's zero_division=np.nan), and a resample of one class (ROC AUC
    undefined: NaN, left out of the interval)."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, (20, 300))
    proba = np.round(np.clip(y * 0.3 + rng.random((20, 300)) * 0.7, 0, 1), 2)
    pred = (proba >= 0.5).astype(int)
    pred[0] = 0
    y[1] = 1
    draws = _metrics_of_resamples(y.astype(float), pred.astype(float), proba)
    for i in range(len(y)):
        expected = [
            precision_score(y[i], pred[i], zero_division=np.nan),
            recall_score(y[i], pred[i], zero_division=np.nan),
            f1_score(y[i], pred[i], zero_division=np.nan),
            roc_auc_score(y[i], proba[i]) if len(set(y[i])) == 2 else np.nan,
            accuracy_score(y[i], pred[i]),
        ]
        np.testing.assert_allclose(draws[:, i], expected, atol=1e-12, err_msg=f"resample {i}")


@pytest.mark.parametrize("value", [None, float("nan")])
def test_a_missing_number_is_written_n_a(value):
    assert num(value) == "n/a"


def test_a_split_by_group_says_so_and_how_many_groups_each_split_holds_in_both_languages():
    """Grunfeld's firms over years, split by data.group_column: a reader of the card must know that
    the test rows are firms the model never saw (and how few), not rows of the firms it was trained on."""
    import pandas as pd

    from registry.card import _groups

    splits = tuple(
        pd.DataFrame({"firm": list(firms), "x": range(len(firms))}) for firms in ("aabbc", "dd", "eef")
    )
    group = _groups("firm", splits, sampled=False)
    assert group == {"column": "firm", "counts": [3, 1, 2]}, group
    assert _groups("firm", splits, sampled=True) == {"column": "firm", "counts": None}, "samples: no counts"
    assert _groups(None, splits, sampled=False) is None
    card = render_card(facts(data={**facts()["data"], "group": group}))
    line = "- Split by group: all rows of one `firm` in one split (groups: train 3, validation 1, test 2)"
    assert line + ": the test rows' groups are not in training\n- Target:" in card.markdown, card.markdown
    assert "partición por grupos de `firm` (3 grupos de entrenamiento, 2 de prueba); tasa positiva" in (
        card.markdown
    )
    assert "<li>Split by group: all rows of one <code>firm</code> in one split (groups: train 3" in card.html
    plain = render_card(facts()).markdown
    assert "Split by group" not in plain and "partición por grupos" not in plain
