"""Notebooks under notebooks/ are stored clean (no outputs, no execution counts, valid nbformat 4) and
open with an introduction in English and in Spanish."""

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# The first cell's markers of each language (and a word of its prose, so a label alone does not pass).
INTRODUCTIONS = {"English": ("**English.**", "notebook"), "Spanish": ("**Español.**", "cuaderno")}


def test_the_three_notebooks_are_there():
    names = [path.name for path in NOTEBOOKS]
    expected = ["01-explore-data.ipynb", "02-review-experiments.ipynb", "03-explain-a-decision.ipynb"]
    assert names == expected, f"notebooks/ holds {names}, expected {expected}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_a_notebook_is_stored_without_outputs_or_execution_counts(path):
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert notebook.nbformat == 4, f"{path.name} is nbformat {notebook.nbformat}; save it as version 4"
    nbformat.validate(notebook)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: code cell(s) {dirty} hold outputs or an execution count; "
        f"run `.venv/bin/nbstripout {path.relative_to(ROOT)}` (the pre-commit hook does it)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_a_notebook_starts_with_an_english_and_a_spanish_introduction(path):
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    first = notebook.cells[0] if notebook.cells else None
    assert first is not None and first.cell_type == "markdown", (
        f"{path.name}: the first cell must be a markdown introduction, got "
        f"{first.cell_type if first else 'no cell'}"
    )
    for language, (marker, word) in INTRODUCTIONS.items():
        assert marker in first.source and word in first.source.lower(), (
            f"{path.name}: the introduction lacks its {language} part (a paragraph starting {marker!r})"
        )
