"""``crescent pacs``: configure PACS peers, echo, query, retrieve into the store, send."""

from __future__ import annotations

import re

NAME = "pacs"
HELP = "talk to a PACS: peers, add, remove, echo, find, retrieve, send"
DESCRIPTION = (
    "Talk to a PACS. A PEER is the name of a peer in config.toml (see 'crescent pacs peers') or AET@HOST:PORT. "
    "Retrieved studies go into the study store; C-MOVE sends them to our own Storage SCP, which the PACS must "
    "know by our AE title, host and port ([local] in config.toml, or --local-aet/--local-port)."
)

_PEER_SPEC = re.compile(r"^(?P<aet>[^@]{1,16})@(?P<host>[^:@\s]+):(?P<port>\d{1,5})\Z")


def add_arguments(parser) -> None:
    common = parser.add_argument_group("our AE (override config.toml [local])")
    common.add_argument("--local-aet", metavar="AET", help="our AE title (calling AE, C-MOVE destination)")
    common.add_argument("--local-host", metavar="HOST", help="address our Storage SCP listens on for C-MOVE")
    common.add_argument("--local-port", metavar="PORT", type=int, help="port our Storage SCP listens on for C-MOVE")
    common.add_argument("--timeout", metavar="S", type=float, help="association and response time limit, seconds")
    common.add_argument("--config", metavar="FILE", help="configuration file (default: the user config folder)")
    sub = parser.add_subparsers(dest="pacs_command", metavar="ACTION", required=True)

    sub.add_parser("peers", help="list the configured peers")

    p = sub.add_parser("add", help="add (or replace) a peer in config.toml")
    p.add_argument("name", help="the peer's name (letters, digits, '_', '-')")
    p.add_argument("aet", help="its AE title")
    p.add_argument("host", help="its host name or address")
    p.add_argument("port", type=int, help="its DICOM port")

    p = sub.add_parser("remove", help="remove a peer from config.toml")
    p.add_argument("name")

    p = sub.add_parser("echo", help="check that a peer answers (C-ECHO)")
    p.add_argument("peer", metavar="PEER")

    p = sub.add_parser("find", help="query studies (or the series of one study) (C-FIND)")
    p.add_argument("peer", metavar="PEER")
    p.add_argument("--patient-id", metavar="ID")
    p.add_argument("--patient-name", metavar="NAME", help="DICOM wildcards allowed: 'DOE^*'")
    p.add_argument("--date", metavar="YYYYMMDD[-YYYYMMDD]", help="study date or range")
    p.add_argument("--accession", metavar="NUMBER")
    p.add_argument("--modality", metavar="MOD", help="modality in study, e.g. MG")
    p.add_argument("--study", metavar="UID", help="list this study's series instead")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = sub.add_parser("retrieve", help="retrieve a study or series into the store (C-MOVE or C-GET)")
    p.add_argument("peer", metavar="PEER")
    p.add_argument("study", metavar="STUDY_UID")
    p.add_argument("--series", metavar="UID", help="only this series")
    p.add_argument("--method", choices=["move", "get"], default="move", help="C-MOVE (default) or C-GET")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("send", help="send files, folders or store studies (C-STORE)")
    p.add_argument("peer", metavar="PEER")
    p.add_argument("items", nargs="+", metavar="PATH|STUDY_UID", help="DICOM files, folders, or studies in the store")
    p.add_argument(
        "--derived", action="store_true", help="for store studies: only what Crescent made (volumes, CAD SR, reports)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _config(args):
    from app.config import load_config

    return load_config(args.config) if args.config else load_config()


def _local(args, config):
    from dataclasses import replace

    from app.errors import InputError

    local = config.local
    changes = {}
    if args.local_aet is not None:
        changes["ae_title"] = args.local_aet
    if args.local_host is not None:
        changes["host"] = args.local_host
    if args.local_port is not None:
        changes["port"] = args.local_port
    if args.timeout is not None:
        changes["timeout_s"] = args.timeout
    try:
        return replace(local, **changes) if changes else local
    except InputError as exc:  # the validators name the key (local.port, ...)
        raise InputError(f"command line: {exc}") from None


def _peer(spec: str, config):
    from app.config import Peer

    match = _PEER_SPEC.match(spec)
    if match:
        return Peer("command-line", match["aet"], match["host"], int(match["port"]))
    return config.peer(spec)


def run(args) -> int:
    import sys

    config = _config(args)
    action = args.pacs_command
    if action == "peers":
        if not config.peers:
            print("no PACS peers configured (add one with 'crescent pacs add NAME AET HOST PORT')")
        for p in config.peers:
            print(f"{p.name}\t{p.ae_title}@{p.host}:{p.port}")
        return 0
    if action in ("add", "remove"):
        from app.config import Peer, config_path, save_config

        config = (
            config.with_peer(Peer(args.name, args.aet, args.host, args.port))
            if action == "add"
            else (config.without_peer(args.name))
        )
        path = save_config(config, args.config or config_path())
        print(f"{'added' if action == 'add' else 'removed'} peer {args.name} in {path}")
        return 0

    local = _local(args, config)
    peer = _peer(args.peer, config)
    if action == "echo":
        from app.dicom.net import echo

        seconds = echo(peer, local=local)
        print(f"PACS {peer} answered C-ECHO in {1000 * seconds:.0f} ms")
        return 0
    if action == "find":
        return _find(args, peer, local)
    if action == "retrieve":
        from app.dicom.net import retrieve
        from app.progress import TerminalProgress
        from app.store import Store

        with Store.open(args.store) as store:
            result = retrieve(
                peer,
                args.study,
                store=store,
                local=local,
                series_uid=args.series,
                method=args.method,
                progress=None if args.quiet else TerminalProgress("retrieve"),
            )
            root = store.root
        for line in result.errors:
            print(f"crescent pacs: {line}", file=sys.stderr)
        print(f"{result.text()}; store {root}")
        return 0 if result.received and not result.failed and not result.errors else 1
    if action == "send":
        return _send(args, peer, local)
    raise AssertionError(action)


def _find(args, peer, local) -> int:
    import json
    from dataclasses import asdict

    from app.dicom.net import find_series, find_studies

    if args.study:
        rows = find_series(peer, args.study, local=local, modality=args.modality)
        if args.json:
            print(json.dumps([asdict(r) for r in rows], indent=2))
        else:
            for r in rows:
                count = "?" if r.instance_count is None else r.instance_count
                print(f"{r.series_uid}\t{r.modality}\t#{r.series_number}\t{count} instances\t{r.description}")
        return 0
    rows = find_studies(
        peer,
        local=local,
        patient_id=args.patient_id,
        patient_name=args.patient_name,
        study_date=args.date,
        accession=args.accession,
        modality=args.modality,
    )
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        for r in rows:
            print(
                f"{r.study_uid}\t{r.study_date}\t{r.patient_id}\t{r.patient_name}\t"
                f"{'/'.join(r.modalities)}\t{r.description}"
            )
        print(f"{len(rows)} stud{'ies' if len(rows) != 1 else 'y'}")
    return 0


def _send(args, peer, local) -> int:
    import sys
    from pathlib import Path

    from app.dicom.net import send
    from app.errors import InputError
    from app.progress import TerminalProgress
    from app.store.importer import collect_files

    paths: list[Path] = []
    errors: list[str] = []
    uids = [item for item in args.items if not Path(item).exists() and re.fullmatch(r"[0-9.]+", item)]
    files, errs = collect_files([item for item in args.items if item not in uids])
    paths += files
    errors += errs
    if uids:
        from app.store import Store

        with Store.open(args.store) as store:
            for uid in uids:
                if args.derived:
                    found = [d.path for d in store.derived(study_uid=uid) if d.sop_instance_uid]
                    store.files(uid)  # raises for an unknown study
                else:
                    found = store.files(uid)
                if not found:
                    errors.append(f"study {uid}: nothing to send")
                paths += found
    if not paths:
        for line in errors:
            print(f"crescent pacs: {line}", file=sys.stderr)
        raise InputError("nothing to send")
    result = send(peer, paths, local=local, progress=None if args.quiet else TerminalProgress("send"))
    for line in errors + result.errors:
        print(f"crescent pacs: {line}", file=sys.stderr)
    print(result.text())
    return 0 if not (errors or result.errors) else 1
