"""``crescent view``: open the workstation, or render a layout to a PNG and exit."""

from __future__ import annotations

NAME = "view"
HELP = "open studies in the reading workstation (or save a screenshot with --screenshot)"


def add_arguments(parser) -> None:
    parser.add_argument("study", nargs="*", help="files, folders, or Study Instance UIDs in the store")
    parser.add_argument("--screenshot", metavar="OUT.png", help="render, save the picture and exit")
    parser.add_argument("--layout", choices=["4view", "cc", "mlo", "single"], default="4view")
    parser.add_argument("--slice", type=int, default=None, metavar="K", help="0-based slice to show")


def run(args) -> int:
    from app.qt.application import ensure_application, save_screenshot
    from app.qt.main_window import QtMainWindow

    app = ensure_application()
    window = QtMainWindow()
    window.show()
    if args.screenshot:
        app.processEvents()
        window.render_all()
        path = save_screenshot(window, args.screenshot)
        print(path)
        window.close()
        return 0
    return app.exec()
