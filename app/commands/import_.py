"""``crescent import PATH...``: index DICOM files and folders into the study store where they lie."""

from __future__ import annotations

NAME = "import"
HELP = "index DICOM files, folders and DICOMDIRs into the study store (files stay where they are)"
DESCRIPTION = (
    "Index DICOM files, folders (recursively) and DICOMDIRs into the study store; the files stay where they "
    "lie. Files already in the store are skipped; each bad file gets one line naming it and the reason, and the "
    "rest import. Exit status 0 when the files are in the store, 2 when nothing could be imported."
)


def add_arguments(parser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="DICOM files, folders or DICOMDIR files")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    import sys

    from app.progress import TerminalProgress
    from app.store import Store
    from app.store.importer import import_paths

    progress = None if args.quiet else TerminalProgress("import")
    with Store.open(args.store) as store:
        summary = import_paths(store, args.paths, progress=progress)
        root = store.root
    for line in summary.errors:
        print(f"crescent import: {line}", file=sys.stderr)
    print(f"{summary.text()}; store {root}")
    if summary.files == 0 and not summary.errors:
        print("crescent import: error: no files found under " + " ".join(args.paths), file=sys.stderr)
    return 0 if summary.imported_anything else 2
