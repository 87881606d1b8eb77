"""Glue between the viewer's images and the BI-RADS findings of a study (pure Python).

Marks are drawn on the viewer's :class:`~app.model.image.DisplayImage` arrays, which the DICOM
readers put in the project's order (columns from the chest wall toward the nipple); the report
maps them back to the stored frames (:func:`app.dicom.report_sr.frame_mapping_from_dataset`).
The location of a finding (quadrant, clock face, depth, distance from the nipple) needs a
:class:`~app.model.location.BreastGeometry` of each image a mark lies on, in the same pixel
order: :func:`view_geometry` derives it from the image's orientation and an estimate of the
nipple, and :func:`ensure_view_geometries` adds the missing ones to a findings session.
"""

from __future__ import annotations

import numpy as np

from app.model.annotation import ImageInfo
from app.model.findings import FindingsSession
from app.model.image import DisplayImage
from app.model.location import BreastGeometry, estimate_nipple_px

__all__ = ["image_info_key", "view_geometry", "ensure_view_geometries"]


def image_info_key(image: DisplayImage) -> str:
    """The SOP Instance UID the annotation tools record for marks on ``image``."""
    return ImageInfo.from_display_image(image).sop_instance_uid


def _posterior_dir(image: DisplayImage) -> tuple[float, float]:
    """(dcol, drow) toward the chest wall, from the image's Patient Orientation."""
    col_dir, row_dir = image.orientation
    if "A" in col_dir or "P" in col_dir:
        return (1.0 if "P" in col_dir else -1.0, 0.0)
    return (0.0, 1.0 if "P" in row_dir else -1.0)


def view_geometry(image: DisplayImage) -> BreastGeometry:
    """The landmarks of ``image`` for location derivation, in its (col, row) pixels.

    The nipple is the breast point farthest from the chest wall in the mean of the slices
    (:func:`~app.model.location.estimate_nipple_px`); the chest wall is the image edge on the
    posterior side; directions come from the image's Patient Orientation.

    Raises
    ------
    TypeError
        ``image`` is not a DisplayImage.
    ValueError
        No breast can be told from the background.
    """
    if not isinstance(image, DisplayImage):
        raise TypeError(f"view_geometry: expected a DisplayImage, got {type(image).__name__}")
    data = image.data
    step = max(1, data.shape[0] // 16)
    mean = data[::step].mean(axis=0, dtype=np.float64)
    nipple = estimate_nipple_px(mean, _posterior_dir(image))
    return BreastGeometry.from_patient_orientation(
        image.laterality,
        image.view,
        image.orientation,
        rows=image.rows,
        columns=image.cols,
        pixel_spacing_mm=image.pixel_mm,
        nipple_px=nipple,
    )


def ensure_view_geometries(findings: FindingsSession, images) -> list[str]:
    """Give ``findings`` a geometry for every image one of its marks lies on that has none yet.

    Geometries already in the session (perhaps corrected by the reader) are kept. Returns the
    SOP Instance UIDs that got one.
    """
    if not isinstance(findings, FindingsSession):
        raise TypeError("ensure_view_geometries: findings must be a FindingsSession")
    by_uid = {image_info_key(im): im for im in images}
    have = findings.geometries
    added = []
    for f in findings.findings:
        for m in f.marks:
            uid = m.sop_instance_uid
            if uid in have or uid in added or uid not in by_uid:
                continue
            try:
                geometry = view_geometry(by_uid[uid])
            except ValueError:
                continue
            findings.set_view_geometry(uid, geometry)
            added.append(uid)
    return added
