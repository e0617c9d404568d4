"""The Dask cluster `engine: dask` runs on (scoring and monitoring: scoring.dask; training:
training.dask): a running scheduler (its scheduler_address, else Dask's own DASK_SCHEDULER_ADDRESS),
or a LocalCluster on 127.0.0.1 started for one run."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from adapters.sources import DataSourceError
from ml.settings import DaskSettings
from ml.words import counted

LOG = logging.getLogger(__name__)
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
    from distributed import Client

    address, setting = scheduler_address(settings, section)
    timeout = settings.connect_timeout_seconds
    if address is None:
        with local_cluster(settings, section) as cluster, Client(cluster) as client:
            workers = counted(settings.workers, "worker|workers")
            print(f"Dask: a LocalCluster of {workers} at {cluster.scheduler_address}")
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
        workers = len(client.scheduler_info()["workers"])
        print(f"Dask: the scheduler at {address} ({setting}), {counted(workers, 'worker|workers')}")
        yield client


@contextmanager
def local_cluster(settings: DaskSettings, section: str = "scoring.dask") -> Iterator:
    """A LocalCluster of ``settings.workers`` single-threaded worker processes on 127.0.0.1, with Dask's
    dashboard only when ``dashboard_address`` asks for it. Without one, the workers' statistical
    profiler (a stack sample of the running task every 10 ms, kept for the dashboard) is off too."""
    import dask
    from distributed import LocalCluster

    dashboard = settings.dashboard_address
    if dashboard:
        try:
            import bokeh  # noqa: F401  (Dask's dashboard: dask[diagnostics])
        except ImportError:
            raise DaskClusterError(
                f"{section}.dashboard_address={dashboard!r} asks for Dask's dashboard, which needs bokeh "
                "(dask[diagnostics]); install the project's lock (bash scripts/install.sh) or leave "
                f"{section}.dashboard_address empty"
            ) from None
    # Dask starts its workers with MALLOC_TRIM_THRESHOLD_=64 KiB (memory back to the OS early), which
    # also turns off glibc's adaptive mmap threshold: every array over 128 KiB is then mapped fresh and
    # its pages faulted in again, partition after partition. A 32 MiB threshold keeps a partition's
    # arrays (a few MB each) in the reused heap: its demo and features take 0.29 s instead of 0.41 s
    # (benchmarks/, figure 6); peak memory per worker is unchanged.
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ"), "MALLOC_MMAP_THRESHOLD_": 32 * 2**20}
    with (
        dask.config.set(
            {
                "distributed.worker.profile.enabled": bool(dashboard),
                "distributed.nanny.pre-spawn-environ": environ,
            }
        ),
        LocalCluster(
            n_workers=settings.workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=dashboard or None,
            # no dashboard: the scheduler's plain HTTP routes (health, metrics) on a free loopback
            # port, not Dask's default 8787 on every interface (taken by another cluster: a warning)
            scheduler_kwargs={} if dashboard else {"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        ) as cluster,
    ):
        if dashboard:
            LOG.info("Dask dashboard of this run: %s", cluster.dashboard_link)
        yield cluster
