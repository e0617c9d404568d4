import json

import pandas as pd

from steps.materializers import HashedPandasMaterializer, frame_hash


def frame():
    return pd.DataFrame({"id": [1, 2, 3], "region": ["north", "south", None], "amount": [1.5, 2.0, 3.25]})


def test_the_same_frame_read_again_has_the_same_hash():
    assert frame_hash(frame()) == frame_hash(frame().copy()), "identical data must hit the cache"
    assert frame_hash(pd.DataFrame()) == frame_hash(pd.DataFrame()), "an empty frame too"


def test_any_change_of_values_index_columns_or_dtypes_changes_the_hash():
    base = frame_hash(frame())
    changed = {
        "value": frame().assign(amount=[1.5, 2.0, 3.5]),
        "row order": frame().iloc[::-1],
        "index": frame().set_axis([10, 11, 12]),
        "column name": frame().rename(columns={"amount": "total"}),
        "dtype": frame().astype({"id": "float64"}),
    }
    for what, other in changed.items():
        assert frame_hash(other) != base, f"a change of {what} must miss the cache"


def test_the_materializer_gives_zenml_a_content_hash():
    materializer = HashedPandasMaterializer.__new__(HashedPandasMaterializer)  # no artifact store needed
    assert materializer.compute_content_hash(frame()) == frame_hash(frame())


def test_the_distribution_lookup_read_once_answers_as_zenmls_own():
    """steps/__init__ replaces ZenML's per-artifact lookup of a type's distribution (a full
    importlib.metadata scan each call) with one read a process: same answer for every module, a
    module of no installed distribution included."""
    import subprocess
    import sys

    import steps

    modules = ["pandas.core.frame", "numpy", "sklearn.pipeline", "lightgbm.sklearn", "zenml.materializers",
               "mlflow.pyfunc", "yaml", "builtins", "ml.features", "no_such_module.sub"]  # fmt: skip
    script = (
        "import json, sys; from zenml.utils.source_utils import _get_package_for_module as lookup; "
        "print(json.dumps([lookup(m) for m in sys.argv[1:]]))"
    )
    zenmls = subprocess.run(
        [sys.executable, "-c", script, *modules], capture_output=True, text=True, check=True
    ).stdout
    ours = [steps._package_for_module(module) for module in modules]
    assert ours == json.loads(zenmls.strip().splitlines()[-1]), (ours, zenmls)
    assert ours[:5] == ["pandas", "numpy", "scikit-learn", "lightgbm", "zenml"], ours
