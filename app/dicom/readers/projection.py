"""Readers of DBT projection sets -> :class:`recon.ProjectionSet`.

* :class:`MultiFrameProjectionReader`: Breast Projection X-Ray Image, For Processing or For
  Presentation (one multi-frame file per acquisition).
* :class:`SingleFrameProjectionReader`: one file per projection (single-frame images of one
  series whose Positioner Primary Angle differs from file to file).

Pixels are flipped into our order (rows along y, columns chest wall -> nipple) and mapped to
real values with the Real World Value Mapping (or rescale); ``is_line_integral`` is True when
the values are line integrals (Pixel Intensity Relationship LOG with a LINE_INTEGRAL mapping,
as :func:`app.dicom.write_projection_set` writes them).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from app.dicom import uids
from app.dicom.readers.attrs import functional_group, get_float, get_text
from app.dicom.readers.base import Header, Loadable, ReaderPlugin, breast_identity
from app.dicom.readers.geometry import frame_angle_deg, projection_geometry, thickness_of
from app.dicom.readers.pixels import check_frame_count, pixel_shape, read_frames, value_mapping
from app.dicom.views import disk_flips, flips_from_patient_orientation
from app.errors import InputError

__all__ = ["MultiFrameProjectionReader", "SingleFrameProjectionReader"]


def _describe(ds, what: str) -> str:
    meta = breast_identity(ds)
    return f"{meta['laterality'] or '?'} {meta['view'] or '?'} {what}"


def _flips_hint(meta: dict) -> tuple[bool, bool]:
    hint = flips_from_patient_orientation(meta.get("patient_orientation"), meta.get("laterality"))
    if hint is None and meta.get("laterality") in ("R", "L"):
        hint = disk_flips(meta["laterality"])
    return hint or (False, False)


def _has_isocenter(ds) -> bool:
    return functional_group(ds, 0, "IsocenterReferenceSystemSequence") is not None


def _line_integral(ds, label: str) -> bool:
    props = functional_group(ds, 0, "FramePixelDataPropertiesSequence")
    rel = get_text(props, "PixelIntensityRelationship") or get_text(ds, "PixelIntensityRelationship")
    return rel.upper() == "LOG" and "LINE_INTEGRAL" in label.upper()


def _exposures(frames) -> np.ndarray | None:
    """Per-projection mAs from the X-Ray Acquisition Dose functional group, or None."""
    values = [get_float(functional_group(ds, i, "XRayAcquisitionDoseSequence"), "ExposureInmAs") for ds, i in frames]
    if any(v is None for v in values):
        return None
    return np.array(values, dtype=np.float64)


class MultiFrameProjectionReader(ReaderPlugin):
    """Breast Projection X-Ray Image (For Processing / For Presentation), multi-frame."""

    name = "breast-projection"
    kind = "projections"

    def examine(self, headers: list[Header]) -> list[Loadable]:
        out = []
        for h in headers:
            if h.sop_class_uid not in uids.PROJECTION_CLASSES:
                continue
            notes = [] if _has_isocenter(h.ds) else ["no isocenter geometry: tube angles, distances or a preset"]
            out.append(
                Loadable(
                    reader=self.name,
                    kind=self.kind,
                    headers=[h],
                    confidence=0.95 if not notes else 0.85,
                    description=_describe(h.ds, f"projections ({h.n_frames} views)"),
                    warnings=notes,
                )
            )
        return out

    def load(self, loadable: Loadable, *, preset: str | None = None, geometry=None):
        from recon.types import ProjectionSet

        path = loadable.headers[0].path
        ds = loadable.headers[0].ds
        check_frame_count(ds, path)
        n, rows, cols = pixel_shape(ds, path)
        meta = breast_identity(ds)
        geom, (flip_rows, flip_cols), source, notes = projection_geometry(
            [(ds, i) for i in range(n)],
            rows=rows,
            columns=cols,
            path=path,
            manufacturer=meta["manufacturer"],
            model=meta["model_name"],
            preset=preset,
            geometry=geometry,
            flips_hint=_flips_hint(meta),
        )
        slope, intercept, label = value_mapping(ds, 0)
        # frame by frame into the float32 result, flipped into our order on the way
        data = read_frames(ds, path, slopes=slope, intercepts=intercept, flip_rows=flip_rows, flip_cols=flip_cols)
        meta["warnings"] = meta["warnings"] + notes
        meta.update(
            geometry_source=source,
            values=label,
            presentation_intent=get_text(ds, "PresentationIntentType"),
            thickness_mm=thickness_of(ds),
            paths=[str(path)],
        )
        return ProjectionSet(
            data=data,
            geometry=geom,
            exposure_mas=_exposures([(ds, i) for i in range(n)]),
            is_line_integral=_line_integral(ds, label),
            metadata=meta,
        )


_SINGLE_FRAME_CLASSES = (
    uids.DM_PROCESSING,
    uids.DM_PRESENTATION,
    uids.DX_PROCESSING,
    uids.DX_PRESENTATION,
    uids.BPX_PROCESSING,
    uids.BPX_PRESENTATION,
)


class SingleFrameProjectionReader(ReaderPlugin):
    """Projections stored one file per projection, with Positioner Primary Angle per file."""

    name = "projection-files"
    kind = "projections"

    def examine(self, headers: list[Header]) -> list[Loadable]:
        series = defaultdict(list)
        for h in headers:
            if h.sop_class_uid in _SINGLE_FRAME_CLASSES and h.n_frames == 1:
                series[(h.study_uid, h.series_uid)].append(h)
        out = []
        for members in series.values():
            angles = [frame_angle_deg(h.ds, 0) for h in members]
            if len(members) < 2 or any(a is None for a in angles) or len(set(angles)) < 2:
                continue
            order = np.argsort(angles, kind="stable")
            members = [members[i] for i in order]
            out.append(
                Loadable(
                    reader=self.name,
                    kind=self.kind,
                    headers=members,
                    # above a 2D reader's 0.9 for each file: a series of differing tube angles is a set
                    confidence=0.92,
                    description=_describe(members[0].ds, f"projections ({len(members)} files)"),
                )
            )
        return out

    def load(self, loadable: Loadable, *, preset: str | None = None, geometry=None):
        from recon.types import ProjectionSet

        datasets, mappings = [], []
        shape = None
        for h in loadable.headers:
            ds = h.ds
            n, rows, cols = pixel_shape(ds, h.path)
            if n != 1:
                raise InputError(f"{h.path}: NumberOfFrames is {n}; expected one projection per file")
            if shape is None:
                shape = (rows, cols)
            elif (rows, cols) != shape:
                raise InputError(f"{h.path}: Rows/Columns {(rows, cols)} differ from the other projections {shape}")
            slope, intercept, label = value_mapping(ds, 0)
            datasets.append(ds)
            mappings.append((slope, intercept, label))
        label = mappings[-1][2]
        first = datasets[0]
        meta = breast_identity(first)
        path = loadable.headers[0].path.parent
        geom, (flip_rows, flip_cols), source, notes = projection_geometry(
            [(ds, 0) for ds in datasets],
            rows=shape[0],
            columns=shape[1],
            path=path,
            manufacturer=meta["manufacturer"],
            model=meta["model_name"],
            preset=preset,
            geometry=geometry,
            flips_hint=_flips_hint(meta),
        )
        data = np.empty((len(datasets), *shape), np.float32)
        for j, (h, (slope, intercept, _)) in enumerate(zip(loadable.headers, mappings, strict=True)):
            read_frames(
                h.ds,
                h.path,
                slopes=slope,
                intercepts=intercept,
                flip_rows=flip_rows,
                flip_cols=flip_cols,
                out=data[j : j + 1],
            )
        meta["warnings"] = meta["warnings"] + notes
        meta.update(
            geometry_source=source,
            values=label,
            presentation_intent=get_text(first, "PresentationIntentType"),
            thickness_mm=thickness_of(first),
            paths=[str(h.path) for h in loadable.headers],
            sop_instance_uids=[get_text(ds, "SOPInstanceUID") for ds in datasets],
        )
        exposures = [get_float(ds, "ExposureInmAs") for ds in datasets]
        return ProjectionSet(
            data=data,
            geometry=geom,
            exposure_mas=None if any(e is None for e in exposures) else np.array(exposures),
            is_line_integral=_line_integral(first, label),
            metadata=meta,
        )
