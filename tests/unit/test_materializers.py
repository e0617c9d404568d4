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
