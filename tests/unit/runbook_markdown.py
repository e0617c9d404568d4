"""Reading the runbook pages: code blocks with their markers, headings, GitHub anchors, bold terms,
the glossary table. Shared by tests/unit/test_runbooks.py and tests/e2e/test_runbooks_run.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"
LANGUAGES = ("en", "es")
TOPICS = (
    "01-onboarding",
    "02-experiments",
    "03-pipelines",
    "04-stacks",
    "05-deployment",
    "06-monitoring",
    "07-incident-playbook",
    "08-ethics",
    "09-executive-brief",
    "10-raci-glossary",
)
GLOSSARY_PAGE = "10-raci-glossary.md"
SHELLS = ("bash", "sh", "shell")
MARKERS = ("runnable", "cloud", "manual")
# A fence opens with ``` at the start of a line, an info string, and closes with ``` alone on a line.
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
HEADING = re.compile(r"^(#{1,6}) +(.+?) *#*$", re.M)
BOLD = re.compile(r"\*\*([^*]+?)\*\*")


@dataclass(frozen=True)
class Block:
    page: str  # file name, e.g. 05-deployment.md
    index: int  # position among the page's code blocks
    info: str  # the whole info string, e.g. "bash runnable"
    body: str

    @property
    def language(self) -> str:
        return self.info.split()[0] if self.info.split() else ""

    @property
    def marker(self) -> str | None:
        words = self.info.split()
        return words[1] if len(words) > 1 else None

    @property
    def is_shell(self) -> bool:
        return self.language in SHELLS

    def where(self) -> str:
        first = self.body.strip().splitlines()[0] if self.body.strip() else ""
        return f"{self.page} block {self.index} ({self.info!r}: {first[:80]!r})"


def pages(lang: str) -> list[Path]:
    return sorted((RUNBOOKS / lang).glob("*.md"))


def read(lang: str, page: str) -> str:
    return (RUNBOOKS / lang / page).read_text(encoding="utf-8")


def blocks(text: str, page: str = "") -> list[Block]:
    return [Block(page, i, m.group(1).strip(), m.group(2)) for i, m in enumerate(FENCE.finditer(text))]


def prose(text: str) -> str:
    """The page without its code blocks (headings and bold inside code do not count)."""
    return FENCE.sub("", text)


def headings(text: str) -> list[tuple[int, str]]:
    return [(len(hashes), title) for hashes, title in HEADING.findall(prose(text))]


def anchor(title: str) -> str:
    """GitHub's anchor of a heading: markup dropped, lower case, punctuation removed (letters of any
    script, digits, '-' and '_' kept), spaces to '-'."""
    text = re.sub(r"[`*_]{1,2}(.+?)[`*_]{1,2}", r"\1", title)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Anchors of a page, with GitHub's -1, -2 suffixes for repeated headings."""
    seen: dict[str, int] = {}
    found = set()
    for _, title in headings(text):
        base = anchor(title)
        n = seen.get(base, 0)
        found.add(base if n == 0 else f"{base}-{n}")
        seen[base] = n + 1
    return found


def bold_terms(text: str) -> list[str]:
    """Bold spans outside code blocks and inline code."""
    return BOLD.findall(re.sub(r"`[^`\n]*`", "", prose(text)))


def glossary(lang: str = "en") -> list[dict[str, str]]:
    """Rows of the glossary table of page 10 (columns: English | Español | meaning; the Spanish page
    heads the first column "Inglés" and gives the meaning in Spanish)."""
    rows, inside = [], False
    for line in read(lang, GLOSSARY_PAGE).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not inside:
            inside = line.startswith("|") and cells[0] in ("English", "Inglés")
            continue
        if not line.startswith("|"):
            break
        if set(cells[0]) <= {"-", " ", ":"}:
            continue
        rows.append({"en": cells[0], "es": cells[1], "meaning": cells[2] if len(cells) > 2 else ""})
    return rows


def normal(term: str) -> str:
    return " ".join(term.lower().split())


def resolve(link: str) -> tuple[Path, str]:
    """``runbooks/en/PAGE.md#anchor`` -> (page path, anchor)."""
    page, _, fragment = link.partition("#")
    return RUNBOOKS.parent / page, fragment
