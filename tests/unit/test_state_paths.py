"""State paths defined once: every file under the project's state dir comes from
``adapters.state.StatePaths``; no other Python source (nor a notebook's code) spells its name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from adapters.state import DEFAULT_STATE_DIR, STATE_DIR_ENV, StatePaths, state_dir, state_paths

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = {"adapters/state.py"}
SKIPPED_DIRS = ("tests/", "template/", ".venv/", ".git/")
# File names under the state dir, and its folders used as path components (`/ "alerts"`).
FILE_NAMES = re.compile(
    r"\b(inference_log\.sqlite|scores\.sqlite|server\.json|server\.log|example_request\.json|audit\.jsonl"
    r"|incidents\.jsonl|smoke-\{port\}\.log|smoke_inference_log\.sqlite)"
)
FOLDERS = re.compile(r"""/\s*["'](serving|alerts|reports|evidently|zenml|bentoml|\.state)["']""")


def sources() -> list[tuple[str, str]]:
    """(name, code) of every Python module and notebook code cell outside tests/ and template/."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name not in SKIPPED and not name.startswith(SKIPPED_DIRS):
            found.append((name, path.read_text(encoding="utf-8")))
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        found.append((path.relative_to(ROOT).as_posix(), code))
    return found


def test_no_source_spells_a_state_file_name():
    assert len(sources()) > 50, "the scan found too few sources"
    found = [
        f"{name}:{code.count(chr(10), 0, match.start()) + 1}: {match.group(0)!r}"
        for name, code in sources()
        for pattern in (FILE_NAMES, FOLDERS)
        for match in pattern.finditer(code)
    ]
    assert not found, "state paths come from adapters.state.StatePaths only; found: " + "; ".join(found)


def test_the_paths_sit_under_the_state_dir(tmp_path):
    paths = StatePaths(tmp_path)
    names = [n for n in dir(StatePaths) if isinstance(getattr(StatePaths, n), property)]
    files = [getattr(paths, n) for n in names] + [paths.smoke_log(3000)]
    assert len(names) >= 14, names
    assert all(tmp_path in f.parents for f in files), files
    assert len(set(files)) == len(files), "two names for one file"
    assert paths.server_record.parent == paths.serving and paths.example_request.parent == paths.serving


@pytest.mark.parametrize("env", [None, "elsewhere"])
def test_state_paths_follow_the_environment(tmp_path, monkeypatch, env):
    if env is None:
        monkeypatch.delenv(STATE_DIR_ENV, raising=False)
        expected = tmp_path / DEFAULT_STATE_DIR
    else:
        monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / env))
        expected = tmp_path / env
    assert state_dir(tmp_path) == expected
    assert state_paths(tmp_path) == StatePaths(expected)
    assert state_paths(tmp_path).audit_log == expected / "audit.jsonl"
