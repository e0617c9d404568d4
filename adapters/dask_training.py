"""Training on a Dask cluster (`training.engine: dask`): the preprocessed training matrix is cut into
partitions sent to the workers, ``lightgbm.dask.DaskLGBMClassifier`` fits on them (LightGBM's own
data-parallel training, the workers talking to each other), and ``.to_local()`` gives back an
ordinary ``LGBMClassifier``: the registered model is served and scored by the same code."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd

from adapters.dask_cluster import dask_client
from ml.settings import TrainingSettings

LOG = logging.getLogger(__name__)


def fit_on_cluster(client, partition_rows: int, estimator, X: pd.DataFrame, y: np.ndarray, **fit_params):
    """``estimator`` (an unfitted ``LGBMClassifier``) fitted by ``DaskLGBMClassifier`` with the same
    parameters on ``X``, ``y`` in partitions of ``partition_rows`` rows (at least one per worker)."""
    import dask.dataframe as dd
    import lightgbm
    from lightgbm import LGBMClassifier
    from lightgbm.dask import DaskLGBMClassifier

    if not isinstance(estimator, LGBMClassifier):
        raise TypeError(f"training.engine 'dask' fits LightGBM only, not {type(estimator).__name__}")
    workers = max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
    parts = max(workers, -(-len(X) // partition_rows))
    edges = np.linspace(0, len(X), parts + 1).astype(int)
    label = pd.Series(y, index=X.index, name="target")
    slices = [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]
    # sent to the workers once each, not inside the task graph
    x_parts = client.scatter([X.iloc[s] for s in slices])
    y_parts = client.scatter([label.iloc[s] for s in slices])
    lightgbm.register_logger(_LightGBMLog())
    client.run(_quiet_lightgbm)
    model = DaskLGBMClassifier(client=client, **estimator.get_params())
    with warnings.catch_warnings():  # lightgbm.dask always says so: each worker uses its own threads
        warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored")
        model.fit(
            dd.from_delayed(x_parts, meta=X.iloc[:0]),
            dd.from_delayed(y_parts, meta=label.iloc[:0]),
            **fit_params,
        )
    # the configured threads for scoring (to_local keeps None: LightGBM's default, every core)
    return model.to_local().set_params(n_jobs=estimator.n_jobs)


class _LightGBMLog:
    """LightGBM's messages while it trains on the cluster, as debug logs: its network set-up ("Finding
    random open ports for workers", "Connecting to rank 1 failed, waiting") says nothing a user can act
    on. Its Python warnings stay warnings; the model's own messages are off anyway (verbose: -1)."""

    def info(self, message: str) -> None:
        LOG.debug("lightgbm: %s", message)

    def warning(self, message: str) -> None:
        warnings.warn(message, stacklevel=3)


def _quiet_lightgbm() -> None:
    """On each worker: LightGBM's native messages (its network set-up) to debug logs, not stdout."""
    import lightgbm

    lightgbm.register_logger(_LightGBMLog())


@contextmanager
def estimator_fit(training: TrainingSettings) -> Iterator[Callable | None]:
    """What ``ml.training.train_model`` fits the estimator with: ``None`` (in this process) for
    ``engine: pandas``; for ``engine: dask``, LightGBM on the cluster of ``training.dask``."""
    if training.engine == "pandas":
        yield None
        return
    with dask_client(training.dask, "training.dask") as client:
        yield lambda estimator, X, y, **params: fit_on_cluster(
            client, training.dask.partition_rows, estimator, X, y, **params
        )
