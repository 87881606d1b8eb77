"""Key images of findings: a crop of the slice around each mark, windowed, outlined, with a 10 mm bar.

Rendered off-screen with matplotlib's Agg canvas (no pyplot, no display). Pixels come from a
``slice_source(sop_instance_uid, frame) -> 2-D array or None`` callable, in the same pixel
coordinates as the marks.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np

from app.model.findings import Finding
from app.model.marks import Mark
from app.reports.birads import KeyImage

SliceSource = Callable[[str, int], np.ndarray | None]


def _outline(mark: Mark) -> np.ndarray:
    p = np.asarray(mark.points, dtype=float)
    if mark.kind == "polygon":
        return np.vstack([p, p[:1]])
    if mark.kind == "ellipse":
        c = p[:2].mean(axis=0)
        a, b = (p[1] - p[0]) / 2.0, (p[3] - p[2]) / 2.0
        t = np.linspace(0, 2 * math.pi, 73)[:, None]
        return c + np.cos(t) * a + np.sin(t) * b
    return p


def render_mark(
    image: np.ndarray,
    mark: Mark,
    *,
    label: str = "",
    crop_mm: float = 40.0,
    size_px: int = 360,
    color: str = "#ffd21a",
) -> bytes:
    """PNG bytes of a square crop of ``image`` centred on ``mark``.

    Parameters
    ----------
    image : 2-D array
        The slice the mark was drawn on.
    mark : Mark
    label : str
        Caption drawn in the top-left corner.
    crop_mm : float
        Side of the crop in mm (grown to hold the whole mark).
    size_px : int
        Output width and height in pixels.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2 or img.size == 0:
        raise ValueError(f"image must be a non-empty 2-D array, got shape {img.shape}")
    if not isinstance(mark, Mark):
        raise TypeError("mark must be a Mark")
    dy, dx = mark.pixel_spacing_mm
    cx, cy = mark.center
    outline = _outline(mark)
    half_mm = max(crop_mm / 2.0, 1.3 * float(np.max(np.abs((outline - (cx, cy)) * (dx, dy)))))
    hc, hr = half_mm / dx, half_mm / dy
    c0, c1 = int(max(0, math.floor(cx - hc))), int(min(img.shape[1], math.ceil(cx + hc) + 1))
    r0, r1 = int(max(0, math.floor(cy - hr))), int(min(img.shape[0], math.ceil(cy + hr) + 1))
    crop = img[r0:r1, c0:c1]
    if crop.size == 0:
        raise ValueError(f"the mark at ({cx:.0f}, {cy:.0f}) lies outside the image {img.shape}")
    lo, hi = np.percentile(crop, [1, 99.5])
    if hi <= lo:
        hi = lo + 1.0

    fig = Figure(figsize=(size_px / 100.0, size_px / 100.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(
        crop,
        cmap="gray",
        vmin=lo,
        vmax=hi,
        interpolation="bilinear",
        extent=(c0 - 0.5, c1 - 0.5, r1 - 0.5, r0 - 0.5),
        aspect=dy / dx,
    )
    if mark.kind == "point":
        r = 3.0 / dx
        ax.plot([cx - 2 * r, cx - r], [cy, cy], color=color, lw=1.5)
        ax.plot([cx + r, cx + 2 * r], [cy, cy], color=color, lw=1.5)
        ax.plot([cx, cx], [cy - 2 * r * dx / dy, cy - r * dx / dy], color=color, lw=1.5)
        ax.plot([cx, cx], [cy + r * dx / dy, cy + 2 * r * dx / dy], color=color, lw=1.5)
    else:
        ax.plot(outline[:, 0], outline[:, 1], color=color, lw=1.5)
    # 10 mm scale bar, bottom right
    bar = 10.0 / dx
    x1 = c1 - 0.5 - 0.06 * (c1 - c0)
    y1 = r1 - 0.5 - 0.06 * (r1 - r0)
    ax.plot([x1 - bar, x1], [y1, y1], color="white", lw=2)
    ax.text(x1 - bar / 2, y1 - 0.02 * (r1 - r0), "10 mm", color="white", ha="center", va="bottom", fontsize=8)
    if label:
        ax.text(
            c0 + 0.03 * (c1 - c0),
            r0 + 0.03 * (r1 - r0),
            label,
            color=color,
            ha="left",
            va="top",
            fontsize=9,
            bbox={"facecolor": "black", "alpha": 0.5, "pad": 2, "edgecolor": "none"},
        )
    ax.set_xlim(c0 - 0.5, c1 - 0.5)
    ax.set_ylim(r1 - 0.5, r0 - 0.5)
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, facecolor="black")
    return buf.getvalue()


def key_image_renderer(slice_source: SliceSource, **options) -> Callable[[Finding], list[KeyImage]]:
    """A renderer for :func:`app.reports.birads.build_report`: one key image per mark whose slice is available."""

    def render(f: Finding) -> list[KeyImage]:
        out = []
        for m in f.marks:
            img = slice_source(m.sop_instance_uid, m.frame)
            if img is None:
                continue
            label = f"#{f.number} {m.laterality} {m.view} slice {m.frame + 1}"
            out.append(KeyImage(label, render_mark(img, m, label=label, **options), m.sop_instance_uid, m.frame))
        return out

    return render
