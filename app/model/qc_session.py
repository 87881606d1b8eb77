"""State of the QC mode, pure Python (no Qt): the projections, their checks, the current
projection, confirmations and the accept/reject decision, with events for the widgets.

Pure Python so that it runs in tests and batch code; the Qt widgets of the mode
(:mod:`app.qt.qc_mode`) only show it and forward the technologist's actions to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.dicom.kos_reject import REJECT_REASONS
from app.errors import InputError
from recon.qc.results import QCReport
from recon.types import ProjectionSet

__all__ = ["QCDecision", "QCSessionModel"]


@dataclass(frozen=True)
class QCDecision:
    decision: str  # accepted / rejected / repeated
    reason: str | None
    text: str
    by: str


class QCSessionModel:
    """One acquisition under technologist review.

    Parameters
    ----------
    projections : ProjectionSet
    report : QCReport
    on_decision : callable(QCDecision) -> object, optional
        Called when the technologist accepts or rejects (store the decision, write the KOS);
        what it returns is kept as :attr:`decision_record` (e.g. the KOS written) before the
        ``decision`` event. A :class:`~app.errors.CrescentError` it raises leaves the model
        undecided.
    trends : dict name -> list of (date, value), optional
        Device trends for the trend view.
    """

    def __init__(
        self,
        projections: ProjectionSet,
        report: QCReport,
        *,
        on_decision: Callable[[QCDecision], None] | None = None,
        trends: dict | None = None,
    ):
        if not isinstance(projections, ProjectionSet):
            raise TypeError("QCSessionModel: projections must be a recon.ProjectionSet")
        if not isinstance(report, QCReport):
            raise TypeError("QCSessionModel: report must be a recon.qc.QCReport")
        self.projections = projections
        self.report = report
        self.trends = dict(trends or {})
        self._on_decision = on_decision
        self._view = 0
        self._listeners: dict[str, list[Callable]] = {"view": [], "decision": [], "confirmation": []}
        self.confirmed: dict[str, bool] = {c.name: False for c in report.checks if c.needs_confirmation}
        self.decision: QCDecision | None = None
        self.decision_record = None
        flagged = report.flagged_views()
        self._flags = {v: flagged.get(v, []) for v in range(self.n_views)}
        self._display = self._display_frames()

    # -- events
    def subscribe(self, event: str, fn: Callable) -> None:
        if event not in self._listeners:
            raise ValueError(f"unknown event {event!r}")
        self._listeners[event].append(fn)

    def _emit(self, event: str, *args) -> None:
        for fn in list(self._listeners[event]):
            fn(*args)

    # -- projections
    @property
    def n_views(self) -> int:
        return int(self.projections.data.shape[0])

    @property
    def view(self) -> int:
        return self._view

    def set_view(self, v: int) -> None:
        v = int(v)
        if not 0 <= v < self.n_views:
            raise ValueError(f"projection {v} outside 0-{self.n_views - 1}")
        if v != self._view:
            self._view = v
            self._emit("view", v)

    def next_view(self) -> None:
        """Cine step (wraps around)."""
        self.set_view((self._view + 1) % self.n_views)

    def previous_view(self) -> None:
        """Cine step back (wraps around)."""
        self.set_view((self._view - 1) % self.n_views)

    def flags(self, v: int) -> list[str]:
        """Names of the non-passing checks that name projection ``v``."""
        return list(self._flags.get(int(v), []))

    def display_frame(self, v: int) -> np.ndarray:
        """8-bit image of projection ``v`` (attenuation, one window for the whole sweep)."""
        return self._display[int(v)]

    def _display_frames(self) -> np.ndarray:
        d = self.projections.data
        att = d if self.projections.is_line_integral else -np.log(np.maximum(d, 1.0))
        lo, hi = np.percentile(att, [1, 99.5])
        scaled = np.clip((att - lo) / max(hi - lo, 1e-6), 0, 1)
        return (scaled * 255).astype(np.uint8)

    # -- checklist and decision
    def confirm(self, check_name: str, confirmed: bool = True) -> None:
        if check_name not in self.confirmed:
            raise ValueError(f"{check_name!r} needs no confirmation")
        self.confirmed[check_name] = bool(confirmed)
        self._emit("confirmation", check_name, bool(confirmed))

    def accept(self, *, by: str) -> QCDecision:
        return self._decide(QCDecision("accepted", None, "", by))

    def reject(self, *, reason: str, text: str = "", by: str, repeat: bool = False) -> QCDecision:
        if reason not in REJECT_REASONS:
            raise InputError(f"reject reason {reason!r}: must be one of {', '.join(REJECT_REASONS)}")
        return self._decide(QCDecision("repeated" if repeat else "rejected", reason, text, by))

    def _decide(self, d: QCDecision) -> QCDecision:
        if not d.by:
            raise InputError("a QC decision needs the technologist's name")
        record = self._on_decision(d) if self._on_decision is not None else None
        self.decision = d
        self.decision_record = record
        self._emit("decision", d)
        return d
