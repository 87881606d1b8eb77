"""Every command a reader repeats, with its keyboard shortcut: one table feeds the menus,
the shortcuts and the help panel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6 import QtGui, QtWidgets

__all__ = ["ActionSpec", "action_specs", "build_actions", "QtHelpPanel"]


@dataclass(frozen=True)
class ActionSpec:
    """A command: id, menu text, shortcuts (Qt key sequences), menu and handler ``fn(window)``."""

    id: str
    text: str
    shortcuts: tuple[str, ...]
    menu: str
    fn: Callable


def _vp(fn):
    """Handler applying ``fn(viewport_state)`` to the active viewport (if it shows an image)."""

    def handler(window):
        vp = window.session.active_viewport
        if vp is not None and vp.image is not None:
            fn(vp)

    return handler


def _toggle(name):
    return _vp(lambda vp: setattr(vp, name, not getattr(vp, name)))


def _all(fn):
    def handler(window):
        window.session.all_viewports(fn)

    return handler


def _tool(name):
    def handler(window):
        window.session.tool = name

    return handler


def _set_slice(which):
    return _vp(lambda vp: setattr(vp, "slice_index", 0 if which == "first" else vp.n_slices - 1))


def _loupe_auto(window):
    vp = window.session.active_viewport
    for qvp in window.area.viewports:
        if qvp.state is vp:
            w = qvp.vtk.view.loupe.local_window()
            if w is not None:
                vp.loupe_window = w


def _clear_rulers(window):
    vp = window.session.active_viewport
    if vp is not None:
        for item in [it for it in vp.overlays if it.source == "ruler"]:
            vp.overlays.remove(item)


def action_specs() -> list[ActionSpec]:
    """The command table (menus, shortcuts and help panel are built from it)."""
    S = ActionSpec
    specs = [
        S("slice_next", "Next slice", ("Up",), "Slices", _vp(lambda vp: vp.scroll(1))),
        S("slice_prev", "Previous slice", ("Down",), "Slices", _vp(lambda vp: vp.scroll(-1))),
        S("page_up", "Jump up (a tenth of the stack)", ("PgUp",), "Slices", _vp(lambda vp: vp.page(1))),
        S("page_down", "Jump down", ("PgDown",), "Slices", _vp(lambda vp: vp.page(-1))),
        S("slice_first", "First slice", ("Home",), "Slices", _set_slice("first")),
        S("slice_last", "Last slice", ("End",), "Slices", _set_slice("last")),
        S("cine", "Cine play/stop", ("Space",), "Slices", _toggle("cine_playing")),
        S("cine_faster", "Cine faster", ("]",), "Slices", _vp(lambda vp: setattr(vp, "cine_fps", vp.cine_fps + 2))),
        S("cine_slower", "Cine slower", ("[",), "Slices", _vp(lambda vp: setattr(vp, "cine_fps", vp.cine_fps - 2))),
        S("slab_thicker", "Thicker slab (+1 mm)", ("T",), "Slices", _vp(lambda vp: vp.change_slab(1.0))),
        S("slab_thinner", "Thinner slab (-1 mm)", ("Shift+T",), "Slices", _vp(lambda vp: vp.change_slab(-1.0))),
        S("slab_mode", "Slab: MIP / average", ("M",), "Slices", _vp(lambda vp: vp.toggle_slab_mode())),
        S(
            "link",
            "Linked scrolling on/off",
            ("K",),
            "Slices",
            lambda w: setattr(w.session, "link_scrolling", not w.session.link_scrolling),
        ),
        S("wl_auto", "Window: auto (histogram)", ("A",), "Window", _vp(lambda vp: vp.apply_window_preset("auto"))),
        S("wl_default", "Window: image default", ("1",), "Window", _vp(lambda vp: vp.apply_window_preset("default"))),
        S("wl_wide", "Window: wide", ("2",), "Window", _vp(lambda vp: vp.apply_window_preset("wide"))),
        S(
            "wl_narrow",
            "Window: narrow (calcifications)",
            ("3",),
            "Window",
            _vp(lambda vp: vp.apply_window_preset("narrow")),
        ),
        S("invert", "Invert", ("I",), "Window", _toggle("invert")),
        S("fit", "Fit to viewport", ("F",), "Zoom", _vp(lambda vp: vp.set_scale_mode("fit"))),
        S(
            "one_to_one",
            "1:1 (one image pixel per screen pixel)",
            ("O",),
            "Zoom",
            _vp(lambda vp: vp.set_scale_mode("pixel")),
        ),
        S("life_size", "Life size", ("L",), "Zoom", _vp(lambda vp: vp.set_scale_mode("life"))),
        S("zoom_in", "Zoom in", ("=", "+"), "Zoom", _vp(lambda vp: vp.zoom_by(1.25))),
        S("zoom_out", "Zoom out", ("-",), "Zoom", _vp(lambda vp: vp.zoom_by(0.8))),
        S("loupe", "Magnifier loupe on/off", ("Z",), "Zoom", _toggle("loupe_enabled")),
        S("loupe_auto", "Loupe: auto window of its region", ("Shift+Z",), "Zoom", _loupe_auto),
        S(
            "loupe_reset",
            "Loupe: same window as the view",
            ("Ctrl+Z",),
            "Zoom",
            _vp(lambda vp: setattr(vp, "loupe_window", None)),
        ),
        S(
            "overlays",
            "Text overlays on/off",
            ("X",),
            "View",
            _all(lambda vp: setattr(vp, "overlays_visible", not vp.overlays_visible)),
        ),
        S("next_stage", "Next hanging stage", ("N",), "View", lambda w: w.session.next_stage()),
        S("prev_stage", "Previous hanging stage", ("Shift+N", "B"), "View", lambda w: w.session.previous_stage()),
        S("next_viewport", "Next viewport", ("Tab",), "View", lambda w: w.session.next_viewport()),
        S("tool_window", "Tool: window/level (click: jump to focus)", ("W", "Esc"), "Tools", _tool("window")),
        S("tool_pan", "Tool: pan", ("H",), "Tools", _tool("pan")),
        S("tool_zoom", "Tool: zoom", ("Q",), "Tools", _tool("zoom")),
        S("tool_ruler", "Tool: ruler (mm)", ("R",), "Tools", _tool("ruler")),
        S("tool_probe", "Tool: pixel probe", ("V",), "Tools", _tool("probe")),
        S("tool_focus", "Tool: jump to focus", ("J",), "Tools", _tool("focus")),
        S("clear_rulers", "Clear rulers", ("Delete",), "Tools", _clear_rulers),
        S("tool_birads_point", "Finding: place a point", ("P",), "Findings", _tool("birads_point")),
        S("tool_birads_ellipse", "Finding: draw an ellipse (drag)", ("E",), "Findings", _tool("birads_ellipse")),
        S(
            "tool_birads_polygon",
            "Finding: draw a polygon (click vertices, double-click or Enter closes)",
            ("G",),
            "Findings",
            _tool("birads_polygon"),
        ),
        S(
            "finish_outline",
            "Close the polygon being drawn",
            ("Return", "Enter"),
            "Findings",
            lambda w: w.finish_outline(),
        ),
        S("findings_panel", "Show/hide findings and assessment", ("F3",), "Findings", lambda w: w.toggle_findings()),
        S("report", "Write the report (PDF, HTML, DICOM SR)", ("Ctrl+P",), "Findings", lambda w: w.write_report()),
        S("help", "Keyboard shortcuts", ("F1", "?"), "Help", lambda w: w.show_help()),
        S("worklist", "Show/hide worklist", ("F2",), "View", lambda w: w.toggle_worklist()),
        S("open", "Open files or folder…", ("Ctrl+O",), "File", lambda w: w.open_dialog()),
        S("reconstruct", "Reconstruct projections…", ("Ctrl+R",), "File", lambda w: w.reconstruct_dialog()),
        S("screenshot", "Save screenshot…", ("Ctrl+Shift+S",), "File", lambda w: w.screenshot_dialog()),
        S("quit", "Quit", ("Ctrl+Q",), "File", lambda w: w.close()),
    ]
    for i, pid in enumerate(("4view", "cc", "mlo", "single", "s2d-tomo"), start=1):
        specs.append(
            S(
                f"protocol_{pid}",
                f"Hanging: {pid}",
                (f"Ctrl+{i}",),
                "View",
                (lambda p: lambda w: w.session.set_protocol(p))(pid),
            )
        )
    return specs


def add_menu_actions(window, menu: QtWidgets.QMenu, specs: list[ActionSpec]) -> dict[str, QtGui.QAction]:
    """QActions with shortcuts for ``specs``, added to ``menu`` and to ``window`` (by id)."""
    actions = {}
    for spec in specs:
        act = QtGui.QAction(spec.text, window)
        act.setObjectName(spec.id)
        act.setShortcuts([QtGui.QKeySequence(s) for s in spec.shortcuts])
        act.triggered.connect(lambda checked=False, fn=spec.fn: fn(window))
        menu.addAction(act)
        window.addAction(act)
        actions[spec.id] = act
    return actions


def build_actions(window, specs: list[ActionSpec]) -> dict[str, QtGui.QAction]:
    """QActions with shortcuts on ``window``, grouped into its menu bar."""
    menus: dict[str, QtWidgets.QMenu] = {}
    for name in ("File", "View", "Slices", "Window", "Zoom", "Tools"):
        menus[name] = window.menuBar().addMenu(name)
    actions = {}
    for spec in specs:
        menu = menus.get(spec.menu)
        if menu is None:
            menu = menus[spec.menu] = window.menuBar().addMenu(spec.menu)
        actions.update(add_menu_actions(window, menu, [spec]))
    return actions


class QtHelpPanel(QtWidgets.QDialog):
    """Lists every command with its shortcut, and the mouse bindings."""

    MOUSE = (
        ("Wheel", "Next/previous slice (Shift: 5 slices; Ctrl: zoom)"),
        ("Left drag", "Active tool (default: window/level; right widens, down brightens)"),
        ("Left click on a 2D image or a slab", "Jump the DBT stack to the slice where that point is in focus"),
        ("Left drag with a finding tool (P, E, G)", "Place a BI-RADS finding: point, ellipse, polygon vertices"),
        ("Double click with the polygon tool", "Close the polygon (or Enter)"),
        ("Middle drag", "Pan"),
        ("Right drag", "Zoom"),
        ("Slider beside a viewport", "Drag through the slices"),
    )

    def __init__(self, specs: list[ActionSpec], parent=None, *, extra_tools=()):
        super().__init__(parent)
        self.setWindowTitle("Crescent: keyboard shortcuts")
        self.resize(620, 720)
        table = QtWidgets.QTableWidget(0, 3, self)
        table.setObjectName("shortcuts_table")
        table.setHorizontalHeaderLabels(["Keys", "Command", "Group"])
        table.verticalHeader().hide()
        table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        rows = [(", ".join(s.shortcuts), s.text, s.menu) for s in specs]
        rows += [(k, v, "Mouse") for k, v in self.MOUSE]
        rows += [(t.shortcut or "", f"Tool: {t.title}", "Plug-in tools") for t in extra_tools]
        for keys, text, group in rows:
            r = table.rowCount()
            table.insertRow(r)
            for c, v in enumerate((keys, text, group)):
                table.setItem(r, c, QtWidgets.QTableWidgetItem(v))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(table)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close, parent=self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.table = table
