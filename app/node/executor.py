"""Dask distributed execution: the cluster the node computes on, and a volume split into slabs.

By default the node starts an in-process ``LocalCluster`` (``workers`` workers of one thread
each; threads inside the node process, or worker processes with ``worker_processes``), which
keeps memory to one copy of the projections. With ``--scheduler tcp://HOST:PORT`` it joins
an existing cluster: workers there need Crescent installed, not the store (tasks get arrays,
see :mod:`app.node.tasks`).
"""

from __future__ import annotations

import logging

import numpy as np

from app.node.settings import NodeSettings
from app.node.tasks import reconstruct_slab, slabs

__all__ = ["make_client", "reconstruct_distributed", "worker_threads"]


def make_client(settings: NodeSettings):
    """A ``distributed.Client`` for the node: the scheduler's, or a fresh in-process cluster's.

    Raises
    ------
    app.errors.CrescentError
        When the scheduler cannot be reached.
    """
    from distributed import Client, LocalCluster

    from app.errors import CrescentError

    for name in ("distributed", "distributed.worker", "distributed.scheduler", "distributed.nanny"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if settings.scheduler:
        try:
            return Client(settings.scheduler, timeout=settings.timeout_s)
        except (OSError, TimeoutError) as exc:
            raise CrescentError(f"--scheduler {settings.scheduler}: cannot connect ({exc})") from None
    env = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"} if settings.worker_processes else None
    kwargs = {"env": env} if env else {}
    cluster = LocalCluster(
        n_workers=settings.workers,
        threads_per_worker=1,
        processes=settings.worker_processes,
        dashboard_address=None,
        silence_logs=logging.ERROR,
        **kwargs,
    )
    return Client(cluster)


def close_client(client) -> None:
    """Close a client and the in-process cluster it started (if any)."""
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def worker_threads(client) -> int:
    """Worker threads in the cluster (at least 1)."""
    try:
        return max(1, int(sum(client.nthreads().values())))
    except Exception:
        return 1


def reconstruct_distributed(
    client, projections: np.ndarray, geometry, grid, *, method: str, chunks: int, options: dict | None = None
):
    """Reconstruct on the cluster: FBP as ``chunks`` slabs of slices in parallel, other methods as one task.

    Parameters
    ----------
    client : distributed.Client
    projections : float32 array (views, rows, columns), or a distributed.Future of one
        Line integrals (scattered to the cluster unless already there).
    geometry : recon.Geometry
    grid : recon.VolumeGrid
    method : str
        ``recon.reconstruct`` method.
    chunks : int
        Slabs for FBP (1: one task).
    options : dict, optional
        Method options (not ``slice_thickness_mm`` with several slabs; see :mod:`app.node.tasks`).

    Returns
    -------
    recon.Volume
        The stitched volume on ``grid``.
    """
    from recon.types import Volume

    options = dict(options or {})
    if method != "fbp" or "slice_thickness_mm" in options:
        chunks = 1
    ranges = slabs(grid.shape[0], max(1, int(chunks)))
    from distributed import Future

    if isinstance(projections, Future):
        data = projections  # already on the cluster
    else:
        data = client.scatter(np.asarray(projections, dtype=np.float32), broadcast=len(ranges) > 1, hash=False)
    futures = [
        client.submit(
            reconstruct_slab, data, geometry, grid, k0, k1, method=method, options=options, pure=False, retries=1
        )
        for k0, k1 in ranges
    ]
    parts = client.gather(futures)
    volume = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    recorded = {k: v for k, v in options.items() if np.isscalar(v) or v is None}
    return Volume(
        data=np.ascontiguousarray(volume, dtype=np.float32),
        grid=grid,
        metadata={"method": method, "options": recorded, "preview": False, "slabs": len(ranges)},
    )
