"""Materializers of the project's own: pandas frames that carry a content hash.

ZenML's cache key of a step holds its inputs' artifact IDs unless the inputs have a content hash,
and the pandas materializer computes none. ``load_data`` must read its source on every run (it may
have changed), so without a hash its fresh artifacts would miss the cache of every later step: a
rerun after a failure would start from scratch. With it, unchanged data resumes from the cache."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
from zenml.integrations.pandas.materializers.pandas_materializer import PandasMaterializer


def frame_hash(frame: pd.DataFrame | pd.Series) -> str:
    """The same values, index, columns and dtypes give the same hash; anything else another."""
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    digest = hashlib.sha256()
    digest.update(repr([str(c) for c in frame.columns]).encode())
    digest.update(repr([str(t) for t in frame.dtypes]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return digest.hexdigest()


class HashedPandasMaterializer(PandasMaterializer):
    def compute_content_hash(self, data: Any) -> str | None:
        return frame_hash(data)
