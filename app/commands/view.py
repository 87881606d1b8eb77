"""``crescent view``: open the workstation, or render a layout to a PNG and exit."""

from __future__ import annotations

NAME = "view"
HELP = "open studies in the reading workstation (or save a screenshot with --screenshot)"
DESCRIPTION = (
    "Open studies in the reading workstation. STUDY is a file or folder (DICOM, or .npz images) "
    "or a Study Instance UID in the store; without STUDY the worklist of the store is shown. "
    "With --screenshot the chosen layout is rendered in a real window, saved as PNG, and the "
    "program exits. --demo opens a synthetic study. A study with a Study Instance UID opens as the "
    "reader left it (protocol, stage, slices, windows; unless --layout/--stage/--slice say otherwise), "
    "with its BI-RADS findings; projection sets without a volume are reconstructed in the background."
)
_LAYOUTS = {"4view": "4view", "cc": "cc", "mlo": "mlo", "single": "single", "s2d": "s2d-tomo"}


def add_arguments(parser) -> None:
    parser.add_argument("study", nargs="*", help="files, folders, or Study Instance UIDs in the store")
    parser.add_argument("--screenshot", metavar="OUT.png", help="render, save the picture and exit")
    parser.add_argument(
        "--layout", choices=list(_LAYOUTS), default=None, help="hanging protocol (default: as left, else 4view)"
    )
    parser.add_argument("--stage", type=int, default=0, metavar="N", help="0-based protocol stage to show")
    parser.add_argument("--slice", type=int, default=None, metavar="K", help="0-based slice to show")
    parser.add_argument("--slab", type=float, default=None, metavar="MM", help="slab thickness, mm")
    parser.add_argument("--mip", action="store_true", help="slabs as maximum intensity projections")
    parser.add_argument("--size", default="1600x1000", metavar="WxH", help="window size (default 1600x1000)")
    parser.add_argument("--demo", action="store_true", help="open a synthetic 4-view study with known content")


def _load(args):
    from pathlib import Path

    from app.errors import InputError
    from app.model.loading import load_paths, load_store_study, looks_like_uid

    if args.demo:
        from app.model.demo import demo_study

        return demo_study(shape=(40, 600, 800), pixel_mm=0.1), []
    if not args.study:
        return None, []
    files = [s for s in args.study if Path(s).exists()]
    uids = [s for s in args.study if not Path(s).exists()]
    for s in uids:
        if not looks_like_uid(s):
            raise InputError(f"{s}: no such file or folder, and not a Study Instance UID")
    if files and uids:
        raise InputError("give either files/folders or one Study Instance UID, not both")
    if len(uids) > 1:
        raise InputError(f"one study at a time: {len(uids)} Study Instance UIDs given")
    store_dir = getattr(args, "store", None)
    result = load_store_study(uids[0], store_dir=store_dir) if uids else load_paths(files)
    return result.study, result.projections


def run(args) -> int:
    import re

    from app.errors import InputError

    m = re.fullmatch(r"(\d+)x(\d+)", args.size or "")
    if not m:
        raise InputError(f"--size must be WIDTHxHEIGHT, got {args.size!r}")
    if args.slab is not None and not 0 <= args.slab <= 10:
        raise InputError(f"--slab must be between 0 and 10 mm, got {args.slab}")
    study, projections = _load(args)

    from app.qt.application import ensure_application, save_screenshot
    from app.qt.main_window import QtMainWindow

    app = ensure_application()
    worklist = None
    if study is None:
        from app.errors import CrescentError
        from app.model.loading import worklist_from_store

        try:
            worklist = worklist_from_store(store_dir=getattr(args, "store", None))
        except CrescentError:
            worklist = None
    window = QtMainWindow(worklist=worklist, store_dir=getattr(args, "store", None))
    window.resize(int(m.group(1)), int(m.group(2)))
    if study is not None:
        window.add_studies([study])
        explicit = args.layout is not None or args.stage or args.slice is not None
        window.open_study(
            study,
            protocol_id=_LAYOUTS[args.layout or "4view"] if explicit else None,
            read_only=bool(args.screenshot),  # a picture changes neither status nor saved state
        )
        if args.stage:
            window.session.goto_stage(args.stage)
        for vp in window.session.viewports:
            if vp.image is None:
                continue
            if args.slice is not None and vp.image.is_stack:
                if not 0 <= args.slice < vp.image.n_slices:
                    raise InputError(f"--slice {args.slice} outside 0..{vp.image.n_slices - 1} of {vp.image.label}")
                vp.slice_index = args.slice
            if args.slab is not None:
                vp.slab_mm = args.slab
            if args.mip:
                vp.slab_mode = "mip"
    if args.screenshot:
        if study is not None:
            window.worklist_dock.hide()
            if window.findings_ui is not None:
                window.findings_ui.dock.hide()
                window.findings_ui.assessment_dock.hide()
        window.show()
        for _ in range(10):
            app.processEvents()
        window.render_all()
        path = save_screenshot(window, args.screenshot)
        print(path)
        window.close()
        return 0
    window.show()
    for ps in projections:
        window.reconstruct(ps)
    return app.exec()
