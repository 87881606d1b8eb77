"""What the node accepts, and which acquisition a received object belongs to.

Accepted objects
----------------
* Breast Projection X-Ray Image, For Processing or For Presentation, **multi-frame**: one
  object is one whole acquisition (complete on arrival; NumberOfFrames projections).
* **One file per projection**: single-frame Breast Projection X-Ray, Digital Mammography or
  Digital X-Ray images (For Processing or For Presentation) of one series, each with its tube
  angle (Positioner Primary Angle). They are gathered per (study, series, presentation
  intent). The acquisition is complete when as many projections arrived as announced by
  Images in Acquisition (0020,1002), Number of Tomosynthesis Source Images (0018,1495) or the
  scan arc over the increment (0018,9508)/(0018,9514) + 1; without any of these (or when
  projections are missing) it is processed after the node's quiet time.

Refusals (the C-STORE failure status; nothing is written or queued)
-------------------------------------------------------------------
``0xA900`` (Error: Data Set does not match SOP Class)
    a UID is missing or malformed or differs from the request's Affected SOP Instance UID;
    Pixel Data is missing or shorter than Rows x Columns x Number of Frames; Number of Frames
    disagrees with the Per-Frame Functional Groups Sequence; a single projection has no
    tube angle.
``0xC000`` (Error: Cannot understand)
    the data set cannot be decoded.
``0xA700`` (Refused: Out of resources)
    the node cannot write the object or its record (disk full, store locked).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.dicom import uids

__all__ = [
    "ACCEPTED_CLASSES",
    "STATUS_CANNOT_UNDERSTAND",
    "STATUS_MISMATCH",
    "STATUS_OUT_OF_RESOURCES",
    "AcquisitionInfo",
    "Refusal",
    "acquisition_of",
    "check_projection",
]

STATUS_MISMATCH = 0xA900
STATUS_CANNOT_UNDERSTAND = 0xC000
STATUS_OUT_OF_RESOURCES = 0xA700

MULTI_FRAME_CLASSES = (uids.BPX_PROCESSING, uids.BPX_PRESENTATION)
SINGLE_FRAME_CLASSES = (
    uids.BPX_PROCESSING,
    uids.BPX_PRESENTATION,
    uids.DM_PROCESSING,
    uids.DM_PRESENTATION,
    uids.DX_PROCESSING,
    uids.DX_PRESENTATION,
)
#: SOP classes the node's Storage SCP offers.
ACCEPTED_CLASSES = tuple(dict.fromkeys(MULTI_FRAME_CLASSES + SINGLE_FRAME_CLASSES))

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*\Z")


@dataclass(frozen=True)
class Refusal:
    """Why an object is refused: the C-STORE status and a comment (no patient data)."""

    status: int
    reason: str


@dataclass(frozen=True)
class AcquisitionInfo:
    """Where a received object belongs.

    Attributes
    ----------
    key : str
        Grouping key (``mf:<SOP Instance UID>`` or ``sf:<study>/<series>/<intent>``).
    study_uid : str
    projections : int
        Projections this object holds.
    expected : int or None
        Projections the acquisition has, when known.
    """

    key: str
    study_uid: str
    projections: int
    expected: int | None


def _int(ds, keyword: str) -> int | None:
    try:
        value = ds.get(keyword, None)
        return None if value is None or value == "" else int(value)
    except (TypeError, ValueError):
        return None


def _float(ds, keyword: str) -> float | None:
    try:
        value = ds.get(keyword, None)
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def _frames(ds) -> int:
    n = _int(ds, "NumberOfFrames")
    return 1 if n is None else n


def _is_multi_frame(ds) -> bool:
    return str(ds.get("SOPClassUID", "")) in MULTI_FRAME_CLASSES and _frames(ds) > 1


def check_projection(ds, *, affected_sop_uid: str = "", encapsulated: bool = False) -> Refusal | None:
    """Check a received data set before it is written: ``None`` when it is acceptable.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The decoded data set.
    affected_sop_uid : str
        The C-STORE request's Affected SOP Instance UID (must match, when given).
    encapsulated : bool
        Pixel Data is compressed (its length is not checked against the image size).

    Returns
    -------
    Refusal or None
    """
    sop_class = str(ds.get("SOPClassUID", "") or "")
    if sop_class not in ACCEPTED_CLASSES:
        return Refusal(STATUS_MISMATCH, f"SOP Class {sop_class or '(missing)'} is not a projection class")
    for keyword in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
        value = str(ds.get(keyword, "") or "")
        if not value or len(value) > 64 or not _UID.match(value):
            return Refusal(STATUS_MISMATCH, f"{keyword} is missing or not a UID")
    if affected_sop_uid and str(ds.SOPInstanceUID) != affected_sop_uid:
        return Refusal(STATUS_MISMATCH, "SOPInstanceUID differs from the Affected SOP Instance UID")
    if "PixelData" not in ds:
        return Refusal(STATUS_MISMATCH, "Pixel Data (7FE0,0010) is missing")
    rows, cols, bits = _int(ds, "Rows"), _int(ds, "Columns"), _int(ds, "BitsAllocated")
    if not rows or not cols or rows < 1 or cols < 1:
        return Refusal(STATUS_MISMATCH, "Rows/Columns missing or invalid")
    if bits not in (8, 16, 32):
        return Refusal(STATUS_MISMATCH, f"Bits Allocated {bits} is not 8, 16 or 32")
    if (_int(ds, "SamplesPerPixel") or 1) != 1:
        return Refusal(STATUS_MISMATCH, "Samples per Pixel is not 1 (projections are grayscale)")
    frames = _int(ds, "NumberOfFrames")
    if "NumberOfFrames" in ds and (frames is None or frames < 1):
        return Refusal(STATUS_MISMATCH, "Number of Frames is invalid")
    frames = frames or 1
    per_frame = ds.get("PerFrameFunctionalGroupsSequence", None)
    if per_frame is not None and len(per_frame) != frames:
        return Refusal(
            STATUS_MISMATCH,
            f"Number of Frames is {frames} but the Per-Frame Functional Groups Sequence has {len(per_frame)} items",
        )
    if sop_class in MULTI_FRAME_CLASSES and frames > 1 and per_frame is None:
        return Refusal(STATUS_MISMATCH, "multi-frame projections without a Per-Frame Functional Groups Sequence")
    if not encapsulated:
        need = rows * cols * frames * bits // 8
        have = len(ds.PixelData)
        if have < need:
            what = f"{frames} frame(s) of {rows}x{cols}"
            return Refusal(STATUS_MISMATCH, f"Pixel Data holds {have} bytes, {need} expected for {what}")
    elif not ds.PixelData:
        return Refusal(STATUS_MISMATCH, "Pixel Data is empty")
    if frames == 1:
        from app.dicom.readers.geometry import frame_angle_deg

        try:
            angle = frame_angle_deg(ds, 0)
        except Exception:
            angle = None
        if angle is None:
            return Refusal(STATUS_MISMATCH, "a single projection without its tube angle (Positioner Primary Angle)")
    return None


def _expected_single(ds) -> int | None:
    for keyword in ("ImagesInAcquisition", "NumberOfTomosynthesisSourceImages"):
        n = _int(ds, keyword)
        if n is not None and n >= 2:
            return n
    sources = [ds]
    acq = ds.get("XRay3DAcquisitionSequence", None)
    if acq:
        sources.append(acq[0])
    for src in sources:
        arc, inc = _float(src, "PrimaryPositionerScanArc"), _float(src, "PrimaryPositionerIncrement")
        if arc is not None and inc and abs(inc) > 0:
            n = int(round(abs(arc) / abs(inc))) + 1
            if n >= 2:
                return n
    return None


def acquisition_of(ds) -> AcquisitionInfo:
    """The acquisition a (checked) data set belongs to; see the module notes."""
    study = str(ds.StudyInstanceUID)
    if _is_multi_frame(ds):
        n = _frames(ds)
        return AcquisitionInfo(f"mf:{ds.SOPInstanceUID}", study, n, n)
    intent = str(ds.get("PresentationIntentType", "") or "").strip().upper()
    key = f"sf:{study}/{ds.SeriesInstanceUID}/{intent}"
    return AcquisitionInfo(key, study, 1, _expected_single(ds))
