"""An optional dask.distributed cluster for scoring: a scheduler address or a local cluster."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from gmgclim.errors import GmgclimError

__all__ = ["dask_client"]


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A dask.distributed client while the block runs; nothing when neither option is given.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``).
    workers : int, optional
        Start a ``LocalCluster`` with this many single-threaded workers instead.

    Yields
    ------
    distributed.Client or None
        Closed (with its local cluster) when the block ends.

    Raises
    ------
    GmgclimError
        dask.distributed is not installed.
    """
    if not scheduler and not workers:
        yield None
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise GmgclimError(
            "--scheduler/--workers need dask.distributed", hint="pip install 'dask[distributed]'"
        ) from exc
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
    try:
        yield client
    finally:
        own_cluster = getattr(client, "cluster", None)
        client.close()
        if own_cluster is not None:
            own_cluster.close()
