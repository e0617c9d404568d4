"""Alerts: bilingual Slack / Teams payloads (delivery: test_webhook.py; logs: test_records.py)."""

import json

import pytest

from ml.alerts import (
    RUNBOOK_INCIDENT,
    RUNBOOK_SERVING,
    Breach,
    build_alert,
    plan_actions,
    slack_payload,
    teams_payload,
)

DRIFT = Breach("drift_share", 0.45, 0.30, "above", "12 of 27 columns drifted")
PRECISION = Breach("precision", 0.612, 0.7, "below")
NUMBERS = ("0.45", "0.30", "0.612", "0.70")
RUNBOOK = "https://example.org/andamio/" + RUNBOOK_INCIDENT
ACTION = "retraining triggered / reentrenamiento lanzado"


@pytest.fixture
def alert() -> dict:
    return build_alert("customer-scoring", "customer-scoring", "3", [DRIFT, PRECISION], RUNBOOK, ACTION)


def test_alert_states_every_breach_in_english_and_spanish(alert):
    assert alert["summary_es"].startswith("Umbral de monitorización superado:"), alert["summary_es"]
    assert "drift_share 0.45 > 0.30" in alert["text_en"], alert["text_en"]
    assert "precision 0.612 < 0.70" in alert["text_en"], alert["text_en"]
    assert "drift_share 0.45 > 0.30; precision 0.612 < 0.70" in alert["summary_es"], alert["summary_es"]
    assert alert["breaches"][0] == {
        "metric": "drift_share",
        "value": 0.45,
        "threshold": 0.3,
        "direction": "above",
        "detail": "12 of 27 columns drifted",
    }, alert["breaches"]
    assert (alert["runbook_url"], alert["action"]) == (RUNBOOK, ACTION), alert
    assert alert["at"].endswith("+00:00"), f"the alert time must be UTC: {alert['at']}"


def test_drift_only_alert_has_the_drift_headline_in_both_languages():
    drift = build_alert("p", "m", "1", [DRIFT], RUNBOOK_INCIDENT, ACTION)
    assert drift["summary_es"].startswith("Deriva de datos detectada: drift_share 0.45 > 0.30"), drift
    assert drift["text_en"].startswith("Data drift detected in p, model m version 1"), drift


def test_a_fairness_only_alert_says_a_fairness_limit_was_breached_in_both_languages():
    """Live fairness breaches (ml.live_fairness) are named ``<disparity>[<column>]``."""
    odds = Breach("equalized_odds_difference[gender]", 0.37, 0.1, "above", "3000 labelled rows ...")
    parity = Breach("demographic_parity_ratio[gender]", 0.68, 0.8, "below")
    fairness = build_alert("p", "m", "2", [odds, parity], RUNBOOK_INCIDENT, ACTION)
    assert fairness["text_en"].startswith("Fairness limit breached in p, model m version 2:"), fairness
    assert "equalized_odds_difference[gender] 0.37 > 0.10" in fairness["text_en"], fairness["text_en"]
    assert fairness["summary_es"].startswith(
        "Límite de equidad superado: equalized_odds_difference[gender] 0.37 > 0.10; "
        "demographic_parity_ratio[gender] 0.68 < 0.80"
    ), fairness["summary_es"]
    mixed = build_alert("p", "m", "2", [odds, PRECISION], RUNBOOK_INCIDENT, ACTION)
    assert mixed["text_en"].startswith("Monitoring threshold breached"), mixed["text_en"]


def test_invalid_breaches_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="direction is 'over'; use 'above'"):
        Breach("drift_share", 0.45, 0.3, "over")
    with pytest.raises(ValueError, match="value 0.2 is not above threshold 0.3"):
        Breach("drift_share", 0.2, 0.3, "above")
    with pytest.raises(ValueError, match="value is nan; pass a finite number"):
        Breach("precision", float("nan"), 0.7, "below")
    with pytest.raises(ValueError, match="no breaches given"):
        build_alert("p", "m", "1", [], RUNBOOK, ACTION)


def test_slack_payload_has_both_languages_every_number_and_the_runbook_link(alert):
    payload = slack_payload(alert)
    blocks = payload["blocks"]
    assert [b["type"] for b in blocks] == ["header", "section", "section", "context"], blocks
    texts = [b["text"]["text"] for b in blocks[:3]]
    assert texts[0] == alert["title_en"], texts
    assert texts[1] == alert["text_en"], "the English text is shown unchanged (plain_text)"
    assert alert["summary_es"] in texts[2], texts
    assert f"<{RUNBOOK}|Runbook>" in blocks[3]["elements"][0]["text"], blocks[3]
    assert f"<{RUNBOOK}|Runbook>" in payload["text"], "the notification text links the runbook too"
    assert "&gt;" in payload["text"], "mrkdwn control characters in the fallback text are escaped"
    dumped = json.dumps(payload, ensure_ascii=False)
    assert all(number in dumped for number in NUMBERS), f"a number is missing from {dumped}"


def test_teams_payload_is_an_adaptive_card_with_both_languages_facts_and_runbook(alert):
    payload = teams_payload(alert)
    assert payload["type"] == "message", payload
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive", attachment
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4"), card
    assert card["body"] and all("type" in element for element in card["body"]), card["body"]
    texts = [e["text"] for e in card["body"] if e["type"] == "TextBlock"]
    assert all(line in texts for line in alert["text_en"].splitlines()), f"English lines missing: {texts}"
    assert alert["summary_es"] in texts, texts
    (facts,) = [e["facts"] for e in card["body"] if e["type"] == "FactSet"]
    assert all(set(fact) == {"title", "value"} for fact in facts), facts
    assert {"title": "drift_share", "value": "0.45 > 0.30"} in facts, facts
    assert {"title": "precision", "value": "0.612 < 0.70"} in facts, facts
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Runbook", "url": RUNBOOK}], card[
        "actions"
    ]
    dumped = json.dumps(payload, ensure_ascii=False)
    assert all(number in dumped for number in NUMBERS), f"a number is missing from {dumped}"


LATENCY = Breach("latency_p99_ms", 900.0, 250.0, "above")
DECAY = Breach("precision", 0.5, 0.65, "below")


@pytest.mark.parametrize(
    ("breaches", "retrain_enabled", "launch", "expected"),
    [
        ([DRIFT], True, True, (True, True, "retraining", "retraining triggered / reentrenamiento lanzado")),
        ([DECAY], True, False, (True, False, "retraining deferred", "deferred to the caller")),
        ([DRIFT], False, True, (False, False, None, "investigate / investigar")),
        ([LATENCY], True, True, (False, False, None, "check the service (serving runbook)")),
        ([DRIFT, LATENCY], True, True, (True, True, "retraining", "retraining triggered; check the service")),
    ],
    ids=["drift-launched", "decay-deferred", "retrain-off", "latency-only", "drift-and-latency"],
)
def test_only_drift_and_decay_retrain_and_the_words_say_what_happens(
    breaches, retrain_enabled, launch, expected
):
    actions = plan_actions(breaches, retrain_enabled, launch)
    retrain, launched, record, words = expected
    assert (actions.retrain, actions.launched, actions.retraining_record) == (retrain, launched, record), (
        actions
    )
    assert words in actions.text, actions.text
    assert ("lanzado" in actions.text) == launched, f"only a launched retraining says so: {actions.text}"
    serving_only = all(b.metric == "latency_p99_ms" for b in breaches)
    assert actions.runbook == (RUNBOOK_SERVING if serving_only else RUNBOOK_INCIDENT), actions.runbook


def test_an_alert_names_the_monitored_window_in_its_title_and_both_texts():
    alert = build_alert("p", "m", "4", [DRIFT], RUNBOOK_INCIDENT, ACTION, "2026-03-11")
    assert alert["title_en"].endswith(": m v4, window 2026-03-11"), alert["title_en"]
    assert "model m version 4, window 2026-03-11:" in alert["text_en"], alert["text_en"]
    assert "(p, modelo m versión 4, ventana 2026-03-11)" in alert["summary_es"], alert["summary_es"]
    assert alert["window"] == "2026-03-11"
    assert "2026-03-11" in json.dumps(slack_payload(alert)) and "2026-03-11" in json.dumps(
        teams_payload(alert)
    )
    assert "window" not in build_alert("p", "m", "4", [DRIFT], RUNBOOK_INCIDENT, ACTION)["title_en"]
