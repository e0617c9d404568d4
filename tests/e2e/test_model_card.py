"""Every trained version gets a model card (at promotion, and on demand with `run.py card`): its
numbers are the registry's and the evaluation's, in English and Spanish, a rejected version's card
says why, and the brief links the production version's card."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from mlflow import MlflowClient

from ml import names
from ml.card import SECTIONS, num
from tests.e2e.harness import MODEL_NAME, PROJECT_ROOT, must, probe, run_cli, training_config

pytestmark = pytest.mark.e2e
LENIENT = {
    "search": {"candidates": [{}]},
    "decision_threshold": 0.6,
    "promotion__min_primary_metric": 0.5,
    "fairness__min_demographic_parity_ratio": 0.0,
    "fairness__max_equalized_odds_difference": 1.0,
    "fairness__mitigation": "none",
}


@pytest.fixture(scope="module")
def trained(demo_release):
    """Version 1: the demo project's release (tests/e2e/conftest.py, default threshold and gates);
    version 2: lenient gates at a 0.6 threshold but a precision floor of 0.99, so rejected."""
    state, env, project, out = (demo_release[key] for key in ("state", "env", "project", "out"))
    strict = training_config(state, "strict", **{**LENIENT, "promotion__min_primary_metric": 0.99})
    must(run_cli(PROJECT_ROOT, env, "train", "--project", str(project), "--config", strict))
    tracking = re.search(r"MLflow tracking URI: (\S+)", out).group(1)
    store = probe(PROJECT_ROOT, env, MODEL_NAME)
    versions = {str(v["number"]): v for v in store["model_versions"]}
    return {
        "state": state,
        "env": env,
        "project": project,
        "versions": versions,
        "tracking": tracking,
        "store": store,
    }


def card_of(trained, version: str) -> tuple[str, str, dict]:
    where = trained["versions"][version]["metadata"][names.MODEL_CARD]
    return Path(where["markdown"]).read_text(), Path(where["html"]).read_text(), where


def test_the_released_versions_card_has_every_section_and_the_registrys_numbers(trained):
    markdown, html, _ = card_of(trained, "1")
    root = ET.fromstring(html.split("\n", 1)[1])
    assert {s.get("id") for s in root.iter("section")} == {anchor for anchor, _ in SECTIONS}
    meta = trained["versions"]["1"]["metadata"]
    assert f"Decision threshold: {num(meta[names.RELEASE]['decision_threshold'], 2)}" in markdown
    english, spanish = markdown.split("## Resumen en español")
    for key in names.METRIC_NAMES:
        value = num(meta[names.METRICS][key])
        assert re.search(rf"\| {key} \| {re.escape(value)} \| ", english), (key, value)
        assert f"- {key}: {value} (intervalo del 95 %" in spanish, (key, value)
    (_, fp), (_, tp) = meta[names.METRICS][names.CONFUSION_MATRIX]
    precision_row = re.search(r"^\| precision \|.*\| (\d+) positive decisions \|$", english, flags=re.M)
    assert precision_row and int(precision_row.group(1)) == tp + fp, (precision_row, tp + fp)
    assert f"fairness score {num(meta[names.FAIRNESS]['fairness_score'])}" in english
    assert f"puntuación {num(meta[names.FAIRNESS]['fairness_score'])}" in spanish
    assert meta[names.CODE_REFERENCE]["config_sha256"] in markdown
    assert "Intended uses: not provided" in english and "Usos previstos: no proporcionado" in spanish
    assert "period: not provided" in english and "periodo: no proporcionado." in spanish
    assert "Limitaciones: no proporcionadas." in spanish
    assert "promotion: production" in english, "the audit log's promotion entry is an approval"
    assert "Top features (lightgbm-pred-contrib; mean absolute contribution, in log-odds):\n- " in english
    assert "[runbooks/en/08-ethics.md](runbooks/en/08-ethics.md)" in english, "the ethics runbook, linked"
    assert "[runbooks/es/08-ethics.md](runbooks/es/08-ethics.md)" in spanish
    ages = re.findall(r"^\| age \| (\S+) \|", english, flags=re.M)
    assert ages in (["<35", "35-50", "50+"], ["<35", "35-50", "50+", "missing"]), f"in band order: {ages}"
    notes = meta[names.FAIRNESS]["notes"]
    assert all(f"\n- {n}\n" in english.split("Reported, not judged:")[-1] for n in notes), notes
    # the demo serves its plain model; the mitigated one fitted beside it is named with its figures
    mitigated = meta[names.MITIGATED_EVALUATION]
    assert meta[names.RELEASE]["artifact"] == names.MODEL and mitigated["available"], mitigated
    verdict = "passed" if mitigated[names.FAIRNESS]["passed"] else "blocked"
    assert (
        f"Mitigation: none.\nA fairness-mitigated model (threshold_optimizer over "
        f"{', '.join(mitigated['features'])}) was fitted and is not served: its fairness gate {verdict}, "
        f"fairness score {num(mitigated[names.FAIRNESS]['fairness_score'])}, precision "
        f"{num(mitigated['metrics']['precision'])}"
    ) in english, english.split("Mitigation:")[-1][:400]


def test_a_rejected_versions_card_says_why_it_was_rejected(trained):
    markdown, _, _ = card_of(trained, "2")
    assert "Promotion decision: rejected" in markdown, markdown[:1500]
    assert "quality gate: model precision" in markdown and "< floor 0.99" in markdown
    assert "served artifact: none (not released)" in markdown
    assert "Decision threshold: 0.60" in markdown, "the card reads the version's own configured threshold"
    assert "Mitigation: none.\n\n" in markdown, "fitted no mitigated model (fairness.mitigation: none)"


def test_the_card_is_a_zenml_visualization_and_an_mlflow_artifact(trained):
    runs = [r for r in trained["store"]["runs"] if r["pipeline"] == "training_pipeline"]
    assert all(r["visualizations"].get(names.MODEL_CARD) == ["html"] for r in runs), runs
    _, _, where = card_of(trained, "1")
    run_id = trained["versions"]["1"]["metadata"][names.MLFLOW_RUN_ID]
    listed = [a.path for a in MlflowClient(trained["tracking"]).list_artifacts(run_id, names.MODEL_CARD)]
    assert f"{names.MODEL_CARD}/model-card-v1.html" in listed and where["mlflow_artifacts"].endswith(
        names.MODEL_CARD
    )


def test_card_on_demand_and_the_brief_links_the_production_card(trained):
    env, project = trained["env"], str(trained["project"])
    out = must(run_cli(PROJECT_ROOT, env, "card", "--project", project, "--version", "2")).stdout
    assert f"Model card of {MODEL_NAME} version 2" in out and "model-card-v2.html" in out, out[-2000:]
    missing = run_cli(PROJECT_ROOT, env, "card", "--project", project, "--version", "9")
    assert missing.returncode == 2 and f"model {MODEL_NAME!r} has no version '9'" in missing.stderr, (
        missing.stderr
    )
    must(run_cli(PROJECT_ROOT, env, "brief", "--project", project))
    brief = (trained["state"] / "project" / "reports" / "brief.md").read_text()
    assert "Model card / Ficha del modelo:" in brief and "model-card-v1.html" in brief, brief[:1500]


def test_the_teams_own_words_from_project_yaml_reach_both_languages_of_the_card_escaped_in_html(trained):
    """card.* in configs/project.yaml (never set by the other tests): the on-demand card of version 2
    carries each text as written, in the Markdown and, escaped, in the HTML, which stays well-formed."""
    import yaml

    words = {
        "intended_use": "rank accounts for the collections team's weekly call list",
        "out_of_scope_uses": "credit decisions & pricing; customers with < 3 orders",
        "limitations": "trained on generated demo data; re-check before any real use",
        "data_period": "2025-01-01 to 2025-12-31",
    }
    project = yaml.safe_load(Path(trained["project"]).read_text())
    project["card"] = words
    own = trained["state"] / "project-card.yaml"
    own.write_text(yaml.safe_dump(project))
    must(run_cli(PROJECT_ROOT, trained["env"], "card", "--project", str(own), "--version", "2"))
    markdown, html, _ = card_of(trained, "2")
    english, spanish = markdown.split("## Resumen en español")
    assert f"Intended uses: {words['intended_use']}" in english
    assert f"Out-of-scope uses: {words['out_of_scope_uses']}" in english
    assert f"- {words['limitations']}" in english and f"period: {words['data_period']}" in english
    assert (
        f"Usos previstos: {words['intended_use']}. Usos fuera de alcance: {words['out_of_scope_uses']}. "
        f"Limitaciones: {words['limitations']}."
    ) in spanish
    assert f"periodo: {words['data_period']}." in spanish
    assert "credit decisions &amp; pricing; customers with &lt; 3 orders" in html, "escaped in the HTML"
    root = ET.fromstring(html.split("\n", 1)[1])
    text = " ".join(root.itertext())
    assert all(value in text for value in words.values()), "each text, as written, once parsed"
