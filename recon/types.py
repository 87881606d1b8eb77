"""Data that crosses package boundaries: volume grids, projection sets and volumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recon.geometry import Geometry

__all__ = ["VolumeGrid", "ProjectionSet", "Volume"]


def _float32_array(name: str, data, ndim: int) -> np.ndarray:
    if not isinstance(data, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(data).__name__}")
    if data.dtype != np.float32:
        raise TypeError(f"{name} must be float32, got {data.dtype}")
    if data.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {data.shape}")
    return data


@dataclass(frozen=True)
class VolumeGrid:
    """Voxel grid of a reconstructed volume in the detector frame.

    All three tuples are in array order (z, y, x).

    Parameters
    ----------
    shape : (nz, ny, nx)
        Slices (along z, 0 nearest the breast support), rows (along y), columns (along x).
    voxel_mm : (dz, dy, dx)
        Slice spacing and in-plane voxel size, mm.
    origin_mm : (z0, y0, x0)
        Centre of voxel [0, 0, 0], mm: z0 is the height of slice 0's centre above the
        detector surface.
    """

    shape: tuple[int, int, int]
    voxel_mm: tuple[float, float, float]
    origin_mm: tuple[float, float, float]

    def __post_init__(self):
        shape = tuple(int(s) for s in self.shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"VolumeGrid: shape must be three positive sizes (nz, ny, nx), got {self.shape}")
        vox = tuple(float(v) for v in self.voxel_mm)
        if len(vox) != 3 or not all(np.isfinite(v) and v > 0 for v in vox):
            raise ValueError(f"VolumeGrid: voxel_mm must be three positive sizes, got {self.voxel_mm}")
        org = tuple(float(v) for v in self.origin_mm)
        if len(org) != 3 or not all(np.isfinite(v) for v in org):
            raise ValueError(f"VolumeGrid: origin_mm must be three finite values, got {self.origin_mm}")
        if org[0] - vox[0] / 2 < -1e-9:
            raise ValueError(f"VolumeGrid: slice 0 (centre {org[0]} mm) reaches below the detector")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "voxel_mm", vox)
        object.__setattr__(self, "origin_mm", org)

    @property
    def z_mm(self) -> np.ndarray:
        """Height of each slice centre above the detector, mm."""
        return self.origin_mm[0] + self.voxel_mm[0] * np.arange(self.shape[0])

    @property
    def y_mm(self) -> np.ndarray:
        """y of each row centre, mm."""
        return self.origin_mm[1] + self.voxel_mm[1] * np.arange(self.shape[1])

    @property
    def x_mm(self) -> np.ndarray:
        """x of each column centre, mm."""
        return self.origin_mm[2] + self.voxel_mm[2] * np.arange(self.shape[2])

    @property
    def n_voxels(self) -> int:
        return int(np.prod(self.shape))

    def index_to_mm(self, index) -> np.ndarray:
        """(slice, row, column) fractional indices to (x, y, z) mm; accepts (N, 3)."""
        idx = np.asarray(index, dtype=np.float64)
        z = self.origin_mm[0] + idx[..., 0] * self.voxel_mm[0]
        y = self.origin_mm[1] + idx[..., 1] * self.voxel_mm[1]
        x = self.origin_mm[2] + idx[..., 2] * self.voxel_mm[2]
        return np.stack([x, y, z], axis=-1)

    def mm_to_index(self, point_mm) -> np.ndarray:
        """(x, y, z) mm to fractional (slice, row, column) indices; accepts (N, 3)."""
        p = np.asarray(point_mm, dtype=np.float64)
        k = (p[..., 2] - self.origin_mm[0]) / self.voxel_mm[0]
        j = (p[..., 1] - self.origin_mm[1]) / self.voxel_mm[1]
        i = (p[..., 0] - self.origin_mm[2]) / self.voxel_mm[2]
        return np.stack([k, j, i], axis=-1)

    @classmethod
    def for_geometry(
        cls,
        geometry: Geometry,
        thickness_mm: float,
        *,
        slice_mm: float = 1.0,
        pixel_mm: float | None = None,
        extent_x_mm: float | None = None,
        extent_y_mm: float | None = None,
    ) -> VolumeGrid:
        """The default grid: slices from the breast support up to the compressed thickness.

        Parameters
        ----------
        geometry : Geometry
            Acquisition geometry; the grid starts at its ``support_height_mm``.
        thickness_mm : float
            Compressed breast thickness, mm.
        slice_mm : float
            Slice spacing, mm (default 1).
        pixel_mm : float, optional
            In-plane voxel size; default the detector pitch (smaller values give
            super-resolution).
        extent_x_mm, extent_y_mm : float, optional
            In-plane extent from the chest wall (x) and centred in y; default the detector's.
        """
        if not thickness_mm > 0:
            raise ValueError(f"VolumeGrid.for_geometry: thickness_mm must be > 0, got {thickness_mm}")
        if not slice_mm > 0:
            raise ValueError(f"VolumeGrid.for_geometry: slice_mm must be > 0, got {slice_mm}")
        pix = float(pixel_mm or geometry.pixel_mm[1])
        size_v, size_u = geometry.detector_size_mm
        ex = float(extent_x_mm or size_u)
        ey = float(extent_y_mm or size_v)
        nz = max(1, int(round(thickness_mm / slice_mm)))
        ny = max(1, int(round(ey / pix)))
        nx = max(1, int(round(ex / pix)))
        x0 = float(geometry.detector_origin_mm[0, 0]) + pix / 2
        return cls(
            shape=(nz, ny, nx),
            voxel_mm=(float(slice_mm), pix, pix),
            origin_mm=(geometry.support_height_mm + slice_mm / 2, -ny * pix / 2 + pix / 2, x0),
        )


@dataclass(frozen=True, eq=False)
class ProjectionSet:
    """Projections of one acquisition with their geometry.

    Parameters
    ----------
    data : float32 array (views, rows, columns)
        Rows along y (tube motion), columns along x (chest wall to nipple). Line integrals
        (dimensionless) after preprocessing; raw detector signal before.
    geometry : Geometry
        Geometry with as many views as ``data`` and the same detector shape.
    exposure_mas : float array (views,), optional
        Tube current-time product of each view, mAs (for dose-aware methods and QC).
    is_line_integral : bool
        True once converted with -log(I/I0).
    """

    data: np.ndarray
    geometry: Geometry
    exposure_mas: np.ndarray | None = None
    is_line_integral: bool = True
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        _float32_array("ProjectionSet.data", self.data, 3)
        if not isinstance(self.geometry, Geometry):
            raise TypeError("ProjectionSet.geometry must be a recon.Geometry")
        n, nv, nu = self.data.shape
        if n != self.geometry.n_views:
            raise ValueError(f"ProjectionSet: {n} projections but the geometry has {self.geometry.n_views} views")
        if (nv, nu) != self.geometry.detector_shape:
            raise ValueError(
                f"ProjectionSet: projections are {nv} x {nu} but the detector is "
                f"{self.geometry.detector_shape[0]} x {self.geometry.detector_shape[1]}"
            )
        if self.exposure_mas is not None:
            e = np.asarray(self.exposure_mas, dtype=np.float64).reshape(-1)
            if e.size != n:
                raise ValueError(f"ProjectionSet: {e.size} exposures for {n} projections")
            object.__setattr__(self, "exposure_mas", e)


@dataclass(frozen=True, eq=False)
class Volume:
    """A reconstructed or phantom volume.

    Parameters
    ----------
    data : float32 array (nz, ny, nx)
        Linear attenuation in 1/mm (or display units for imported volumes); slice 0 is
        nearest the breast support.
    grid : VolumeGrid
        Where the voxels are.
    """

    data: np.ndarray
    grid: VolumeGrid
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        _float32_array("Volume.data", self.data, 3)
        if not isinstance(self.grid, VolumeGrid):
            raise TypeError("Volume.grid must be a recon.VolumeGrid")
        if tuple(self.data.shape) != self.grid.shape:
            raise ValueError(f"Volume: data shape {self.data.shape} differs from grid shape {self.grid.shape}")
