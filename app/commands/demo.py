"""``crescent demo``: write the synthetic demo exam, import it, and open it in the workstation."""

from __future__ import annotations

NAME = "demo"
HELP = "write a synthetic 4-view DBT screening exam, import it into the store and open it"
DESCRIPTION = (
    "Writes a complete synthetic screening exam (RCC, LCC, RMLO, LMLO: projections, reconstructed "
    "volumes and synthetic 2D, findings in the left breast) into DIR, imports it into the store, runs "
    "CAD on the volumes (results kept in the store) and opens it in the workstation. --no-gui stops "
    "after the import and CAD; --screenshot renders the 4-view hanging in a real window, saves it "
    "and exits."
)


def add_arguments(parser) -> None:
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="folder to write the exam into")
    parser.add_argument("--no-gui", action="store_true", help="do not open the workstation")
    parser.add_argument("--screenshot", metavar="OUT.png", help="save a picture of the 4-view hanging and exit")
    parser.add_argument("--small", action="store_true", help="a tiny exam (for tests)")
    parser.add_argument("--seed", type=int, default=2026, metavar="N")
    parser.add_argument("--no-cad", action="store_true", help="do not run CAD on the volumes")


def run(args) -> int:
    from pathlib import Path

    from app.demo import make_demo, run_demo_cad
    from app.errors import InputError
    from app.progress import TerminalProgress
    from app.store import Store
    from app.store.importer import import_paths

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    result = make_demo(
        out, size="small" if args.small else "standard", seed=args.seed, progress=TerminalProgress("demo")
    )
    with Store.open(getattr(args, "store", None)) as store:
        summary = import_paths(store, [out])
        store_root = store.root
        if not args.no_cad:
            scores = run_demo_cad(result, store, progress=TerminalProgress("demo CAD"))
            for view, score in scores.items():
                print(f"CAD {view}: case score {score:.0f}")
    print(
        f"demo study {result.study_uid}: {len(result.files)} views written to {out}, "
        f"imported into {store_root} ({summary.added} files added, {summary.duplicates} already there)"
    )
    if args.no_gui and not args.screenshot:
        return 0
    from app.cli import main as crescent

    view_args = ["--store", str(store_root), "view", result.study_uid, "--layout", "4view"]
    if args.screenshot:
        view_args += ["--screenshot", args.screenshot]
    return crescent(view_args)
