"""Layers: ``ml/`` computes, ``adapters/`` touches the outside, ``steps/`` wire the two into ZenML.

The rule, checked on the source (``ast``, every import statement, including those inside functions
and under ``TYPE_CHECKING``):

- ``ml/`` imports none of the project's outer packages (``adapters``, ``steps``, ``pipelines``,
  ``registry``, ``bentos``, ``stacks``, ``run``), no orchestration or serving framework (``zenml``,
  ``bentoml``, ``mlflow``), and nothing that reaches a database, the network or a workspace on disk:
  ``sqlalchemy``, ``sqlite3``, ``urllib``, ``http``, ``requests``, ``httpx``, ``socket``, ``tenacity``,
  Evidently's workspace and dashboard API (``evidently.ui``, ``evidently.sdk``).
- Evidently itself (``Report``, ``Dataset``, its metrics and presets) stays allowed in ``ml/``: it is
  how drift and quality are computed, and a snapshot is returned as text, never stored there.
- Reading the YAML configs (``ml/settings.py``) and templates bundled with the code stay in ``ml/``:
  they are the code's own inputs, not the project's state.
- ``adapters/`` imports neither ``steps`` nor ``pipelines`` (nor ``run`` or ``zenml``): edges are
  called by steps, not the reverse.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ML_FORBIDDEN = (
    "adapters",
    "steps",
    "pipelines",
    "registry",
    "bentos",
    "stacks",
    "run",
    "zenml",
    "bentoml",
    "mlflow",
    "evidently.ui",
    "evidently.sdk",
    "sqlalchemy",
    "sqlite3",
    "urllib",
    "http",
    "requests",
    "httpx",
    "socket",
    "tenacity",
)
ADAPTERS_FORBIDDEN = ("steps", "pipelines", "run", "zenml")


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported(source: str, name: str) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in ``source``; ``from a import b`` counts a and a.b."""
    found = []
    for node in ast.walk(ast.parse(source, filename=name)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def breaches(path: Path, forbidden: tuple[str, ...], source: str | None = None) -> list[str]:
    name = path.relative_to(ROOT).as_posix()
    text = path.read_text(encoding="utf-8") if source is None else source
    return sorted(
        {
            f"{name}:{line} imports {module} (forbidden: {prefix})"
            for line, module in imported(text, name)
            for prefix in forbidden
            if module == prefix or module.startswith(prefix + ".")
        }
    )


def test_the_rule_sees_the_packages():
    assert len(modules("ml")) > 10 and len(modules("adapters")) >= 5, "ml/ or adapters/ not found"


@pytest.mark.parametrize("path", modules("ml"), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_ml_computes_and_imports_no_edge(path):
    found = breaches(path, ML_FORBIDDEN)
    assert not found, "ml/ must stay pure computation; move the I/O to adapters/: " + "; ".join(found)


@pytest.mark.parametrize("path", modules("adapters"), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_adapters_do_not_call_back_into_steps_or_pipelines(path):
    found = breaches(path, ADAPTERS_FORBIDDEN)
    assert not found, "adapters/ are called by steps, never the reverse: " + "; ".join(found)


def test_the_checker_catches_a_forbidden_import():
    source = "import sqlite3\nfrom adapters.state import state_paths\nfrom evidently import Report\n"
    found = breaches(ROOT / "ml" / "probe.py", ML_FORBIDDEN, source)
    assert any("imports sqlite3" in f for f in found), found
    assert any("imports adapters.state" in f for f in found), found
    assert not any("evidently" in f for f in found), "Evidently's Report is computation: allowed"
