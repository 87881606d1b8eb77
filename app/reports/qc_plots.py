"""Plots of the QC report (PNG bytes, matplotlib without pyplot): exposure per projection,
motion trace, dose against limits, trends."""

from __future__ import annotations

import io

import numpy as np

from recon.qc.results import CheckResult

__all__ = ["exposure_plot", "motion_plot", "dose_plot", "trend_plot", "plots_for"]

_FLAG = "#c0392b"
_OK = "#2c7fb8"


def _figure(w=6.0, h=2.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def exposure_plot(check: CheckResult) -> bytes:
    """Detector signal per projection with the prediction from its angle; flagged projections in red."""
    sig = np.asarray(check.data["signal"], float)
    pred = np.asarray(check.data["predicted"], float)
    v = np.arange(sig.size)
    fig = _figure()
    ax = fig.add_subplot(111)
    ax.plot(v, pred, "-", color="grey", label="predicted from angle")
    colors = [_FLAG if i in check.views else _OK for i in v]
    ax.scatter(v, sig, c=colors, zorder=3, label="measured")
    ax.set_xlabel("projection")
    ax.set_ylabel("signal under the breast")
    ax.set_title("Exposure per projection")
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


def motion_plot(check: CheckResult) -> bytes:
    """Mean displacement of the tracked features from their no-motion trajectories, per projection (mm)."""
    tr = np.asarray(check.data["trace_mm"], float)
    v = np.arange(tr.shape[0])
    fig = _figure()
    ax = fig.add_subplot(111)
    ax.plot(v, tr[:, 0], "o-", label="along the chest wall (y)", color=_OK)
    ax.plot(v, tr[:, 1], "s-", label="chest wall to nipple (x)", color="#41ab5d")
    for k in check.views:
        ax.axvline(k, color=_FLAG, alpha=0.3, lw=6)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("projection")
    ax.set_ylabel("displacement (mm)")
    ax.set_title(f"Motion trace ({check.data.get('features', '?')} features)")
    ax.legend(loc="best", fontsize=8)
    return _png(fig)


def dose_plot(check: CheckResult) -> bytes:
    """Cumulative AGD over the sweep against the warning level and the limit."""
    per = np.asarray(check.data["per_view_mgy"], float)
    lim = check.limit or {}
    fig = _figure()
    ax = fig.add_subplot(111)
    ax.bar(np.arange(per.size), np.cumsum(per), color=_OK, label="cumulative AGD")
    if "header_mgy" in check.data:
        ax.axhline(check.data["header_mgy"], color="black", ls=":", label="header Organ Dose")
    if "warn_mgy" in lim:
        ax.axhline(lim["warn_mgy"], color="#e6a100", ls="--", label=f"warning {lim['warn_mgy']} mGy")
    if "fail_mgy" in lim:
        ax.axhline(lim["fail_mgy"], color=_FLAG, ls="--", label=f"limit {lim['fail_mgy']} mGy")
    ax.set_xlabel("projection")
    ax.set_ylabel("AGD (mGy)")
    ax.set_title("Average glandular dose")
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


def trend_plot(name: str, points: list[tuple[str, float]], *, limit: float | None = None, lower_is_worse=True) -> bytes:
    """A QC figure over sessions (date label, value), with its limit."""
    fig = _figure()
    ax = fig.add_subplot(111)
    labels = [p[0] for p in points]
    vals = [np.nan if p[1] is None else float(p[1]) for p in points]
    ax.plot(range(len(vals)), vals, "o-", color=_OK)
    if limit is not None:
        ax.axhline(limit, color=_FLAG, ls="--", label=f"limit {limit:g}")
        ax.legend(loc="best", fontsize=8)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=7)
    ax.set_title(f"Trend: {name}")
    return _png(fig)


def plots_for(check: CheckResult) -> bytes | None:
    """The plot that belongs to a check, or None."""
    try:
        if check.name == "exposure":
            return exposure_plot(check)
        if check.name == "motion" and "trace_mm" in check.data:
            return motion_plot(check)
        if check.name == "dose":
            return dose_plot(check)
    except (KeyError, ValueError):
        return None
    return None
