"""Runbooks exist in both languages with the same structure and byte-identical command blocks."""

import re
from pathlib import Path

import pytest

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"
PAGES = sorted(p.name for p in (RUNBOOKS / "en").glob("*.md"))
FENCE = re.compile(r"```[a-z]*\n.*?```", re.S)


def test_every_english_page_has_a_spanish_page():
    assert PAGES, "no runbook pages found"
    assert sorted(p.name for p in (RUNBOOKS / "es").glob("*.md")) == PAGES, "page sets differ"


@pytest.mark.parametrize("page", PAGES)
def test_spanish_page_has_the_same_commands_and_heading_structure(page):
    en, es = ((RUNBOOKS / lang / page).read_text() for lang in ("en", "es"))
    assert FENCE.findall(en) == FENCE.findall(es), f"{page}: command blocks differ between en and es"

    def levels(text):
        return [len(m) for m in re.findall(r"^(#+) ", FENCE.sub("", text), re.M)]

    assert levels(en) == levels(es), f"{page}: heading structure differs"


def test_alert_runbook_link_points_at_an_existing_anchor():
    from ml.alerts import RUNBOOK_INCIDENT
    from steps.monitor import RUNBOOK

    for link in {RUNBOOK_INCIDENT, RUNBOOK}:
        page, _, anchor = link.partition("#")
        text = (RUNBOOKS.parent / page).read_text()
        anchors = {
            re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.+)$", FENCE.sub("", text), re.M)
        }
        assert anchor in anchors, f"{link}: no heading with anchor {anchor!r} (anchors: {sorted(anchors)})"
