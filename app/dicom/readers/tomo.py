"""Readers of reconstructed DBT volumes -> :class:`recon.Volume`.

* :class:`TomoVolumeReader`: Breast Tomosynthesis Image (enhanced multi-frame).
* :class:`SliceFilesVolumeReader`: one slice per file (single-frame images of one series with
  Image Position / Orientation (Patient)).
* :class:`VendorTomoDetector`: recognises tomosynthesis archived as Secondary Capture
  (Hologic) or CT (Siemens) with a proprietary payload and reports it instead of loading it.

Frames are sorted by their position along the slice normal, slice spacing comes from the
positions, slices are flipped into our order (rows along y, columns chest wall -> nipple, slice
0 nearest the breast support) using laterality and view (:mod:`app.dicom.views`), and values
are mapped with the Real World Value Mapping (1/mm for Crescent reconstructions).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from app.dicom import uids
from app.dicom.readers.attrs import first_item, functional_group, get_float, get_floats, get_text
from app.dicom.readers.base import Header, Loadable, ReaderPlugin, breast_identity
from app.dicom.readers.pixels import check_frame_count, pixel_shape, read_frames, value_mapping
from app.dicom.views import detector_to_patient, disk_flips
from app.errors import InputError

__all__ = ["TomoVolumeReader", "SliceFilesVolumeReader", "VendorTomoDetector"]


@dataclass
class _Frame:
    ds: object  # the dataset holding the frame's pixels (read once the order is known)
    path: object
    index: int  # 0-based frame number in ds
    shape: tuple[int, int]  # (rows, cols)
    position: np.ndarray  # (3,) LPS
    orientation: np.ndarray  # (6,)
    spacing: tuple[float, float]
    thickness: float | None
    slope: float
    intercept: float


def _window(holder) -> tuple[float, float] | None:
    centre = get_floats(holder, "WindowCenter")
    width = get_floats(holder, "WindowWidth")
    if centre and width and width[0] > 0:
        return centre[0], width[0]
    return None


def _assemble(frames: list[_Frame], meta: dict, where) -> tuple:
    """Sort, flip and place frames: (data (nz, ny, nx) float32, VolumeGrid, notes)."""
    from recon.types import VolumeGrid

    notes = []
    o = frames[0].orientation
    for k, f in enumerate(frames):
        if not np.allclose(f.orientation, o, atol=1e-4):
            raise InputError(f"{where}: ImageOrientationPatient of frame {k + 1} differs from frame 1")
        if f.shape != frames[0].shape:
            raise InputError(f"{where}: frame {k + 1} has another Rows/Columns than frame 1")
        if not np.allclose(f.spacing, frames[0].spacing, rtol=1e-6):
            raise InputError(f"{where}: PixelSpacing of frame {k + 1} differs from frame 1")
    row_dir, col_dir = np.asarray(o[:3], float), np.asarray(o[3:], float)
    if not (np.isclose(np.linalg.norm(row_dir), 1, atol=1e-3) and np.isclose(np.linalg.norm(col_dir), 1, atol=1e-3)):
        raise InputError(f"{where}: ImageOrientationPatient is not two unit vectors ({list(o)})")
    if abs(np.dot(row_dir, col_dir)) > 1e-3:
        raise InputError(f"{where}: ImageOrientationPatient directions are not orthogonal")
    normal = np.cross(row_dir, col_dir)
    rows, cols = frames[0].shape
    dy, dx = frames[0].spacing

    lat, view = meta.get("laterality"), meta.get("view")
    a = detector_to_patient(lat, view or "CC") if lat in ("R", "L") else None
    ours = None
    if a is not None:
        r_o, c_o, n_o = a.T @ row_dir, a.T @ col_dir, a.T @ normal
        if abs(r_o[0]) > 0.99 and abs(c_o[1]) > 0.99 and abs(n_o[2]) > 0.99:
            ours = (bool(c_o[1] < 0), bool(r_o[0] < 0))  # (flip rows, flip columns)
    if ours is None:
        flips = disk_flips(lat) if lat in ("R", "L") else (False, False)
        notes.append(
            f"{where}: slice orientation {[round(float(v), 3) for v in o]} does not match laterality "
            f"{lat or '?'} / view {view or '?'}; flips assumed from laterality, heights from the slice normal"
        )
        a = None
    else:
        flips = ours
    flip_rows, flip_cols = flips

    s = np.array([np.dot(f.position, normal) for f in frames])
    if a is not None:
        heights = np.array([(a.T @ f.position)[2] for f in frames])
    else:
        heights = s.copy()
    order = np.argsort(heights, kind="stable")
    frames = [frames[i] for i in order]
    heights = heights[order]
    if len(frames) > 1:
        steps = np.diff(heights)
        if np.any(steps <= 1e-6):
            k = int(np.argmin(steps))
            raise InputError(
                f"{where}: two frames share a Plane Position (ImagePositionPatient at {heights[k]:.3f} mm)"
            )
        dz = float(np.median(steps))
        if np.max(np.abs(steps - dz)) > 1e-3 * max(dz, 1e-3) + 1e-4:
            notes.append(f"{where}: slice spacing is not uniform ({steps.min():.4g} to {steps.max():.4g} mm)")
    else:
        dz = frames[0].thickness or 1.0

    # position of our voxel [0, 0, 0] (stored pixel of the first row/column we keep)
    first = frames[0].position
    corner = first + (rows - 1 if flip_rows else 0) * dy * col_dir + (cols - 1 if flip_cols else 0) * dx * row_dir
    if a is not None:
        p = a.T @ corner
        x0, y0, z0 = float(p[0]), float(p[1]), float(heights[0])
    else:
        x0, y0, z0 = 0.0, -(rows - 1) * dy / 2.0, float(heights[0])
    if z0 - dz / 2.0 < -1e-9:
        notes.append(f"{where}: slice 0 lies {z0:.3f} mm from the detector; heights shifted to start at {dz / 2:g} mm")
        meta["height_offset_mm"] = dz / 2.0 - z0
        z0 = dz / 2.0
    grid = VolumeGrid(shape=(len(frames), rows, cols), voxel_mm=(dz, dy, dx), origin_mm=(z0, y0, x0))
    # pixels last, frame by frame into the float32 volume, sorted and flipped on the way
    data = np.empty(grid.shape, np.float32)
    j = 0
    while j < len(frames):  # runs of frames from one dataset: one read each
        k = j + 1
        while k < len(frames) and frames[k].ds is frames[j].ds:
            k += 1
        run = frames[j:k]
        read_frames(
            run[0].ds,
            run[0].path,
            indices=[f.index for f in run],
            slopes=[f.slope for f in run],
            intercepts=[f.intercept for f in run],
            flip_rows=flip_rows,
            flip_cols=flip_cols,
            out=data[j:k],
        )
        j = k
    return data, grid, notes


def _units(ds) -> str:
    rw = functional_group(ds, 0, "RealWorldValueMappingSequence")
    code = get_text(first_item(rw, "MeasurementUnitsCodeSequence"), "CodeValue")
    if code in ("/mm", "mm-1"):
        return "1/mm"
    return code or "stored"


class TomoVolumeReader(ReaderPlugin):
    """Breast Tomosynthesis Image (enhanced multi-frame) volumes."""

    name = "breast-tomosynthesis"
    kind = "volume"

    def examine(self, headers: list[Header]) -> list[Loadable]:
        out = []
        for h in headers:
            if h.sop_class_uid == uids.BTO:
                meta = breast_identity(h.ds)
                out.append(
                    Loadable(
                        reader=self.name,
                        kind=self.kind,
                        headers=[h],
                        confidence=0.95,
                        description=f"{meta['laterality'] or '?'} {meta['view'] or '?'} tomosynthesis "
                        f"({h.n_frames} slices)",
                    )
                )
        return out

    def load(self, loadable: Loadable, **options):
        from recon.types import Volume

        path = loadable.headers[0].path
        ds = loadable.headers[0].ds
        check_frame_count(ds, path, required=True)
        n, rows, cols = pixel_shape(ds, path)
        frames = []
        for k in range(n):
            pos = get_floats(functional_group(ds, k, "PlanePositionSequence"), "ImagePositionPatient")
            ori = get_floats(functional_group(ds, k, "PlaneOrientationSequence"), "ImageOrientationPatient")
            pm = functional_group(ds, k, "PixelMeasuresSequence")
            spacing = get_floats(pm, "PixelSpacing")
            if pos is None or len(pos) != 3:
                raise InputError(f"{path} (frame {k + 1}): ImagePositionPatient (Plane Position) is missing or invalid")
            if ori is None or len(ori) != 6:
                raise InputError(f"{path} (frame {k + 1}): ImageOrientationPatient (Plane Orientation) is missing")
            if spacing is None or len(spacing) != 2 or min(spacing) <= 0:
                raise InputError(f"{path} (frame {k + 1}): PixelSpacing (Pixel Measures) is missing or invalid")
            slope, intercept, _ = value_mapping(ds, k)
            frames.append(
                _Frame(
                    ds,
                    path,
                    k,
                    (rows, cols),
                    np.array(pos),
                    np.array(ori),
                    (spacing[0], spacing[1]),
                    get_float(pm, "SliceThickness"),
                    slope,
                    intercept,
                )
            )
        meta = breast_identity(ds)
        data, grid, notes = _assemble(frames, meta, path)
        slope, intercept, label = value_mapping(ds, 0)
        window = _window(functional_group(ds, 0, "FrameVOILUTSequence"))
        rec = first_item(ds, "XRay3DReconstructionSequence")
        meta["warnings"] = meta["warnings"] + notes
        meta.update(
            window=(window[0] * slope + intercept, window[1] * abs(slope)) if window else None,
            units=_units(ds),
            values=label,
            reconstruction={
                "algorithm_type": get_text(rec, "AlgorithmType"),
                "description": get_text(rec, "AlgorithmDescription") or get_text(rec, "ReconstructionDescription"),
                "application": get_text(rec, "ApplicationName"),
            }
            if rec is not None
            else None,
            source_sop_instance_uids=_sources(ds),
            paths=[str(path)],
        )
        return Volume(data=data, grid=grid, metadata=meta)


def _sources(ds) -> list[str]:
    der = functional_group(ds, 0, "DerivationImageSequence")
    out = []
    try:
        for item in der.get("SourceImageSequence", []) if der is not None else []:
            uid = get_text(item, "ReferencedSOPInstanceUID")
            if uid:
                out.append(uid)
    except Exception:
        pass
    return out


_SLICE_CLASSES = (
    uids.BTO,
    uids.CT_IMAGE,
    uids.SECONDARY_CAPTURE,
    uids.DM_PRESENTATION,
    uids.DM_PROCESSING,
    uids.DX_PRESENTATION,
    uids.DX_PROCESSING,
)


class SliceFilesVolumeReader(ReaderPlugin):
    """Volumes stored one slice per file (single-frame, with Image Position/Orientation (Patient))."""

    name = "slice-files"
    kind = "volume"

    def examine(self, headers: list[Header]) -> list[Loadable]:
        series = defaultdict(list)
        for h in headers:
            if h.n_frames != 1 or h.sop_class_uid not in _SLICE_CLASSES:
                continue
            if get_floats(h.ds, "ImagePositionPatient") is None or get_floats(h.ds, "ImageOrientationPatient") is None:
                continue
            series[(h.study_uid, h.series_uid)].append(h)
        out = []
        for members in series.values():
            if len(members) < 2:
                continue
            meta = breast_identity(members[0].ds)
            out.append(
                Loadable(
                    reader=self.name,
                    kind=self.kind,
                    headers=members,
                    confidence=0.6,
                    description=f"{meta['laterality'] or '?'} {meta['view'] or '?'} tomosynthesis "
                    f"({len(members)} slice files)",
                )
            )
        return out

    def load(self, loadable: Loadable, **options):
        from recon.types import Volume

        frames, first = [], None
        for h in loadable.headers:
            ds = h.ds
            n, rows, cols = pixel_shape(ds, h.path)
            if n != 1:
                raise InputError(f"{h.path}: NumberOfFrames is {n}; expected one slice per file")
            pos = get_floats(ds, "ImagePositionPatient")
            ori = get_floats(ds, "ImageOrientationPatient")
            spacing = get_floats(ds, "PixelSpacing") or get_floats(ds, "ImagerPixelSpacing")
            if pos is None or len(pos) != 3:
                raise InputError(f"{h.path}: ImagePositionPatient is missing or invalid")
            if ori is None or len(ori) != 6:
                raise InputError(f"{h.path}: ImageOrientationPatient is missing or invalid")
            if spacing is None or len(spacing) != 2 or min(spacing) <= 0:
                raise InputError(f"{h.path}: PixelSpacing is missing or invalid")
            slope, intercept, _ = value_mapping(ds, 0)
            frames.append(
                _Frame(
                    ds,
                    h.path,
                    0,
                    (rows, cols),
                    np.array(pos),
                    np.array(ori),
                    (spacing[0], spacing[1]),
                    get_float(ds, "SliceThickness"),
                    slope,
                    intercept,
                )
            )
            if first is None:
                first = ds
        where = loadable.headers[0].path.parent
        meta = breast_identity(first)
        data, grid, notes = _assemble(frames, meta, where)
        window = _window(first)
        slope, intercept, label = value_mapping(first, 0)
        meta["warnings"] = meta["warnings"] + notes
        meta.update(
            window=(window[0] * slope + intercept, window[1] * abs(slope)) if window else None,
            units="stored" if (slope, intercept) == (1.0, 0.0) else label or "rescaled",
            values=label,
            reconstruction=None,
            paths=[str(h.path) for h in loadable.headers],
        )
        return Volume(data=data, grid=grid, metadata=meta)


class VendorTomoDetector(ReaderPlugin):
    """Tomosynthesis archived as Secondary Capture (Hologic) or CT (Siemens) with a private payload."""

    name = "vendor-tomo"
    kind = "volume"

    def examine(self, headers: list[Header]) -> list[Loadable]:
        out = []
        for h in headers:
            if h.sop_class_uid not in (uids.SECONDARY_CAPTURE, uids.CT_IMAGE):
                continue
            text = " ".join(
                get_text(h.ds, k).upper() for k in ("Manufacturer", "SeriesDescription", "ImageType", "Modality")
            )
            tomo = "TOMO" in text or " DBT" in f" {text}"
            mammo = "MG" in text.split() or "HOLOGIC" in text or "MAMMO" in text or "SIEMENS" in text
            if tomo and mammo:
                kind = "Secondary Capture" if h.sop_class_uid == uids.SECONDARY_CAPTURE else "CT"
                out.append(
                    Loadable(
                        reader=self.name,
                        kind=self.kind,
                        headers=[h],
                        confidence=0.3,
                        description=f"tomosynthesis archived as {kind} ({get_text(h.ds, 'Manufacturer') or '?'})",
                        warnings=[f"{h.path}: tomosynthesis stored as {kind}: proprietary payload"],
                    )
                )
        return out

    def load(self, loadable: Loadable, **options):
        h = loadable.headers[0]
        raise InputError(
            f"{h.path}: SOPClassUID {h.sop_class_uid} holds tomosynthesis from {get_text(h.ds, 'Manufacturer') or '?'} "
            "in a proprietary payload; ask the archive for Breast Tomosynthesis Image (BTO) objects"
        )
