"""The suite's schedule (tests/conftest.py): the modules it hands out first, longest first, and the
units it keeps on one worker name modules that exist, so a renamed module is not silently run last."""

from tests import conftest


def test_every_module_the_schedule_names_exists():
    named = [*conftest.LONGEST_FIRST, *conftest.SHARED_UNITS]
    assert [name for name in named if not (conftest.TESTS / name).is_file()] == []
    assert len(set(conftest.LONGEST_FIRST)) == len(conftest.LONGEST_FIRST), "each module once"


def test_a_unit_module_is_not_ranked_by_an_end_to_end_modules_name(tmp_path):
    """tests/unit/test_dask_scoring.py shares its file name with tests/e2e/test_dask_scoring.py; only
    the latter is scheduled first."""
    assert conftest._module(conftest.TESTS / "e2e/test_dask_scoring.py") == "e2e/test_dask_scoring.py"
    assert conftest._module(conftest.TESTS / "unit/test_dask_scoring.py") not in conftest.LONGEST_FIRST
    assert conftest._module(tmp_path / "test_x.py") == "test_x.py", "outside tests/: its file name"
