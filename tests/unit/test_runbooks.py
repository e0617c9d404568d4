"""Runbooks: every page in both languages, the same structure and byte-identical code blocks, marked
shell blocks, glossary terms defined, status and alert links pointing at existing headings
(conventions: runbooks/README.md)."""

import ast
import json
import re
import subprocess
import sys

import pytest
import yaml

from ml import status
from tests.unit.runbook_markdown import (
    GLOSSARY_PAGE,
    LANGUAGES,
    MARKERS,
    RUNBOOKS,
    TOPICS,
    anchors,
    blocks,
    bold_terms,
    glossary,
    headings,
    normal,
    pages,
    prose,
    read,
    resolve,
)

PAGES = sorted(p.name for p in pages("en"))


@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_has_an_english_and_a_spanish_page(topic):
    for lang in LANGUAGES:
        path = RUNBOOKS / lang / f"{topic}.md"
        assert path.is_file(), f"runbook page missing: {path.relative_to(RUNBOOKS.parent)}"


def test_both_languages_have_the_same_pages():
    assert PAGES, "no runbook pages found"
    spanish = sorted(p.name for p in pages("es"))
    assert spanish == PAGES, (
        f"page sets differ: only en {set(PAGES) - set(spanish)}, only es {set(spanish) - set(PAGES)}"
    )


@pytest.mark.parametrize("page", PAGES)
def test_spanish_page_has_the_same_code_blocks_and_heading_structure(page):
    en, es = read("en", page), read("es", page)
    en_blocks = [(b.info, b.body) for b in blocks(en)]
    es_blocks = [(b.info, b.body) for b in blocks(es)]
    for i, (ours, theirs) in enumerate(zip(en_blocks, es_blocks, strict=False)):
        assert ours == theirs, f"{page}: code block {i} differs between en and es:\n{ours}\n---\n{theirs}"
    assert len(en_blocks) == len(es_blocks), (
        f"{page}: {len(en_blocks)} code blocks in en, {len(es_blocks)} in es"
    )
    en_levels = [level for level, _ in headings(en)]
    es_levels = [level for level, _ in headings(es)]
    assert en_levels == es_levels, (
        f"{page}: heading structure differs\n en: {headings(en)}\n es: {headings(es)}"
    )
    translated = [t for (_, t), (_, u) in zip(headings(en), headings(es), strict=True) if t == u and " " in t]
    assert len(translated) <= len(en_levels) // 2, f"{page}: headings left in English in es: {translated}"


@pytest.mark.parametrize("page", PAGES)
def test_every_shell_block_is_marked_runnable_cloud_or_manual(page):
    for block in blocks(read("en", page), page):
        if block.is_shell:
            assert block.marker in MARKERS, (
                f"{block.where()}: shell blocks say how the tests treat them: ```bash runnable, "
                "```bash cloud or ```bash manual (see runbooks/README.md)"
            )
            assert len(block.info.split()) == 2, f"{block.where()}: one marker only"


@pytest.mark.parametrize("page", PAGES)
def test_shell_blocks_parse_and_data_blocks_load(page):
    for block in blocks(read("en", page), page):
        if block.is_shell:
            check = subprocess.run(
                ["bash", "-n"], input=block.body, capture_output=True, text=True, check=False
            )
            assert check.returncode == 0, f"{block.where()}: bash -n: {check.stderr}"
        elif block.language == "python":
            ast.parse(block.body, filename=block.where())
        elif block.language == "json":
            json.loads(block.body)
        elif block.language == "yaml":
            yaml.safe_load(block.body)


@pytest.mark.parametrize("page", PAGES)
def test_a_page_that_deploys_stops_the_server_afterwards(page):
    runnable = [b.body for b in blocks(read("en", page), page) if b.marker == "runnable"]
    started = [i for i, body in enumerate(runnable) if "run.py deploy" in body]
    if started:
        stopped = [i for i, body in enumerate(runnable) if "run.py undeploy" in body]
        assert stopped and max(stopped) > max(started), (
            f"{page}: a runnable `python run.py deploy` needs a later runnable `python run.py undeploy` "
            "on the same page (the test runs the pages unattended)"
        )


def test_glossary_has_both_languages_and_a_meaning_for_every_term():
    rows, spanish = glossary("en"), glossary("es")
    assert len(rows) >= 20, f"the glossary in {GLOSSARY_PAGE} has {len(rows)} terms"
    for row in rows:
        assert row["en"] and row["es"] and len(row["meaning"]) > 10, f"incomplete glossary row {row}"
    assert [(r["en"], r["es"]) for r in spanish] == [(r["en"], r["es"]) for r in rows], (
        "the Spanish glossary lists other terms than the English one"
    )
    for lang in LANGUAGES:
        terms = [normal(r[lang]) for r in rows]
        twice = sorted({t for t in terms if terms.count(t) > 1})
        assert not twice, f"glossary terms listed twice ({lang}): {twice}"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_bold_terms_are_glossary_terms(lang):
    known = {normal(row[lang]) for row in glossary(lang)}
    unknown = {
        (page.name, term)
        for page in pages(lang)
        if page.name != GLOSSARY_PAGE
        for term in bold_terms(page.read_text())
        if normal(term) not in known
    }
    assert not unknown, (
        f"bold terms not in the glossary of {GLOSSARY_PAGE} ({lang}): {sorted(unknown)}; add them to the "
        "glossary table or do not bold them"
    )


def test_every_glossary_term_is_used_in_a_page():
    rows = glossary("en")
    for lang in LANGUAGES:
        used = {
            normal(t)
            for page in pages(lang)
            if page.name != GLOSSARY_PAGE
            for t in bold_terms(page.read_text())
        }
        unused = [row[lang] for row in rows if normal(row[lang]) not in used]
        assert not unused, f"glossary terms ({lang}) never bolded in a page: {unused}"


@pytest.mark.parametrize("page", [p for p in PAGES if p != GLOSSARY_PAGE])
def test_english_and_spanish_pages_bold_the_same_glossary_entries(page):
    rows = glossary("en")
    en = {normal(t) for t in bold_terms(read("en", page))}
    es = {normal(t) for t in bold_terms(read("es", page))}
    en_entries = {row["en"] for row in rows if normal(row["en"]) in en}
    es_entries = {row["en"] for row in rows if normal(row["es"]) in es}
    assert en_entries == es_entries, (
        f"{page}: glossary terms bolded only in en: {sorted(en_entries - es_entries)}, "
        f"only in es: {sorted(es_entries - en_entries)}"
    )


def links_in_code() -> dict[str, str]:
    """Every runbook link the code holds: the alerts' and the status messages'."""
    from ml.alerts import RUNBOOK_INCIDENT, RUNBOOK_SERVING  # the links the monitoring step's alerts carry

    found = {"ml.alerts.RUNBOOK_INCIDENT": RUNBOOK_INCIDENT, "ml.alerts.RUNBOOK_SERVING": RUNBOOK_SERVING}
    found.update({f"status {s.text!r}": s.runbook for s in status.ALL})
    return found


@pytest.mark.parametrize("name", sorted(links_in_code()))
def test_alert_and_status_links_point_at_an_existing_heading(name):
    link = links_in_code()[name]
    path, fragment = resolve(link)
    assert path.is_file(), f"{name}: {link} names a page that does not exist"
    assert fragment in anchors(path.read_text()), (
        f"{name}: {link}: no heading with anchor {fragment!r} (anchors: {sorted(anchors(path.read_text()))})"
    )
    assert (path.parent.parent / "es" / path.name).is_file(), f"{name}: no Spanish page for {link}"


@pytest.mark.parametrize("name", sorted(s.text for s in status.ALL))
def test_the_linked_page_quotes_the_status_in_both_languages(name):
    this = next(s for s in status.ALL if s.text == name)
    path, _ = resolve(this.runbook)
    for lang in LANGUAGES:
        text = (path.parent.parent / lang / path.name).read_text()
        assert this.text in text, (
            f"{lang}/{path.name} does not quote the status {this.text!r} it is linked from"
        )


def test_status_lines_carry_their_runbook_link():
    line = status.DEPLOYED.line("http://127.0.0.1:3000")
    assert line == (
        "Deployment succeeded / Despliegue exitoso: http://127.0.0.1:3000 "
        "(runbook: runbooks/en/05-deployment.md#query-the-api)"
    ), line
    assert status.failure("deploy") is status.DEPLOY_FAILED, "deploy failures link the deployment page"
    assert status.failure("score") is status.COMMAND_FAILED, "other commands have the generic failure status"


@pytest.mark.parametrize(
    "source", ["run.py", *sorted(f"steps/{p.name}" for p in (RUNBOOKS.parent / "steps").glob("*.py"))]
)
def test_no_bilingual_status_is_printed_outside_the_catalogue(source):
    """A bilingual `English / Spanish` literal printed by run.py or a step must come from ml/status.py
    (which carries the runbook link), so no status escapes the link check."""
    text = (RUNBOOKS.parent / source).read_text()
    # "Deployment succeeded / Despliegue exitoso": capitalised English, " / ", capitalised Spanish
    stray = re.findall(r'print\(\s*f?"(?:\\n)?([A-Z][^"/]*? / [A-Z][^"]*)"', text)
    assert not stray, f"{source} prints bilingual statuses without a runbook link: {stray}; use ml.status"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_links_between_pages_point_at_existing_headings(lang):
    broken = []
    for page in pages(lang):
        for target, fragment in re.findall(r"\]\(([0-9a-z-]+\.md)(?:#([^)]+))?\)", prose(page.read_text())):
            path = page.parent / target
            if not path.is_file() or (fragment and fragment not in anchors(path.read_text())):
                broken.append(f"{page.name} -> {target}#{fragment}")
    assert not broken, f"links to missing pages or headings ({lang}): {broken}"


def test_readme_carries_the_architecture_of_the_onboarding_page():
    """The README (the generated project's, or the template's at its root) shows the same data-flow
    and stacks diagrams as runbook page 01, the deployment modes and the known limitations."""
    readme = (RUNBOOKS.parent / "README.md").read_text()
    diagrams = [b.body for b in blocks(read("en", "01-onboarding.md")) if b.language == "mermaid"]
    assert len(diagrams) == 2, "page 01 has a data-flow and a stacks diagram"
    readme_diagrams = [b.body for b in blocks(readme) if b.language == "mermaid"]
    assert readme_diagrams == diagrams, (
        "README.md's Mermaid diagrams differ from runbooks/en/01-onboarding.md"
    )
    for heading in ("Deployment modes: online API and nightly batch", "Known limitations"):
        assert re.search(rf"^#+ {heading}$", readme, re.M), f"README.md lacks the section {heading!r}"


def test_alert_templates_on_the_monitoring_page_are_what_ml_alerts_sends():
    """The Slack and Teams examples of page 06 are the payloads ml/alerts.py builds for that alert,
    so the templates change when the code does."""
    from ml.alerts import RUNBOOK_INCIDENT, Breach, build_alert, slack_payload, teams_payload

    drift = Breach(
        "drift_share", 0.45, 0.3, "above", "days_since_last_order, late_payment_rate, online_share"
    )
    action = "retraining triggered / reentrenamiento lanzado"
    alert = build_alert(
        "Customer Scoring", "customer-scoring", "3", [drift], RUNBOOK_INCIDENT, action, "2026-03-05"
    )
    alert["at"] = "2026-03-06T02:04:11+00:00"
    for lang in LANGUAGES:
        shown = [json.loads(b.body) for b in blocks(read(lang, "06-monitoring.md")) if b.language == "json"]
        assert shown == [slack_payload(alert), teams_payload(alert)], (
            f"{lang}/06-monitoring.md: the Slack/Teams templates differ from ml.alerts' payloads; "
            "regenerate them with slack_payload/teams_payload"
        )


def config_values() -> dict[str, list]:
    """Every leaf of configs/*.yaml by dotted path (``thresholds.drift_share`` …)."""
    found: dict[str, list] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            found.setdefault(prefix, []).append(value)

    for path in sorted((RUNBOOKS.parent / "configs").glob("*.yaml")):
        walk("", yaml.safe_load(path.read_text()) or {})
    return found


def stated_defaults(text: str) -> list[tuple[str, str]]:
    """(key, value) pairs a page states as defaults: `key: value` in a table row, and `key` (number)."""
    pairs = []
    for line in prose(text).splitlines():
        if line.startswith("|"):
            pairs += re.findall(r"`([a-z0-9_.]+): ([^`]+)`", line)
    pairs += re.findall(r"`([a-z0-9_.]+)` \(([0-9][0-9.]*)\)", prose(text))
    return pairs


@pytest.mark.parametrize("page", PAGES)
def test_defaults_stated_in_the_pages_are_the_configs(page):
    values = config_values()
    checked = 0
    for lang in LANGUAGES:
        for key, stated in stated_defaults(read(lang, page)):
            paths = [path for path in values if path == key or path.endswith(f".{key}")]
            if len(paths) != 1:
                continue  # not a config key, or ambiguous
            actual = values[paths[0]]
            assert yaml.safe_load(stated) in actual, (
                f"{lang}/{page} states `{key}` = {stated}, configs/ say {paths[0]} = {actual}"
            )
            checked += 1
    if page in ("03-pipelines.md", "06-monitoring.md", "08-ethics.md"):
        assert checked >= 4, (
            f"{page}: expected its thresholds to be checked against configs/, checked {checked}"
        )


def test_a_failing_command_prints_its_failure_status_and_runbook_link(tmp_path):
    from tests.e2e.harness import isolated_env

    result = subprocess.run(
        [sys.executable, "run.py", "models", "--project", str(tmp_path / "missing.yaml")],
        cwd=RUNBOOKS.parent,
        env=isolated_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert status.COMMAND_FAILED.line() in result.stderr.splitlines(), result.stderr
