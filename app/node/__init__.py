"""The reconstruction node: projections in by DICOM, volumes, synthetic 2D and CAD SR out to a PACS.

Architecture (``crescent node serve``)::

    modality --C-STORE--> receiver --fsync + commit--> store (files + rows) --complete / quiet--> job queue
                                                                                                   |
    PACS <--C-STORE (retries, backoff)-- sender <-- DICOM writers <-- Dask cluster (slabs, CAD) <---+

* :mod:`app.node.receiver` -- the Storage SCP: allow list (AE title + host), optional DICOM
  TLS, checks (:mod:`app.node.grouping`), durable write before the acknowledgement.
* :mod:`app.node.grouping` -- which objects are accepted and which acquisition they belong to.
* :mod:`app.node.queue` -- acquisitions, jobs and results in the study store (migration 250);
  the job state machine.
* :mod:`app.node.executor` / :mod:`app.node.tasks` -- Dask distributed: an in-process cluster
  or an existing scheduler; FBP volumes as slabs of slices across workers.
* :mod:`app.node.job` -- one job: read, preview, reconstruct, synthetic 2D, CAD, write, send.
* :mod:`app.node.uids` -- result UIDs derived from the inputs (no duplicates on re-runs);
  UID tags for logs.
* :mod:`app.node.audit` -- the JSON-lines audit log; :mod:`app.node.faults` -- crash points
  for the SIGKILL tests.
* :mod:`app.node.service` -- :class:`Node`: ties it together, with the scheduler loop.
* :mod:`app.node.status` -- ``crescent node status``.

Imports here stay light: Dask workers import :mod:`app.node.tasks` only.
"""

__all__ = ["Node", "NodeSettings", "node_status", "settings_from_config"]


def __getattr__(name):
    if name == "Node":
        from app.node.service import Node

        return Node
    if name in ("NodeSettings", "settings_from_config"):
        from app.node import settings

        return getattr(settings, name)
    if name == "node_status":
        from app.node.status import node_status

        return node_status
    raise AttributeError(name)
