"""The Dask cluster `engine: dask` runs on (scoring and monitoring: scoring.dask; training:
training.dask): a running scheduler (its scheduler_address, else Dask's own DASK_SCHEDULER_ADDRESS),
or a LocalCluster on 127.0.0.1 started for one run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from adapters.sources import DataSourceError
from ml.settings import DaskSettings

ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"  # Dask's own variable (dask.config "scheduler-address")


class DaskClusterError(DataSourceError):
    """The Dask scheduler did not answer, or has no worker to run on."""


def scheduler_address(settings: DaskSettings, section: str = "scoring.dask") -> tuple[str | None, str]:
    """(the address to connect to, the setting that named it); (None, …): start a LocalCluster.
    ``section``: where ``settings`` come from, named in messages."""
    if settings.scheduler_address:
        return settings.scheduler_address, f"{section}.scheduler_address"
    return os.environ.get(ADDRESS_ENV) or None, ADDRESS_ENV


@contextmanager
def dask_client(settings: DaskSettings, section: str = "scoring.dask") -> Iterator:
    """A ``distributed.Client`` on the configured cluster; closes what it started (the client, and the
    LocalCluster when it started one), never the scheduler it was pointed at."""
    from distributed import Client, LocalCluster

    address, setting = scheduler_address(settings, section)
    timeout = settings.connect_timeout_seconds
    if address is None:
        with (
            LocalCluster(
                n_workers=settings.workers, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    fix = (
        f"start one (`dask scheduler --host HOST --port PORT` and `dask worker {address}`), correct "
        f"{setting}, or leave {section}.scheduler_address empty and unset {ADDRESS_ENV} to run on a "
        "LocalCluster"
    )
    try:
        client = Client(address, timeout=timeout)
    except (OSError, ValueError) as exc:
        raise DaskClusterError(
            f"no Dask scheduler answered at {address!r} ({setting}) within "
            f"{section}.connect_timeout_seconds={timeout:g} s ({exc}); {fix}"
        ) from exc
    with client:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError as exc:
            raise DaskClusterError(
                f"the Dask scheduler at {address!r} ({setting}) has no worker after {timeout:g} s; "
                f"start one: `dask worker {address} --nthreads 1`"
            ) from exc
        yield client
