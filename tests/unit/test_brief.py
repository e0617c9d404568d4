import html
import re
from datetime import UTC, datetime

import pytest

from ml import names
from ml.brief import Thresholds, build_brief, compute_kpis, dec, monitoring_windows, pct

AT = datetime(2026, 3, 4, 6, 0, tzinfo=UTC)
LIMITS = Thresholds(drift_share=0.3, min_metric=0.65, min_fairness=0.8)


def drift(day, version, share, columns=(), predicted=False, precision=None):
    entry = {
        "date": day,
        "model_version": version,
        "drift_share": share,
        "drifted_columns": dict.fromkeys(columns, 0.01),
        "prediction_drift": {"drifted": predicted, "score": 0.01, "threshold": 0.05},
    }
    if precision is not None:
        entry["quality"] = {"labelled_rows": 1200, names.PRECISION: precision, names.ACCURACY: 0.8}
    return entry


def metrics(precision, accuracy):
    return {names.PRECISION: precision, names.ACCURACY: accuracy, names.ROC_AUC: 0.9}


def served(scores, score):
    """A row's ``served`` evaluation (``ml.promotion.recorded_evaluation`` of its release's model)."""
    return {names.METRICS: scores, names.FAIRNESS: {names.FAIRNESS_SCORE: score}}


def serving(row, scores=None, **record):
    """``row`` whose served model has these test metrics, and these fields in its fairness record."""
    evaluation = row["served"]
    fairness = {**evaluation[names.FAIRNESS], **record}
    return {**row, "served": {names.METRICS: scores or evaluation[names.METRICS], names.FAIRNESS: fairness}}


VERSIONS = [
    {
        "version": "1",
        "stage": "archived",
        "release": names.MODEL,
        "served": served(metrics(0.81, 0.77), 0.9),
        "created": "2026-03-01T01:00:00",
        "monitoring": {
            "monitoring_2026-03-01": drift("2026-03-01", "1", 0.1),
            "monitoring_decision_2026-03-01": {"breaches": []},
            "monitoring_2026-03-02": drift("2026-03-02", "1", 0.9),  # superseded by version 2's
        },
    },
    {
        "version": "2",
        "stage": "production",
        "release": names.MITIGATED_MODEL,
        "served": served(metrics(0.8342, 0.7911), 0.8612),  # the mitigated model's, not the plain one's
        "created": "2026-03-02T03:00:00",
        "monitoring": {
            "monitoring_2026-03-02": drift("2026-03-02", "2", 0.2),
            "monitoring_2026-03-03": drift("2026-03-03", "2", 0.45, ["avg_amount"], True, precision=0.6123),
            "monitoring_decision_2026-03-03": {
                "breaches": [{"metric": "drift_share"}, {"metric": "precision"}]
            },
        },
    },
]
INCIDENTS = [
    {"id": "INC-1", "opened_at": "2026-03-02T02:00:00", "status": "closed", "title": "Data drift detected"},
    {"id": "INC-2", "opened_at": "2026-03-03T02:00:00", "status": "open", "title": "Data drift <detected>"},
]
ACTIONS = [
    {"at": "2026-03-01T01:00:00", "who": "ci", "what": "promotion: production", "why": "first model"},
    {"at": "2026-03-02T02:00:00", "who": "monitoring", "what": "alert", "why": "drift"},
    {"at": "2026-03-02T02:01:00", "who": "monitoring", "what": "retraining", "why": "incident INC-1"},
    {"at": "2026-03-02T03:00:00", "who": "ci", "what": "promotion: production", "why": "better"},
    {"at": "2026-03-02T04:00:00", "who": "ci", "what": "promotion: staging", "why": "worse"},
    {"at": "2026-03-02T05:00:00", "who": "ops", "what": "deployment", "why": "serving v2"},
    {"at": "2026-03-03T02:00:00", "who": "monitoring", "what": "alert", "why": "drift"},
    {"at": "2026-03-03T03:00:00", "who": "operator", "what": "rollback", "why": "version 1 restored"},
]


@pytest.fixture(scope="module")
def brief():
    return build_brief("Customer Scoring", "customer-scoring", VERSIONS, INCIDENTS, ACTIONS, LIMITS, AT)


def test_kpis_come_from_the_production_versions_release_and_the_logs(brief):
    k = brief.kpis
    production = k["production"]
    assert production["version"] == "2" and production["mitigated"], production
    assert (production["precision"], production["accuracy"], production["fairness_score"]) == (
        0.8342,
        0.7911,
        0.8612,
    ), "the served (mitigated) model's test metrics and fairness, not the plain model's"
    assert k["incidents"] == {**k["incidents"], "total": 2, "open": 1, "closed": 1}
    actions = {kind: k["actions"][kind] for kind in ("promotions", "rollbacks", "retrainings", "alerts")}
    assert actions == {"promotions": 2, "rollbacks": 1, "retrainings": 1, "alerts": 2}, actions
    assert k["actions"]["deployments"] == 1 and k["actions"]["promotion_decisions"] == 3
    assert k["status"] == "attention", k["findings"]


def test_monitoring_history_is_one_window_per_date_with_the_latest_versions_entry():
    windows = monitoring_windows(VERSIONS)
    assert [(w["date"], w["model_version"], w["drift_share"]) for w in windows] == [
        ("2026-03-01", "1", 0.1),
        ("2026-03-02", "2", 0.2),
        ("2026-03-03", "2", 0.45),
    ]
    assert windows[-1]["breaches"] == ["drift_share", "precision"] and windows[-1]["prediction_drifted"]


def test_drift_rate_is_the_last_windows_share_with_its_trend(brief):
    monitoring = brief.kpis["monitoring"]
    assert monitoring["last"]["drift_share"] == 0.45 and monitoring["previous_drift_share"] == 0.2
    assert monitoring["trend"] == "rising" and monitoring["windows_above_threshold"] == 1
    assert monitoring["latest_labelled"]["precision"] == 0.6123
    assert monitoring["mean_drift_share"] == pytest.approx((0.1 + 0.2 + 0.45) / 3)


def test_findings_name_each_breach_in_both_languages(brief):
    english = " ".join(en for en, _ in brief.kpis["findings"])
    spanish = " ".join(es for _, es in brief.kpis["findings"])
    for needle in (
        "45.0% of the features drifted",
        "61.2%",
        "predictions drifted",
        "1 incident still open",
    ):
        assert needle in english, f"{needle!r} not in {english}"
    for needle in (
        "45,0 % de las variables",
        "61,2 %",
        "predicciones derivó",
        "1 incidente sigue abierto",
    ):
        assert needle in spanish, f"{needle!r} not in {spanish}"


def test_counts_take_the_word_for_one_or_for_more_in_both_languages(brief):
    """A brief with one promotion said "1 promotions to production", "1 reading(s) were": an executive
    reads each count with its own word."""
    said = brief.markdown.replace("\n", " ")
    for needle in (
        "Actions recorded in the audit log: 2 promotions to production, 1 rollback, 1 retraining,"
        " 2 alerts, 1 deployment.",
        "| Actions | 2 promotions, 1 rollback, 1 retraining, 2 alerts, 1 deployment |",
        "3 monitoring windows from",
        "1 window crossed it.",
        "auditoría: 2 promociones a producción, 1 reversión, 1 reentrenamiento, 2 alertas, 1 despliegue.",
        "| Acciones | 2 promociones, 1 reversión, 1 reentrenamiento, 2 alertas, 1 despliegue |",
        "3 ventanas de monitorización del",
        "1 ventana lo superó.",
        "(1 abierto, ",
    ):
        assert needle in said, f"{needle!r} not in {said}"
    assert "(s)" not in said, said


def test_html_has_the_english_overview_the_spanish_summary_and_the_numbers(brief):
    page = brief.html
    assert "@page" in page and page.count('class="page"') == 2, "two print pages"
    assert 'lang="en"' in page and 'lang="es"' in page
    for needle in ("Overview", "Resumen ejecutivo", "Needs attention / Requiere atención"):
        assert needle in page, needle
    for number in ("83.4%", "79.1%", "0.86", "45.0%", "61.2%"):
        assert number in page, f"English figure {number} missing"
    for number in ("83,4 %", "79,1 %", "0,86", "45,0 %", "61,2 %"):
        assert number in page, f"Spanish figure {number} missing"
    assert "al alza desde el 20,0 %" in page and "rising from 20.0%" in page
    assert "ROC AUC 0.90" in page and "ROC AUC 0,90" in page
    assert "Data drift &lt;detected&gt;" in page, "log text is escaped"


def test_html_carries_the_small_charts_inline(brief):
    svgs = re.findall(r"<svg\b", brief.html)
    assert len(svgs) == 3, "drift, quality per version, actions/incidents"
    for tag in ("<script", "<link", "<img", "src="):
        assert tag not in brief.html, f"{tag}: the brief must stand alone (no script, no external resource)"


def test_markdown_mirrors_the_numbers_of_the_html(brief):
    md = brief.markdown
    for needle in (
        "## Overview",
        "## Resumen ejecutivo",
        "83.4%",
        "83,4 %",
        "45.0%",
        "45,0 %",
        "0.86",
        "0,86",
    ):
        assert needle in md, f"{needle!r} missing from the Markdown"
    assert "| Incidents (open / closed) | 1 / 1 |" in md
    assert "| INC-2 |" in md and "rollback" in md
    assert "<svg" not in md


def test_no_monitoring_yet_is_said_not_hidden():
    versions = [{**VERSIONS[0], "stage": "production", "monitoring": {}}]
    brief = build_brief("P", "m", versions, [], [], LIMITS, AT)
    assert brief.kpis["status"] == "unmonitored" and brief.kpis["monitoring"]["last"] is None
    for text in (brief.html, brief.markdown):
        assert "No monitoring window has run yet" in text and "Aún no se ha ejecutado ninguna ventana" in text
        assert "81.0%" in text, "the production precision is still reported"
    assert "No monitoring windows yet / Aún no hay ventanas de monitorización" in brief.html
    assert len(re.findall(r"<svg\b", brief.html)) == 2, "no drift chart without windows"


def test_no_production_model_is_a_finding():
    kpis = compute_kpis("P", "m", [], [], [], LIMITS, AT)
    assert kpis["production"] is None and kpis["status"] == "attention"
    assert "No model version is in production" in kpis["findings"][0][0]
    brief = build_brief("P", "m", [], [], [], LIMITS, AT)
    assert "Todavía no hay ninguna versión de m en producción" in brief.markdown


def test_a_healthy_model_says_so():
    versions = [{**VERSIONS[0], "stage": "production"}]
    brief = build_brief("P", "m", versions, [], ACTIONS[:1], LIMITS, AT)
    # the last window (0.9 on 2026-03-02) is above the threshold: not healthy
    assert brief.kpis["status"] == "attention"
    calm = [{**versions[0], "monitoring": {"monitoring_2026-03-01": drift("2026-03-01", "1", 0.1)}}]
    brief = build_brief("P", "m", calm, [], ACTIONS[:1], LIMITS, AT)
    assert brief.kpis["status"] == "healthy" and brief.kpis["findings"] == []
    assert (
        "Healthy / Estable" in brief.html and "first window" in brief.html and "primera ventana" in brief.html
    )


def test_number_formats_per_language():
    assert (pct(0.8734), pct(0.8734, "es"), pct(None), pct(None, "es")) == ("87.3%", "87,3 %", "n/a", "n/d")
    assert (dec(0.8512), dec(0.8512, "es")) == ("0.85", "0,85")


def test_thresholds_out_of_range_are_refused_naming_the_field():
    with pytest.raises(ValueError, match=r"Thresholds.drift_share is 30; pass a number between 0 and 1"):
        Thresholds(drift_share=30, min_metric=0.6, min_fairness=0.8)


def _pages(page: str) -> tuple[str, str]:
    english, spanish = page.split('<div class="page" lang="es">', 1)
    return english, spanish


def test_each_page_titles_its_charts_in_its_language(brief):
    english, spanish = _pages(brief.html)
    assert "Acciones e incidentes" in spanish, "the Spanish page's chart is titled in Spanish"
    assert "Actions and incidents" not in brief.html, "no English chart title on the Spanish page"
    assert "Drift per window" in english and "Test quality per version" in english
    assert "Deriva por ventana" not in english, "the English page's charts are titled in English only"


def test_english_and_spanish_state_the_same_numbers(brief):
    english, spanish = _pages(re.sub(r"<svg\b.*?</svg>", "", brief.html, flags=re.S))

    def numbers(text: str) -> list[str]:
        text = re.sub(r"<[^>]+>", " ", text)
        return sorted(n.replace(",", ".") for n in re.findall(r"\d+(?:[.,]\d+)?", text))

    for number in ("83.4", "79.1", "0.86", "45.0", "61.2", "20.0", "30.0", "65.0", "1200"):
        assert number in numbers(english) and number in numbers(spanish), f"{number} not on both pages"
    paragraphs = [numbers(p) for p in brief.facts.findings[0]]
    assert paragraphs[0] == paragraphs[1], f"the findings differ in their numbers: {paragraphs}"


def test_message_catalogues_have_the_same_keys_and_placeholders():
    from string import Formatter

    from ml.brief import catalogue

    def fields(messages: dict) -> dict:
        return {
            key: sorted(f for _, f, _, _ in Formatter().parse(text) if f) if isinstance(text, str) else None
            for key, text in messages.items()
        }

    english, spanish = fields(catalogue()["en"]), fields(catalogue()["es"])
    assert english == spanish, "each message needs the same placeholders in both languages"


def test_the_brief_s_live_precision_leaves_out_rows_the_model_was_trained_on():
    """A static table scored nightly labels the training rows again: 85 % in-sample is not live.
    Windows recorded before the live metrics were (live precision alone) read the same."""
    entry = drift("2026-03-04", "2", 0.1, precision=0.85)
    live = {**dict.fromkeys(names.METRIC_NAMES, 0.7), names.PRECISION: 0.77}
    entry["quality"].update(
        {names.LIVE_METRICS: live, names.LIVE_ROWS: 240, names.SEEN_IN_TRAINING_ROWS: 960}
    )
    older = drift("2026-03-05", "2", 0.1, precision=0.85)
    older["quality"].update({names.LIVE_PRECISION: 0.74, names.LIVE_ROWS: 200})
    in_sample_only = drift("2026-03-06", "2", 0.1, precision=0.9)
    in_sample_only["quality"].update({names.LIVE_METRICS: None, names.LIVE_ROWS: 0})
    recorded = {
        "monitoring_2026-03-04": entry,
        "monitoring_2026-03-05": older,
        "monitoring_2026-03-06": in_sample_only,
    }
    windows = {w["date"]: w for w in monitoring_windows([{**VERSIONS[1], "monitoring": recorded}])}
    got = {day: (w["precision"], w["metric"], w["live"], w["labelled_rows"]) for day, w in windows.items()}
    assert got["2026-03-04"] == (0.77, "precision", 0.77, 240), got
    assert got["2026-03-05"] == (0.74, "precision", 0.74, 200), got
    assert got["2026-03-06"][:3] == (None, "precision", None), "no live row: no live value to show"


def _judged(day, live, metric=names.PRECISION, floor=None):
    entry = drift(day, "2", 0.1, precision=0.9)
    entry["quality"].update({names.LIVE_METRICS: live, names.LIVE_METRIC: metric, names.LIVE_ROWS: 300})
    entry["quality"].update({names.LIVE_VALUE: live[metric], names.METRIC_FLOOR: floor})
    return entry


def test_a_window_is_judged_against_the_floor_monitoring_recorded_with_it():
    """The floor comes with the window (the release's test value less max_metric_drop), not from a
    fixed number: 0.61 is a finding against a recorded 0.70, not against one of 0.55; with no floor
    recorded and no absolute min_metric, the brief says none is set; a window recorded before
    floors were is judged against the config's absolute one."""
    no_absolute = Thresholds(drift_share=0.3, min_metric=None, min_fairness=0.8)
    live = {**dict.fromkeys(names.METRIC_NAMES, 0.8), names.PRECISION: 0.61}

    def brief_with(floor, limits, older=False):
        entry = (
            drift("2026-03-04", "2", 0.1, precision=0.61)
            if older
            else _judged("2026-03-04", live, floor=floor)
        )
        versions = [{**VERSIONS[1], "monitoring": {"monitoring_2026-03-04": entry}}]
        return build_brief("P", "m", versions, [], ACTIONS[:1], limits, AT)

    below = brief_with(0.70, no_absolute)
    english = " ".join(en for en, _ in below.kpis["findings"])
    assert "Live precision on labelled data (2026-03-04) is 61.0%, below the 70.0% floor" in english, english
    assert "Live precision on 300 labelled cases (2026-03-04): 61.0% (floor 70.0%)." in below.markdown
    assert "precisión real: 61,0 % (mínimo 70,0 %)" in below.markdown, below.markdown
    above = brief_with(0.55, LIMITS)  # the recorded floor, not the config's 0.65
    assert above.kpis["findings"] == [] and above.kpis["status"] == "healthy", above.kpis["findings"]
    unset = brief_with(None, no_absolute)
    assert unset.kpis["findings"] == [], unset.kpis["findings"]
    assert "(no floor set)" in unset.markdown and "(sin mínimo)" in unset.markdown, unset.markdown
    older = brief_with(None, LIMITS, older=True)  # recorded before floors were: the config's absolute one
    assert "(floor 65.0%)" in older.markdown and older.kpis["findings"], older.kpis


def test_a_live_value_resting_on_too_few_rows_is_said_in_both_languages_and_is_no_finding():
    """Monitoring did not judge a precision of 0/3 (fewer positive decisions than
    thresholds.min_metric_support): the brief shows the value, says why it was not judged, and
    does not report the model as losing quality."""
    live = {**dict.fromkeys(names.METRIC_NAMES, 0.8), names.PRECISION: 0.0}
    entry = _judged("2026-03-04", live, floor=0.70)
    entry["quality"].update(
        {names.LIVE_SUPPORT: 3, names.LIVE_SUPPORT_OF: "positive_decisions", names.MIN_METRIC_SUPPORT: 30}
    )
    versions = [{**VERSIONS[1], "monitoring": {"monitoring_2026-03-04": entry}}]
    brief = build_brief("P", "m", versions, [], ACTIONS[:1], LIMITS, AT)
    assert brief.kpis["findings"] == [], brief.kpis["findings"]
    said = "(floor 70.0%). It rests on 3 positive decisions, fewer than the 30 needed to judge it."
    assert said in brief.markdown, brief.markdown
    assert "Se basa en 3 decisiones positivas, menos de los 30 necesarios para juzgarla." in brief.markdown
    entry["quality"][names.LIVE_SUPPORT] = 30
    judged = build_brief("P", "m", versions, [], ACTIONS[:1], LIMITS, AT)
    assert judged.kpis["findings"] and "needed to judge" not in judged.markdown, judged.kpis


def test_a_release_selected_on_recall_is_judged_live_on_recall_and_the_brief_names_it():
    """training.primary_metric: recall: monitoring judged the window's live recall; the brief's
    verdict, finding and live KPI name recall (exhaustividad) and its value, in both languages."""
    live = {**dict.fromkeys(names.METRIC_NAMES, 0.9), names.PRECISION: 0.88, names.RECALL: 0.52}
    entry = _judged("2026-03-04", live, metric=names.RECALL, floor=0.65)
    scores = {**VERSIONS[1]["served"][names.METRICS], names.RECALL: 0.75}
    version = {**serving(VERSIONS[1], scores), "primary_metric": names.RECALL}
    versions = [{**version, "monitoring": {"monitoring_2026-03-04": entry}}]
    brief = build_brief("P", "m", versions, [], ACTIONS[:1], LIMITS, AT)
    assert "It was selected, and is monitored, on recall: 75.0% on the test set." in brief.markdown
    assert "Se eligió, y se monitoriza, por exhaustividad (recall): 75,0 % en el conjunto de prueba." in (
        brief.markdown
    )
    plain = build_brief("P", "m", VERSIONS, [], ACTIONS[:1], LIMITS, AT)
    assert "It was selected" not in plain.markdown, "precision is in the sentence already (or unknown)"
    ((english, spanish),) = brief.kpis["findings"]
    assert english.startswith("Live recall on labelled data (2026-03-04) is 52.0%, below the 65.0% floor"), (
        english
    )
    assert "exhaustividad (recall) real es 52,0 %, por debajo del mínimo 65,0 %" in spanish, spanish
    assert "Live recall on 300 labelled cases (2026-03-04): 52.0% (floor 65.0%)." in brief.markdown
    assert "| Live recall (labelled) | 52.0% |" in brief.markdown, "the KPI: the metric judged live"
    assert "| Exhaustividad (recall) real (etiquetada) | 52,0 % |" in brief.markdown, brief.markdown
    # survival data selected on recall: the table showed its test precision and live recall only
    assert "| Accuracy (test) | 79.1% |\n| Recall (test) | 75.0% |\n| Live recall" in brief.markdown
    assert "| Exhaustividad (recall) (prueba) | 75,0 % |" in brief.markdown, brief.markdown
    assert "| Recall (test)" not in plain.markdown, "precision is a row already"
    healthy = _judged("2026-03-04", {**live, names.RECALL: 0.7}, metric=names.RECALL, floor=0.65)
    calm = build_brief("P", "m", [{**VERSIONS[1], "monitoring": {"monitoring_2026-03-04": healthy}}], [],
                       ACTIONS[:1], LIMITS, AT)  # fmt: skip
    assert calm.kpis["findings"] == [], "recall 70 % meets its floor; precision is not what is judged"


@pytest.mark.parametrize("score", [None, float("nan")])
def test_a_fairness_nothing_judged_is_said_not_counted_as_meeting_the_floor(score):
    """A table about no people (sensitive_features: []) or groups all too small: no fairness score;
    the overview says it was not judged in both languages, never that it "meets the floor"."""
    versions = [{**serving(VERSIONS[0], **{names.FAIRNESS_SCORE: score}), "stage": "production"}]
    brief = build_brief("P", "m", versions, [], ACTIONS[:1], LIMITS, AT)
    assert brief.kpis["production"]["fairness_score"] is None
    assert "Its fairness was not judged (no sensitive column" in brief.markdown, brief.markdown
    assert (
        "Su equidad no se evaluó" in brief.markdown
        and "floor" not in brief.markdown.split("ROC AUC")[1][:200]
    )


def test_a_fairness_score_the_gate_reported_but_did_not_judge_is_no_finding():
    """titanic: base rates 0.755 (female) vs 0.173 (male) make parity unreachable; the gate reported
    the ratio 0.58 and released the model. The brief said "Needs attention: below the 0.80 floor",
    against the gate. Now it says the score was reported, not judged; a judged one still counts."""
    reported = {
        **serving(VERSIONS[0], **{names.FAIRNESS_SCORE: 0.58, names.FAIRNESS_SCORE_JUDGED: False}),
        "stage": "production",
    }
    brief = build_brief("P", "m", [reported], [], ACTIONS[:1], LIMITS, AT)
    assert not [en for en, _ in brief.kpis["findings"] if en.startswith("Fairness score")], brief.kpis[
        "findings"
    ]
    assert (
        "Its fairness score (lowest demographic parity ratio) is 0.58, reported, not judged" in brief.markdown
    )
    assert "es 0,58, informada, no evaluada" in brief.markdown, brief.markdown
    assert "| Fairness score | 0.58 (reported, not judged) |" in brief.markdown, brief.markdown
    assert "| Puntuación de equidad | 0,58 (informada, no evaluada) |" in brief.markdown, brief.markdown
    for judged in (True, None):  # None: a record of before it was kept, judged as it was then
        version = serving(reported, **{names.FAIRNESS_SCORE_JUDGED: judged})
        findings = build_brief("P", "m", [version], [], ACTIONS[:1], LIMITS, AT).kpis["findings"]
        assert [en for en, _ in findings if en.startswith("Fairness score 0.58 is below the 0.80 floor")], (
            findings
        )


def test_a_live_roc_auc_is_shown_as_a_number_not_a_share():
    """ROC AUC (0.5 is chance) reads as 0.72, as the overview gives it, never as "72.0%"."""
    live = {**dict.fromkeys(names.METRIC_NAMES, 0.9), names.ROC_AUC: 0.72}
    entry = _judged("2026-03-04", live, metric=names.ROC_AUC, floor=0.8)
    versions = [{**VERSIONS[1], "monitoring": {"monitoring_2026-03-04": entry}}]
    brief = build_brief("P", "m", versions, [], ACTIONS[:1], LIMITS, AT)
    ((english, spanish),) = brief.kpis["findings"]
    assert english.startswith("Live ROC AUC on labelled data (2026-03-04) is 0.72, below the 0.80 floor"), (
        english
    )
    assert "ROC AUC real es 0,72, por debajo del mínimo 0,80" in spanish, spanish
    assert "Live ROC AUC on 300 labelled cases (2026-03-04): 0.72 (floor 0.80)." in brief.markdown
    assert (
        "| Live ROC AUC (labelled) | 0.72 |" in brief.markdown
        and "| ROC AUC real (etiquetada) | 0,72 |" in (brief.markdown)
    ), brief.markdown


def test_the_drift_chart_draws_each_windows_live_metric_under_its_own_name():
    """A release selected on precision, then one on recall: the chart's labelled series are named
    after the metric each window was judged on, never recall drawn as "precision"."""
    import re

    live = dict.fromkeys(names.METRIC_NAMES, 0.8)
    windows = {
        "monitoring_2026-03-03": _judged("2026-03-03", live, metric=names.PRECISION, floor=0.5),
        "monitoring_2026-03-04": _judged("2026-03-04", live, metric=names.RECALL, floor=0.5),
    }
    brief = build_brief("P", "m", [{**VERSIONS[1], "monitoring": windows}], [], ACTIONS[:1], LIMITS, AT)
    drawn = re.findall(r"<!-- ([^>]*\(labelled\)) -->", brief.html)  # matplotlib names each text
    assert drawn == ["precision (labelled)", "recall (labelled)"], drawn
    assert "| Live recall (labelled) | 80.0% |" in brief.markdown, "the KPI: the last window's metric"


def test_a_release_deciding_by_a_sensitive_column_through_its_stand_ins_is_said_in_both_languages():
    """racd10's age2, aget and aget2 beside age: the card's proxy note reaches the brief's overview
    where the fairness is said (the served record's: a mitigated release's own), not as an alarm."""
    stand_ins = {"age": {"age2": 1.0, "aget": 1.0}}
    plain = {**serving(VERSIONS[0], **{names.SENSITIVE_PROXIES: stand_ins}), "stage": "production"}
    mitigated = {**serving(VERSIONS[1], **{names.SENSITIVE_PROXIES: stand_ins}), "monitoring": {}}
    for production in (plain, mitigated):
        brief = build_brief("P", "m", [production], [], ACTIONS[:1], LIMITS, AT)
        assert brief.kpis["production"]["proxies"] == stand_ins, brief.kpis["production"]
        for text in (brief.markdown, html.unescape(brief.html)):
            assert (
                "It is not given 'age' (a sensitive column), yet decides by it through its stand-ins"
                " 'age2', 'aget': confirm that is intended" in " ".join(text.split())
            ), text
            assert (
                "No recibe 'age' (un atributo sensible), pero decide por él a través de sus sustitutos"
                " 'age2', 'aget'" in " ".join(text.split())
            ), text
        assert not [en for en, _ in brief.kpis["findings"] if "'age'" in en], brief.kpis["findings"]
    silent = build_brief(
        "P", "m", [serving(plain, **{names.SENSITIVE_PROXIES: {}})], [], ACTIONS[:1], LIMITS, AT
    )
    assert "stand-ins" not in silent.markdown and "sustitutos" not in silent.markdown


def test_a_live_disparity_beyond_the_releases_limit_is_a_finding_in_both_languages():
    """Monitoring judged the release's fairness gate on a window's live rows (ml.live_fairness):
    women's decisions are as before, but half of the women flagged are now wrong. The brief names
    the disparity, the column, its value and the limit in both languages; with monitoring's
    thresholds.fairness off, or within the limit, it is no finding."""
    import numpy as np
    import pandas as pd

    from ml.live_fairness import FairnessGate, live_fairness
    from ml.monitoring import LabelledOutcomes
    from ml.settings import FairnessSettings

    rng = np.random.default_rng(0)
    gender = np.repeat(["female", "male"], 400)
    target = rng.integers(0, 2, 800)
    decisions = target.copy()
    women_wrong = (gender == "female") & (target == 0) & (rng.random(800) < 0.5)
    decisions[women_wrong] = 1
    gate = FairnessGate(("gender",), {"gender": None}, FairnessSettings())

    def brief_with(decided, limits=LIMITS, judged_by=gate):
        outcomes = LabelledOutcomes(
            target, decided, decided * 0.9, np.zeros(800, bool), pd.DataFrame({"gender": gender})
        )
        entry = _judged("2026-03-04", dict.fromkeys(names.METRIC_NAMES, 0.8), floor=0.5)
        entry["quality"][names.LIVE_FAIRNESS] = live_fairness(outcomes, judged_by, 20_000, 0)
        versions = [{**VERSIONS[1], "monitoring": {"monitoring_2026-03-04": entry}}]
        return build_brief("P", "m", versions, [], ACTIONS[:1], limits, AT)

    unequal = brief_with(decisions)
    parity, odds = unequal.kpis["findings"]  # women flagged more often, and more often wrongly
    assert "the demographic parity ratio for 'gender' is 0.68 on 800 cases" in parity[0], parity
    english, spanish = odds
    assert re.fullmatch(
        r"Live fairness on labelled data \(2026-03-04\): the equalized odds difference for 'gender' is "
        r"0\.\d\d on 800 cases, beyond the release's 0\.10 limit: .* or roll back\.",
        english,
    ), english
    assert "la diferencia de probabilidades igualadas para 'gender' es 0," in spanish, spanish
    assert "más allá del límite 0,10 de la versión" in spanish, spanish
    assert "equalized odds difference for 'gender'" in unequal.markdown, unequal.markdown
    assert "diferencia de probabilidades igualadas para 'gender'" in unequal.markdown, unequal.markdown
    assert unequal.kpis["status"] == "attention"
    said = unequal.markdown.replace("\n", " ")
    assert "Its decisions on them break the release's fairness limits (see what needs attention)." in said
    assert "Sus decisiones sobre ellos superan los límites de equidad de la versión (véanse" in said
    off = Thresholds(drift_share=0.3, min_metric=0.65, min_fairness=0.8, live_fairness=False)
    reported = brief_with(decisions, off)
    assert reported.kpis["findings"] == [], "thresholds.fairness: false"
    assert "reported without an alert (monitoring's thresholds.fairness is off)" in reported.markdown.replace(
        "\n", " "
    )
    equal = brief_with(target)
    assert equal.kpis["findings"] == [], "decisions as right for women as for men"
    assert "Its decisions on them stay within the release's fairness limits." in equal.markdown.replace(
        "\n", " "
    )
    assert "siguen dentro de los límites de equidad de la versión" in equal.html.replace("\n", " ")
    # groups of 400 under min_group_size 500: nothing broke a limit, and nothing could be judged
    strict = FairnessGate(("gender",), {"gender": None}, FairnessSettings(min_group_size=500))
    unjudged = brief_with(target, judged_by=strict)
    said = unjudged.markdown.replace("\n", " ")
    assert unjudged.kpis["findings"] == [] and "stay within" not in said, said
    assert (
        "Its decisions on them break none of the release's fairness limits that this window could judge; "
        "1 reading was reported, not judged" in said
    ), said
    assert "1 lectura se informó sin juzgar" in unjudged.html.replace("\n", " ")
