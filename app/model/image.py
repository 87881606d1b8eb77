"""Images as the viewer holds them: a slice stack (or one 2D image) plus display facts."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.model.orientation import display_flips, parse_patient_orientation
from app.model.windowing import auto_window

__all__ = ["IMAGE_KINDS", "DisplayImage"]

IMAGE_KINDS = ("tomo", "synthetic2d", "mammo", "projection")


@dataclass(eq=False)
class DisplayImage:
    """One displayable image: a DBT slice stack, a synthetic 2D, a mammogram or a projection.

    Parameters
    ----------
    data : float32 array (nz, ny, nx)
        The pixels; 2D images have ``nz == 1``. Kept as is (no copy, never modified).
    kind : {'tomo', 'synthetic2d', 'mammo', 'projection'}
    laterality : {'R', 'L'}
    view : str
        View code: 'CC', 'MLO', 'ML', 'XCCL', ...
    pixel_mm : (dy, dx)
        Pixel spacing, mm (for tomo: the in-plane voxel size).
    origin_mm : (y0, x0)
        Position of pixel (0, 0)'s centre in the detector frame, mm (to relate a synthetic 2D
        with its tomo stack).
    slice_heights_mm : array (nz,), optional
        Height of each slice above the detector, mm (tomo only).
    patient_orientation : (row_dir, col_dir), optional
        Patient Orientation of the array as stored; None means the Volume convention
        (columns from the chest wall toward the nipple).
    magnification : float
        Estimated radiographic magnification factor (1 for reconstructed slices, whose
        voxels are already at the object's size); used by life-size display.
    window : (centre, width), optional
        The image's own window (DICOM VOI), used by the 'default' preset.
    label : str
        Short caption; default "R CC", "R CC S2D", ...
    uid : str
        Identifier (SOP/series UID or file path) used to find the image again.
    metadata : dict
        Anything else the reader knew.
    """

    data: np.ndarray
    kind: str = "tomo"
    laterality: str = "R"
    view: str = "CC"
    pixel_mm: tuple[float, float] = (0.1, 0.1)
    origin_mm: tuple[float, float] = (0.0, 0.0)
    slice_heights_mm: np.ndarray | None = None
    patient_orientation: tuple[str, str] | None = None
    magnification: float = 1.0
    window: tuple[float, float] | None = None
    label: str = ""
    uid: str = ""
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        data = self.data
        if not isinstance(data, np.ndarray):
            raise TypeError(f"DisplayImage: data must be a numpy array, got {type(data).__name__}")
        if data.ndim == 2:
            data = data[np.newaxis]
        if data.ndim != 3 or min(data.shape) < 1:
            raise ValueError(f"DisplayImage: data must be (nz, ny, nx) or (ny, nx), got shape {self.data.shape}")
        if data.dtype != np.float32:
            raise TypeError(f"DisplayImage: data must be float32, got {data.dtype}")
        self.data = data
        if self.kind not in IMAGE_KINDS:
            raise ValueError(f"DisplayImage: kind must be one of {IMAGE_KINDS}, got {self.kind!r}")
        lat = str(self.laterality).upper()
        if lat not in ("R", "L"):
            raise ValueError(f"DisplayImage: laterality must be 'R' or 'L', got {self.laterality!r}")
        self.laterality = lat
        self.view = str(self.view).upper()
        px = tuple(float(v) for v in self.pixel_mm)
        if len(px) != 2 or not all(np.isfinite(v) and v > 0 for v in px):
            raise ValueError(f"DisplayImage: pixel_mm must be two positive sizes, got {self.pixel_mm}")
        self.pixel_mm = px
        self.origin_mm = tuple(float(v) for v in self.origin_mm)
        if self.slice_heights_mm is None:
            self.slice_heights_mm = np.arange(self.n_slices, dtype=np.float64)
        else:
            h = np.asarray(self.slice_heights_mm, dtype=np.float64).reshape(-1)
            if h.size != self.n_slices:
                raise ValueError(f"DisplayImage: {h.size} slice heights for {self.n_slices} slices")
            self.slice_heights_mm = h
        self.patient_orientation = parse_patient_orientation(self.patient_orientation)
        if not (np.isfinite(self.magnification) and self.magnification > 0):
            raise ValueError(f"DisplayImage: magnification must be > 0, got {self.magnification}")
        if self.window is not None:
            c, w = (float(v) for v in self.window)
            if not w > 0:
                raise ValueError(f"DisplayImage: window width must be > 0, got {w}")
            self.window = (c, w)
        if not self.label:
            suffix = {"tomo": "", "synthetic2d": " S2D", "mammo": " 2D", "projection": " proj"}[self.kind]
            self.label = f"{self.laterality} {self.view}{suffix}"
        self._auto_window: tuple[float, float] | None = None

    # -- shape -------------------------------------------------------------------------
    @property
    def n_slices(self) -> int:
        return int(self.data.shape[0])

    @property
    def rows(self) -> int:
        return int(self.data.shape[1])

    @property
    def cols(self) -> int:
        return int(self.data.shape[2])

    @property
    def is_stack(self) -> bool:
        """True when there is more than one slice to scroll through."""
        return self.n_slices > 1

    @property
    def slice_mm(self) -> float:
        """Slice spacing, mm (1 for single images)."""
        h = self.slice_heights_mm
        return float(np.median(np.diff(h))) if h.size > 1 else 1.0

    @property
    def extent_mm(self) -> tuple[float, float]:
        """Height and width of the image, mm."""
        return self.rows * self.pixel_mm[0], self.cols * self.pixel_mm[1]

    # -- depth -------------------------------------------------------------------------
    def height_mm(self, index: int) -> float:
        """Height of slice ``index`` above the detector, mm."""
        return float(self.slice_heights_mm[int(index)])

    def depth_fraction(self, index: int) -> float:
        """Relative depth of a slice: 0 at the first slice, 1 at the last."""
        n = self.n_slices
        if n < 2:
            return 0.5
        h = self.slice_heights_mm
        span = h[-1] - h[0]
        return float((h[int(index)] - h[0]) / span) if span else index / (n - 1)

    def slice_at_fraction(self, fraction: float) -> int:
        """The slice nearest a relative depth (inverse of :meth:`depth_fraction`)."""
        h = self.slice_heights_mm
        f = min(max(float(fraction), 0.0), 1.0)
        target = h[0] + f * (h[-1] - h[0])
        return int(np.argmin(np.abs(h - target)))

    def slab_slices(self, slab_mm: float) -> int:
        """Number of slices in a slab ``slab_mm`` thick (at least one)."""
        return max(1, int(round(float(slab_mm) / self.slice_mm)))

    # -- coordinates -------------------------------------------------------------------
    def index_to_mm(self, row: float, col: float) -> tuple[float, float]:
        """(row, col) pixel indices to (y, x) mm in the detector frame."""
        return self.origin_mm[0] + row * self.pixel_mm[0], self.origin_mm[1] + col * self.pixel_mm[1]

    def mm_to_index(self, y_mm: float, x_mm: float) -> tuple[float, float]:
        """(y, x) mm in the detector frame to fractional (row, col) indices."""
        return (y_mm - self.origin_mm[0]) / self.pixel_mm[0], (x_mm - self.origin_mm[1]) / self.pixel_mm[1]

    def value_at(self, index: int, row: int, col: int) -> float | None:
        """Pixel value of slice ``index`` at (row, col), or None outside the image."""
        if 0 <= index < self.n_slices and 0 <= row < self.rows and 0 <= col < self.cols:
            return float(self.data[int(index), int(row), int(col)])
        return None

    # -- display -----------------------------------------------------------------------
    def display_flips(self) -> tuple[bool, bool]:
        """(flip_h, flip_v) that put this image in the standard mammography display."""
        return display_flips(self.patient_orientation, self.laterality, self.view)

    @property
    def orientation(self) -> tuple[str, str]:
        """Patient Orientation as stored (the Volume convention when none was given)."""
        from app.model.orientation import default_volume_orientation

        return self.patient_orientation or default_volume_orientation(self.laterality, self.view)

    def auto_window(self) -> tuple[float, float]:
        """(centre, width) from the histogram of the whole stack (computed once)."""
        if self._auto_window is None:
            self._auto_window = auto_window(self.data)
        return self._auto_window

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_volume(cls, volume, **overrides) -> DisplayImage:
        """A tomo stack from a :class:`recon.Volume`.

        Display facts come from ``volume.metadata`` (keys ``laterality``, ``view``,
        ``patient_orientation``, ``window_center``/``window_width``, ``label``, ``uid``,
        ``kind``), overridden by keyword arguments.
        """
        from recon.types import Volume

        if not isinstance(volume, Volume):
            raise TypeError(f"DisplayImage.from_volume: expected a recon.Volume, got {type(volume).__name__}")
        md = dict(volume.metadata or {})
        grid = volume.grid
        kw = {
            "kind": md.get("kind", "tomo"),
            "laterality": md.get("laterality", "R"),
            "view": md.get("view", "CC"),
            "pixel_mm": (grid.voxel_mm[1], grid.voxel_mm[2]),
            "origin_mm": (grid.origin_mm[1], grid.origin_mm[2]),
            "slice_heights_mm": grid.z_mm,
            "patient_orientation": md.get("patient_orientation"),
            "magnification": float(md.get("magnification", 1.0)),
            "label": md.get("label", ""),
            "uid": md.get("uid", ""),
            "metadata": md,
        }
        if md.get("window_center") is not None and md.get("window_width") is not None:
            kw["window"] = (float(md["window_center"]), float(md["window_width"]))
        kw.update(overrides)
        return cls(volume.data, **kw)
