"""``crescent node``: the reconstruction node (serve), its queue (status) and failed jobs (retry).

``crescent node serve`` runs a DICOM Storage SCP for Breast Projection X-Ray objects (multi-frame,
or one file per projection), writes each durably into the store before acknowledging it,
gathers them into acquisitions and queues one job per acquisition: a fast preview, the
reconstruction (Dask: an in-process cluster, or ``--scheduler tcp://HOST:PORT``), the synthetic
2D and CAD; the results (Breast Tomosynthesis Image, Digital Mammography synthetic 2D,
Mammography CAD SR) go to ``--pacs`` by C-STORE. Every option can also be set in ``[node]`` of
config.toml (see ``crescent pacs``); the command line wins. Only associations from
``--allow AE@HOST`` callers are accepted. Logs carry job ids and UID tags, never patient data;
the audit log (JSON lines, ``node-audit.jsonl`` in the store) records what was received, refused
and sent.
"""

from __future__ import annotations

NAME = "node"
HELP = "reconstruction node: receive projections by DICOM, reconstruct, send results to a PACS"
DESCRIPTION = __doc__


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="node_command", metavar="ACTION")
    sub.required = True
    s = sub.add_parser("serve", help="run the node (until SIGTERM or Ctrl-C)", description=__doc__)
    s.add_argument("--config", metavar="PATH", help="configuration file (default: the user's config.toml)")
    s.add_argument("--ae-title", metavar="AE", help="the node's AE title ([node] ae_title)")
    s.add_argument("--host", metavar="ADDR", help="address to listen on ([node] host, default 0.0.0.0)")
    s.add_argument("--port", type=int, metavar="PORT", help="port to listen on ([node] port, default 11113)")
    s.add_argument("--pacs", metavar="AE@HOST:PORT", help="where results go: AE@HOST:PORT or a configured peer")
    s.add_argument(
        "--allow", action="append", metavar="AE@HOST", help="a caller allowed to associate (repeatable; AE@* any host)"
    )
    s.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="an existing Dask scheduler (default: in-process)")
    s.add_argument("--workers", type=int, metavar="N", help="workers of the in-process Dask cluster (default 1)")
    s.add_argument(
        "--worker-processes", action="store_true", default=None, help="in-process cluster workers as processes"
    )
    s.add_argument("--method", type=str.lower, metavar="NAME", help="reconstruction method (default fbp)")
    s.add_argument("--no-preview", dest="preview", action="store_false", default=None, help="no fast preview")
    s.add_argument("--cad-models", metavar="MODELS", help="'default', 'classical' or a model manifest")
    s.add_argument("--quiet-s", type=float, metavar="S", help="process an incomplete acquisition after S quiet seconds")
    s.add_argument("--max-attempts", type=int, metavar="N", help="tries of a job before it fails (default 6)")
    s.add_argument("--chunks", type=int, metavar="N", help="slabs a volume is split into (default: worker threads)")
    s.add_argument("--tls-cert", metavar="PEM", help="DICOM TLS: the node's certificate")
    s.add_argument("--tls-key", metavar="PEM", help="DICOM TLS: the node's private key")
    s.add_argument("--tls-ca", metavar="PEM", help="DICOM TLS: CA that must sign client certificates")
    s.add_argument("--audit-log", metavar="PATH", help="audit log (default: node-audit.jsonl in the store)")
    s.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"), help="log level")
    st = sub.add_parser("status", help="queue, running, done and failed jobs, throughput")
    st.add_argument("--json", action="store_true", help="print JSON")
    r = sub.add_parser("retry", help="queue a failed job again")
    r.add_argument("job", metavar="JOB", help="job id (see 'crescent node status'), or 'failed' for all failed jobs")


def _settings(args):
    from app.config import load_config
    from app.node.settings import settings_from_config

    config = load_config(args.config) if args.config else load_config()
    return settings_from_config(
        config,
        ae_title=args.ae_title,
        host=args.host,
        port=args.port,
        pacs=args.pacs,
        allow=args.allow,
        scheduler=args.scheduler,
        workers=args.workers,
        worker_processes=args.worker_processes,
        method=args.method,
        preview=args.preview,
        cad_models=args.cad_models,
        quiet_s=args.quiet_s,
        max_attempts=args.max_attempts,
        chunks=args.chunks,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_ca=args.tls_ca,
        audit_log=args.audit_log,
    )


def _serve(args) -> int:
    import logging
    import signal
    import sys

    from app.node.service import Node

    settings = _settings(args)
    if not settings.allow:
        print(
            "crescent node: warning: no --allow AE@HOST (or [node] allow): every association will be rejected",
            file=sys.stderr,
        )
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)  # its INFO/DEBUG lines can carry identifiers
    node = Node(settings, store_root=args.store)
    node.start()
    print(f"crescent node: {settings.ae_title} listening on {settings.host}:{node.port}", flush=True)

    def _terminate(signum, frame):
        node._stop.set()
        node._wake.set()

    signal.signal(signal.SIGTERM, _terminate)
    try:
        node.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()
    return 0


def _status(args) -> int:
    import json

    from app.node.status import format_status, node_status

    status = node_status(args.store)
    print(json.dumps(status, indent=2) if args.json else format_status(status))
    return 0


def _retry(args) -> int:
    from app.errors import InputError
    from app.node.queue import open_queue
    from app.store import resolve_store_dir

    with open_queue(resolve_store_dir(args.store)) as queue:
        if args.job == "failed":
            ids = [j.id for j in queue.jobs(state="failed")]
        else:
            try:
                ids = [int(args.job)]
            except ValueError:
                raise InputError(f"JOB {args.job!r}: not a job id (a number, or 'failed')") from None
        for job_id in ids:
            try:
                queue.retry(job_id)
            except KeyError:
                raise InputError(f"JOB {job_id}: no such job (see 'crescent node status')") from None
            except ValueError as exc:
                raise InputError(f"JOB {job_id}: {exc}; only failed jobs can be retried") from None
    print(f"queued again: {', '.join(map(str, ids)) or 'nothing (no failed jobs)'}")
    return 0


def run(args) -> int:
    action = args.node_command
    if action == "serve":
        return _serve(args)
    if action == "status":
        return _status(args)
    return _retry(args)
