"""Mammography CAD SR (TID 4000) for CAD findings on a Breast Tomosynthesis Image: writer and reader.

Tree written (codes from PS3.16; ``pydicom.sr`` carries the same code tables)::

    CONTAINER (111036, DCM, "Mammography CAD Report")                         TID 4000
     ├ HAS CONCEPT MOD CODE (121049, DCM, "Language of Content Item and Descendants")
     │                     = (en-US, RFC5646, "English (United States)")        TID 1204
     ├ CONTAINS CONTAINER (111028, DCM, "Image Library")
     │   └ CONTAINS IMAGE  the BTO (all frames), then the BTO once per frame a mark is on
     │       (Referenced Frame Number)                                        TID 4020
     │       ├ HAS ACQ CONTEXT CODE (111027, DCM, "Image Laterality")  CID 6022
     │       ├ HAS ACQ CONTEXT CODE (111031, DCM, "Image View")        CID 4014
     │       ├ HAS ACQ CONTEXT DATE (111060, DCM, "Study Date")
     │       └ HAS ACQ CONTEXT NUM  (111026 / 111066, DCM, "Horizontal / Vertical Pixel Spacing") um
     ├ CONTAINS CODE (111017, DCM, "CAD Processing and Findings Summary")    TID 4001, CID 6047
     │   └ INFERRED FROM CONTAINER (111034, DCM, "Individual Impression/Recommendation")  TID 4003
     │       ├ HAS CONCEPT MOD CODE (111056, DCM, "Rendering Intent")  CID 6034
     │       └ CONTAINS CODE (111059, DCM, "Single Image Finding") = CID 6014 value   TID 4006
     │           ├ HAS CONCEPT MOD CODE (111056, DCM, "Rendering Intent")
     │           ├ HAS CONCEPT MOD TEXT (111001 "Algorithm Name"), (111003 "Algorithm Version")  TID 4019
     │           ├ HAS PROPERTIES NUM (111012, DCM, "Certainty of Finding") %
     │           ├ HAS PROPERTIES SCOORD (111010, DCM, "Center") POINT       TID 4021
     │           │   └ R-SELECTED FROM -> the Image Library entry of the focal frame
     │           ├ HAS PROPERTIES SCOORD (111041, DCM, "Outline") ELLIPSE (POLYLINE hull for a cluster)
     │           │   └ R-SELECTED FROM -> the same entry
     │           └ INFERRED FROM CODE (111059) = Individual Calcification ...  (a cluster's members)
     ├ CONTAINS CODE (111064, DCM, "Summary of Detections") = (111222, DCM, "Succeeded")  CID 6042
     │   └ INFERRED FROM CONTAINER (111063, DCM, "Successful Detections")   TID 4015
     │       └ CONTAINS CODE (111022, DCM, "Detection Performed") = CID 6014 value  TID 4017
     │           ├ HAS CONCEPT MOD TEXT algorithm name / version           TID 4019
     │           └ R-INFERRED FROM -> the Image Library entry of the whole BTO
     └ CONTAINS CODE (111065, DCM, "Summary of Analyses") = (111225, DCM, "Not Attempted")

Finding kinds map onto CID 6014 "Mammography Single Image Finding": calcification cluster
(129769006, SCT), individual calcification (129770007, SCT), mass -> (129793001, SCT,
"Mammography breast density": CID 6014 has no "mass", a mass being a density seen in two
views, PS3.17 E.3.2), architectural distortion (129792006, SCT). A cluster is a Single Image
Finding inferred from its individual calcifications (PS3.17 E.1: the only case where a Single
Image Finding combines others).

Coordinates: a finding's ``center_index`` (slice, row, column) is in the volume's array order
(DESIGN.md); the SCOORDs are in the stored frame's pixel space (PS3.3 C.18.6.1.1: 0.0 at the
top-left corner of the top-left pixel, so a pixel centre is at +0.5) of the frame that the
tomosynthesis reader put at that slice (``app.dicom.report_sr.frame_mapping_from_dataset``:
the reader's flips and frame order).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence

from app.dicom import uids
from app.dicom.identity import new_uid
from app.dicom.writers.common import MANUFACTURER, SOFTWARE_VERSION, WrittenObject, base_dataset, ds_str, save
from app.errors import InputError

__all__ = [
    "MAMMOGRAPHY_CAD_SR",
    "KIND_CODES",
    "build_cad_sr",
    "write_cad_sr",
    "read_cad_sr",
    "frame_mapping_for",
    "bto_path",
    "array_to_stored",
    "stored_to_array",
]

MAMMOGRAPHY_CAD_SR = "1.2.840.10008.5.1.4.1.1.88.50"

# (code value, coding scheme, code meaning)
ROOT = ("111036", "DCM", "Mammography CAD Report")
LANGUAGE = ("121049", "DCM", "Language of Content Item and Descendants")
ENGLISH_US = ("en-US", "RFC5646", "English (United States)")
IMAGE_LIBRARY = ("111028", "DCM", "Image Library")
IMAGE_LATERALITY = ("111027", "DCM", "Image Laterality")
IMAGE_VIEW = ("111031", "DCM", "Image View")
STUDY_DATE = ("111060", "DCM", "Study Date")
HORIZONTAL_PIXEL_SPACING = ("111026", "DCM", "Horizontal Pixel Spacing")
VERTICAL_PIXEL_SPACING = ("111066", "DCM", "Vertical Pixel Spacing")
MICROMETER = ("um", "UCUM", "micrometer")
PERCENT = ("%", "UCUM", "Percent")
CAD_SUMMARY = ("111017", "DCM", "CAD Processing and Findings Summary")
ALL_SUCCEEDED_WITH = ("111242", "DCM", "All algorithms succeeded; with findings")
ALL_SUCCEEDED_WITHOUT = ("111241", "DCM", "All algorithms succeeded; without findings")
INDIVIDUAL_IMPRESSION = ("111034", "DCM", "Individual Impression/Recommendation")
COMPOSITE_FEATURE = ("111015", "DCM", "Composite Feature")
RENDERING_INTENT = ("111056", "DCM", "Rendering Intent")
PRESENTATION_REQUIRED = ("111150", "DCM", "Presentation Required: Rendering device is expected to present")
PRESENTATION_OPTIONAL = ("111151", "DCM", "Presentation Optional: Rendering device may present")
NOT_FOR_PRESENTATION = ("111152", "DCM", "Not for Presentation: Rendering device expected not to present")
SINGLE_IMAGE_FINDING = ("111059", "DCM", "Single Image Finding")
ALGORITHM_NAME = ("111001", "DCM", "Algorithm Name")
ALGORITHM_VERSION = ("111003", "DCM", "Algorithm Version")
CERTAINTY_OF_FINDING = ("111012", "DCM", "Certainty of Finding")
PROBABILITY_OF_CANCER = ("111047", "DCM", "Probability of cancer")
CENTER = ("111010", "DCM", "Center")
OUTLINE = ("111041", "DCM", "Outline")
SUMMARY_OF_DETECTIONS = ("111064", "DCM", "Summary of Detections")
SUMMARY_OF_ANALYSES = ("111065", "DCM", "Summary of Analyses")
SUCCESSFUL_DETECTIONS = ("111063", "DCM", "Successful Detections")
DETECTION_PERFORMED = ("111022", "DCM", "Detection Performed")
SUCCEEDED = ("111222", "DCM", "Succeeded")
NOT_ATTEMPTED = ("111225", "DCM", "Not Attempted")
SIDE = {"R": ("73056007", "SCT", "Right breast"), "L": ("80248007", "SCT", "Left breast")}

#: finding kind -> CID 6014 "Mammography Single Image Finding" code
KIND_CODES = {
    "calcification_cluster": ("129769006", "SCT", "Calcification Cluster"),
    "calcification": ("129770007", "SCT", "Individual Calcification"),
    "mass": ("129793001", "SCT", "Mammography breast density"),
    "architectural_distortion": ("129792006", "SCT", "Architectural distortion of breast"),
}
_KIND_OF_CODE = {v[0]: k for k, v in KIND_CODES.items()}


def _srt_to_sct(value: str) -> str:
    """Legacy SNOMED-RT codes (F-01775, ...) as SNOMED CT (pydicom's mapping table)."""
    from pydicom.sr._snomed_dict import mapping

    return mapping.get("SRT", {}).get(value, value)


# ---------------------------------------------------------------------------- items


def _code(c) -> Dataset:
    ds = Dataset()
    ds.CodeValue, ds.CodingSchemeDesignator, ds.CodeMeaning = c
    return ds


def _item(relationship: str | None, value_type: str, concept=None) -> Dataset:
    ds = Dataset()
    if relationship:
        ds.RelationshipType = relationship
    ds.ValueType = value_type
    if concept is not None:
        ds.ConceptNameCodeSequence = DicomSequence([_code(concept)])
    return ds


def _children(ds: Dataset, items: list[Dataset]) -> Dataset:
    if items:
        ds.ContentSequence = DicomSequence(items)
    return ds


def _container(relationship, concept, items) -> Dataset:
    ds = _item(relationship, "CONTAINER", concept)
    ds.ContinuityOfContent = "SEPARATE"
    return _children(ds, items)


def _code_item(relationship, concept, value, items=()) -> Dataset:
    ds = _item(relationship, "CODE", concept)
    ds.ConceptCodeSequence = DicomSequence([_code(value)])
    return _children(ds, list(items))


def _text_item(relationship, concept, text: str) -> Dataset:
    ds = _item(relationship, "TEXT", concept)
    ds.TextValue = str(text)
    return ds


def _date_item(relationship, concept, date: str) -> Dataset:
    ds = _item(relationship, "DATE", concept)
    ds.Date = date
    return ds


def _num_item(relationship, concept, value: float, units) -> Dataset:
    ds = _item(relationship, "NUM", concept)
    mv = Dataset()
    mv.NumericValue = ds_str(value)
    mv.MeasurementUnitsCodeSequence = DicomSequence([_code(units)])
    ds.MeasuredValueSequence = DicomSequence([mv])
    return ds


def _image_item(relationship, sop_class: str, sop_instance: str, frames=None, items=()) -> Dataset:
    ds = _item(relationship, "IMAGE")
    ref = Dataset()
    ref.ReferencedSOPClassUID = sop_class
    ref.ReferencedSOPInstanceUID = sop_instance
    if frames:
        ref.ReferencedFrameNumber = [int(f) for f in frames] if len(frames) > 1 else int(frames[0])
    ds.ReferencedSOPSequence = DicomSequence([ref])
    return _children(ds, list(items))


def _scoord_item(relationship, concept, graphic_type: str, points, items=()) -> Dataset:
    ds = _item(relationship, "SCOORD", concept)
    ds.GraphicType = graphic_type
    ds.GraphicData = [float(v) for v in np.asarray(points, dtype=np.float32).reshape(-1)]
    return _children(ds, list(items))


def _by_reference(relationship: str, identifier: Sequence[int]) -> Dataset:
    ds = Dataset()
    ds.RelationshipType = relationship
    ds.ReferencedContentItemIdentifier = [int(i) for i in identifier]
    return ds


# ---------------------------------------------------------------------------- mapping


def _read_image_header(image) -> tuple[Dataset, str]:
    """(dataset without pixels, label) of the referenced Breast Tomosynthesis Image."""
    import pydicom

    if isinstance(image, Dataset):
        return image, str(getattr(image, "filename", "") or "image")
    path = Path(image)
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except Exception as exc:
        raise InputError(f"{path}: not a readable DICOM file ({type(exc).__name__}: {exc})") from None
    return ds, str(path)


def bto_path(volume_metadata: Mapping) -> Path:
    paths = list(volume_metadata.get("paths") or [])
    cls = volume_metadata.get("sop_class_uid")
    if len(paths) != 1 or (cls and cls != uids.BTO):
        where = paths[0] if paths else "the volume"
        raise InputError(
            f"{where}: a Mammography CAD SR needs the volume as one Breast Tomosynthesis Image "
            f"(SOPClassUID {uids.BTO}); this volume has SOPClassUID {cls or '?'} in {len(paths)} file(s)"
        )
    return Path(paths[0])


def frame_mapping_for(image):
    """The array -> stored-frame mapping of a Breast Tomosynthesis Image (path or dataset).

    Returns ``app.dicom.report_sr.FrameMapping`` (rows, cols, flips, frame numbers), the mapping
    the tomosynthesis reader applied when it made the volume.
    """
    from app.dicom.report_sr import frame_mapping_from_dataset

    ds, where = _read_image_header(image)
    try:
        return frame_mapping_from_dataset(ds)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
        raise InputError(f"{where}: plane position/orientation of the frames unreadable ({exc})") from None


def array_to_stored(mapping, slice_index: float, row: float, col: float) -> tuple[int, float, float]:
    """Volume (slice, row, col) -> (1-based stored frame number, SCOORD x, SCOORD y)."""
    k = int(round(float(slice_index)))
    n = len(mapping.frame_numbers) if mapping.frame_numbers is not None else None
    if k < 0 or (n is not None and k >= n):
        raise ValueError(f"slice {slice_index} lies outside the image's {n} frames")
    x, y = mapping.to_stored([(col, row)])[0]
    return mapping.frame_number(k), float(x), float(y)


def stored_to_array(mapping, frame: int, x: float, y: float) -> tuple[int, float, float]:
    """Inverse of :func:`array_to_stored`: (slice, row, col) of a SCOORD point on a frame."""
    if mapping.frame_numbers is None:
        k = int(frame) - 1
    else:
        try:
            k = list(mapping.frame_numbers).index(int(frame))
        except ValueError:
            raise ValueError(f"frame {frame} is not a frame of the image") from None
    col, row = float(x) - 0.5, float(y) - 0.5
    if mapping.flip_cols:
        col = mapping.cols - 1 - col
    if mapping.flip_rows:
        row = mapping.rows - 1 - row
    return k, row, col


# ---------------------------------------------------------------------------- writer


def _split_model(ref: str) -> tuple[str, str]:
    name, _, version = str(ref).rpartition("@")
    return (name, version) if name else (str(ref), "")


def _algorithm(ref: str) -> list[Dataset]:
    name, version = _split_model(ref)
    return [
        _text_item("HAS CONCEPT MOD", ALGORITHM_NAME, name or "unknown"),
        _text_item("HAS CONCEPT MOD", ALGORITHM_VERSION, version or "unknown"),
    ]


def _ellipse(center_rc, semi_rows: float, semi_cols: float) -> np.ndarray:
    """The 4 ELLIPSE points (major axis ends, then minor axis ends) as (col, row) array coords."""
    r, c = center_rc
    a_c, a_r = max(semi_cols, 0.5), max(semi_rows, 0.5)
    horiz = [(c - a_c, r), (c + a_c, r)]
    vert = [(c, r - a_r), (c, r + a_r)]
    return np.array(horiz + vert if a_c >= a_r else vert + horiz, dtype=float)


def _hull(points_cr: np.ndarray, pad_px: float) -> np.ndarray | None:
    """Closed convex hull (col, row) of a cluster's members, pushed out from the centroid by ``pad_px``."""
    from scipy.spatial import ConvexHull, QhullError

    pts = np.unique(np.asarray(points_cr, dtype=float), axis=0)
    if len(pts) < 3:
        return None
    try:
        hull = ConvexHull(pts)
    except (QhullError, ValueError):
        return None
    ring = pts[hull.vertices]
    centre = ring.mean(axis=0)
    d = ring - centre
    norm = np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    ring = ring + d / norm * pad_px
    return np.vstack([ring, ring[:1]])


def _default_detections(result) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for f in result.findings:
        out.setdefault(f.model, [])
        kinds = [f.kind] + [m.kind for m in f.members]
        for k in kinds:
            if k not in out[f.model]:
                out[f.model].append(k)
    for ref in result.models:
        if ref not in out or not out[ref]:
            out[ref] = ["calcification", "calcification_cluster", "mass"]
        elif "calcification_cluster" in out[ref] and "calcification" not in out[ref]:
            out[ref].append("calcification")
    return {k: tuple(v) for k, v in out.items()}


def build_cad_sr(
    result,
    *,
    image,
    mapping=None,
    detections: Mapping[str, Sequence[str]] | None = None,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    series_number: int = 800,
    instance_number: int = 1,
    manufacturer: str = MANUFACTURER,
    model_name: str = "Crescent CAD",
) -> Dataset:
    """The Mammography CAD SR dataset of a CAD result on one Breast Tomosynthesis Image.

    Parameters
    ----------
    result : cad.CaseResult
        Findings with ``center_index`` in the array order of the volume read from ``image``.
    image : path or pydicom Dataset
        The Breast Tomosynthesis Image the findings were detected on (header only is read).
    mapping : FrameMapping, optional
        Array -> stored frame mapping; default the tomosynthesis reader's (from ``image``).
    detections : mapping, optional
        ``{"id@version": ("calcification", "calcification_cluster", "mass", ...)}``: what each
        algorithm looked for (Summary of Detections). Default: from the findings and
        ``result.models`` (calcification and mass detection for a model without findings).

    Returns
    -------
    pydicom.dataset.Dataset
        A Mammography CAD SR (SOP Class 1.2.840.10008.5.1.4.1.1.88.50) ready to save.
    """
    from cad.types import CaseResult

    if not isinstance(result, CaseResult):
        raise TypeError(f"build_cad_sr: result must be a cad.CaseResult, got {type(result).__name__}")
    src, where = _read_image_header(image)
    if str(src.get("SOPClassUID", "")) != uids.BTO:
        raise InputError(
            f"{where}: SOPClassUID {src.get('SOPClassUID', '?')} is not a Breast Tomosynthesis Image ({uids.BTO})"
        )
    mapping = mapping or frame_mapping_for(src)
    from app.dicom.readers.attrs import functional_group, get_floats
    from app.dicom.readers.base import breast_identity

    ident = breast_identity(src)
    laterality, view = ident["laterality"], ident["view"]
    if laterality not in SIDE:
        raise InputError(f"{where}: FrameLaterality/ImageLaterality is missing; the CAD SR needs the breast side")
    spacing = get_floats(functional_group(src, 0, "PixelMeasuresSequence"), "PixelSpacing") or [0.1, 0.1]
    dy, dx = float(spacing[0]), float(spacing[1])
    bto_class, bto_uid = uids.BTO, str(src.SOPInstanceUID)
    detections = dict(detections) if detections is not None else _default_detections(result)
    for ref, kinds in detections.items():
        bad = [k for k in kinds if k not in KIND_CODES]
        if bad:
            raise ValueError(f"build_cad_sr: detections of {ref} name unknown kinds {bad}")

    # -- geometry of every finding (and member) on its focal frame
    def place(f):
        frame, x, y = array_to_stored(mapping, *f.center_index)
        return frame, (x, y)

    frames_used: list[int] = []
    placed = {}
    for f in result.findings:
        for g in (f, *f.members):
            frame, xy = place(g)
            placed[id(g)] = (frame, xy)
            if frame not in frames_used:
                frames_used.append(frame)

    # -- Image Library (TID 4020): the whole BTO first, then one entry per frame a mark is on
    study_date = str(src.get("StudyDate", "") or "")
    from app.dicom.views import view_code

    def library_entry(frames):
        ctx = [_code_item("HAS ACQ CONTEXT", IMAGE_LATERALITY, SIDE[laterality])]
        if view:
            ctx.append(_code_item("HAS ACQ CONTEXT", IMAGE_VIEW, view_code(view)))
        if study_date:
            ctx.append(_date_item("HAS ACQ CONTEXT", STUDY_DATE, study_date))
        ctx.append(_num_item("HAS ACQ CONTEXT", HORIZONTAL_PIXEL_SPACING, dx * 1000.0, MICROMETER))
        ctx.append(_num_item("HAS ACQ CONTEXT", VERTICAL_PIXEL_SPACING, dy * 1000.0, MICROMETER))
        return _image_item("CONTAINS", bto_class, bto_uid, frames, ctx)

    library_items = [library_entry(None)] + [library_entry([fr]) for fr in frames_used]
    lib_pos = 2  # position of the Image Library among the root's children (after the language)
    whole_ref = [1, lib_pos, 1]
    frame_ref = {fr: [1, lib_pos, 2 + i] for i, fr in enumerate(frames_used)}

    # -- findings (TID 4001 / 4003 / 4006)
    def single_image_finding(f, relationship, intent):
        frame, (x, y) = placed[id(f)]
        ref = frame_ref[frame]
        items = [_code_item("HAS CONCEPT MOD", RENDERING_INTENT, intent), *_algorithm(f.model)]
        items.append(_num_item("HAS PROPERTIES", CERTAINTY_OF_FINDING, round(f.score, 3), PERCENT))
        items.append(_scoord_item("HAS PROPERTIES", CENTER, "POINT", [(x, y)], [_by_reference("SELECTED FROM", ref)]))
        outline = None
        if f.kind == "calcification_cluster" and len(f.members) >= 3:
            ring = _hull(np.array([(m.center_index[2], m.center_index[1]) for m in f.members]), 0.5 / dx)
            if ring is not None:
                outline = ("POLYLINE", mapping.to_stored(ring))
        if outline is None and f.kind != "calcification":
            semi_r = f.extent_mm[1] / 2.0 / dy
            semi_c = f.extent_mm[0] / 2.0 / dx
            pts = _ellipse((f.center_index[1], f.center_index[2]), semi_r, semi_c)
            outline = ("ELLIPSE", mapping.to_stored(pts))
        if outline is not None:
            items.append(
                _scoord_item("HAS PROPERTIES", OUTLINE, outline[0], outline[1], [_by_reference("SELECTED FROM", ref)])
            )
        for m in f.members:
            items.append(single_image_finding(m, "INFERRED FROM", PRESENTATION_OPTIONAL))
        return _code_item(relationship, SINGLE_IMAGE_FINDING, KIND_CODES[f.kind], items)

    impressions = []
    for f in result.findings:
        impressions.append(
            _container(
                "INFERRED FROM",
                INDIVIDUAL_IMPRESSION,
                [
                    _code_item("HAS CONCEPT MOD", RENDERING_INTENT, PRESENTATION_REQUIRED),
                    single_image_finding(f, "CONTAINS", PRESENTATION_REQUIRED),
                ],
            )
        )
    summary = _code_item(
        "CONTAINS", CAD_SUMMARY, ALL_SUCCEEDED_WITH if result.findings else ALL_SUCCEEDED_WITHOUT, impressions
    )

    # -- Summary of Detections (TID 4015 / 4017)
    performed = []
    for ref, kinds in detections.items():
        for kind in kinds:
            performed.append(
                _code_item(
                    "CONTAINS",
                    DETECTION_PERFORMED,
                    KIND_CODES[kind],
                    [*_algorithm(ref), _by_reference("INFERRED FROM", whole_ref)],
                )
            )
    if performed:
        detections_item = _code_item(
            "CONTAINS",
            SUMMARY_OF_DETECTIONS,
            SUCCEEDED,
            [_container("INFERRED FROM", SUCCESSFUL_DETECTIONS, performed)],
        )
    else:
        detections_item = _code_item("CONTAINS", SUMMARY_OF_DETECTIONS, NOT_ATTEMPTED)
    analyses_item = _code_item("CONTAINS", SUMMARY_OF_ANALYSES, NOT_ATTEMPTED)

    # -- document
    ds = base_dataset(MAMMOGRAPHY_CAD_SR, sop_instance_uid)
    for keyword in (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyInstanceUID",
        "StudyDate",
        "StudyTime",
        "ReferringPhysicianName",
        "StudyID",
        "AccessionNumber",
        "StudyDescription",
    ):
        if keyword in src:
            setattr(ds, keyword, src.data_element(keyword).value)
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime"):
        if keyword not in ds:
            setattr(ds, keyword, "")
    for keyword in ("ReferringPhysicianName", "StudyID", "AccessionNumber"):
        if keyword not in ds:
            setattr(ds, keyword, "")
    ds.Modality = "SR"
    ds.SeriesInstanceUID = series_instance_uid or new_uid()
    ds.SeriesNumber = int(series_number)
    ds.SeriesDescription = "CAD results"
    ds.ReferencedPerformedProcedureStepSequence = DicomSequence()
    ds.Manufacturer = manufacturer
    ds.ManufacturerModelName = model_name
    ds.SoftwareVersions = SOFTWARE_VERSION
    ds.InstanceNumber = int(instance_number)
    now = _dt.datetime.now()
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.PerformedProcedureCodeSequence = DicomSequence()
    sop = Dataset()
    sop.ReferencedSOPClassUID = bto_class
    sop.ReferencedSOPInstanceUID = bto_uid
    series = Dataset()
    series.SeriesInstanceUID = str(src.get("SeriesInstanceUID", "") or new_uid())
    series.ReferencedSOPSequence = DicomSequence([sop])
    study = Dataset()
    study.StudyInstanceUID = str(src.get("StudyInstanceUID", ""))
    study.ReferencedSeriesSequence = DicomSequence([series])
    ds.CurrentRequestedProcedureEvidenceSequence = DicomSequence([study])
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = DicomSequence([_code(ROOT)])
    ds.ContinuityOfContent = "SEPARATE"
    template = Dataset()
    template.MappingResource = "DCMR"
    template.TemplateIdentifier = "4000"
    ds.ContentTemplateSequence = DicomSequence([template])
    ds.ContentSequence = DicomSequence(
        [
            _code_item("HAS CONCEPT MOD", LANGUAGE, ENGLISH_US),
            _container("CONTAINS", IMAGE_LIBRARY, library_items),
            summary,
            detections_item,
            analyses_item,
        ]
    )
    return ds


def write_cad_sr(result, path, *, volume=None, image=None, **options) -> WrittenObject:
    """Write the Mammography CAD SR of ``result`` to ``path`` (see :func:`build_cad_sr`).

    Give the volume the findings were detected on (``volume``: a ``recon.Volume`` from
    ``app.dicom.read_volume`` of one Breast Tomosynthesis Image) or the image itself
    (``image``: its path or dataset).
    """
    if (volume is None) == (image is None):
        raise TypeError("write_cad_sr: give exactly one of volume= or image=")
    if volume is not None:
        image = bto_path(getattr(volume, "metadata", None) or {})
    ds = build_cad_sr(result, image=image, **options)
    out = save(ds, path)
    return WrittenObject(
        path=out,
        sop_class_uid=MAMMOGRAPHY_CAD_SR,
        sop_instance_uid=str(ds.SOPInstanceUID),
        series_instance_uid=str(ds.SeriesInstanceUID),
        study_instance_uid=str(ds.StudyInstanceUID),
        frame_of_reference_uid=None,
    )


# ---------------------------------------------------------------------------- reader


def _as_list(value) -> list:
    """A DICOM value of VM 1-n as a list (empty for None/empty)."""
    if value is None or value == "":
        return []
    if isinstance(value, MultiValue | list | tuple):
        return list(value)
    return [value]


class _Tree:
    """Content items of an SR with their position identifiers (for by-reference relationships)."""

    def __init__(self, root: Dataset):
        self.root = root
        self.by_id: dict[tuple[int, ...], Dataset] = {(1,): root}
        self._index(root, (1,))

    def _index(self, item: Dataset, ident: tuple[int, ...]) -> None:
        for i, child in enumerate(item.get("ContentSequence", []) or [], start=1):
            cid = (*ident, i)
            self.by_id[cid] = child
            self._index(child, cid)

    def resolve(self, item: Dataset) -> Dataset | None:
        """The target of a by-reference item (the item itself otherwise)."""
        ref = item.get("ReferencedContentItemIdentifier", None)
        if ref is None:
            return item
        return self.by_id.get(tuple(int(v) for v in _as_list(ref)))


def _concept(item: Dataset) -> tuple[str, str]:
    seq = item.get("ConceptNameCodeSequence", None)
    if not seq:
        return "", ""
    c = seq[0]
    return str(c.get("CodeValue", "") or c.get("LongCodeValue", "") or ""), str(c.get("CodingSchemeDesignator", ""))


def _code_value(item: Dataset) -> tuple[str, str]:
    seq = item.get("ConceptCodeSequence", None)
    if not seq:
        return "", ""
    c = seq[0]
    return str(c.get("CodeValue", "") or c.get("LongCodeValue", "") or ""), str(c.get("CodingSchemeDesignator", ""))


def _is(item: Dataset, concept) -> bool:
    value, scheme = _concept(item)
    return value == concept[0] and scheme == concept[1]


def _kids(item: Dataset) -> list[Dataset]:
    return list(item.get("ContentSequence", []) or [])


def _num(item: Dataset) -> float | None:
    seq = item.get("MeasuredValueSequence", None)
    if not seq:
        return None
    try:
        return float(seq[0].NumericValue)
    except (AttributeError, TypeError, ValueError):
        return None


def _kind(item: Dataset) -> str | None:
    value, scheme = _code_value(item)
    if scheme == "SRT":
        value = _srt_to_sct(value)
    return _KIND_OF_CODE.get(value)


class _Reader:
    def __init__(self, path: Path, ds: Dataset, mapping, grid, sop_uid: str | None):
        self.path = path
        self.ds = ds
        self.tree = _Tree(ds)
        self.mapping = mapping
        self.grid = grid
        self.sop_uid = sop_uid
        self.spacing = (0.1, 0.1)  # (dy, dx) mm, from the Image Library when given
        self.n_finding = 0

    def fail(self, what: str):
        raise InputError(f"{self.path}: {what}")

    def image_ref(self, scoord: Dataset, label: str) -> tuple[str, int]:
        """(SOP Instance UID, frame number) of the IMAGE a SCOORD is selected from."""
        for child in _kids(scoord):
            if str(child.get("RelationshipType", "")) != "SELECTED FROM":
                continue
            target = self.tree.resolve(child)
            if target is None:
                self.fail(
                    f"{label}: SELECTED FROM refers to content item {list(child.ReferencedContentItemIdentifier)}"
                    " that does not exist"
                )
            refs = target.get("ReferencedSOPSequence", None)
            if str(target.get("ValueType", "")) != "IMAGE" or not refs:
                self.fail(f"{label}: SELECTED FROM does not lead to an IMAGE content item")
            ref = refs[0]
            frames = _as_list(ref.get("ReferencedFrameNumber", None))
            frame = int(frames[0]) if frames else 1
            return str(ref.get("ReferencedSOPInstanceUID", "")), frame
        self.fail(f"{label}: SCOORD has no SELECTED FROM image reference")

    def points(self, scoord: Dataset, label: str) -> np.ndarray:
        data = scoord.get("GraphicData", None)
        try:
            pts = np.asarray([float(v) for v in data], dtype=float).reshape(-1, 2)
        except (TypeError, ValueError):
            self.fail(f"{label}: GraphicData is missing or not (column, row) pairs")
        if len(pts) == 0 or not np.all(np.isfinite(pts)):
            self.fail(f"{label}: GraphicData is empty or not finite")
        return pts

    def finding(self, item: Dataset, label: str):
        from cad.types import Finding

        kind = _kind(item)
        if kind is None:
            return None
        intent = None
        score = None
        name = version = ""
        center = outline = None
        members = []
        for child in _kids(item):
            child = self.tree.resolve(child) if "ReferencedContentItemIdentifier" in child else child
            if child is None:
                continue
            if _is(child, RENDERING_INTENT):
                intent = _code_value(child)[0]
            elif _is(child, ALGORITHM_NAME):
                name = str(child.get("TextValue", ""))
            elif _is(child, ALGORITHM_VERSION):
                version = str(child.get("TextValue", ""))
            elif _is(child, CERTAINTY_OF_FINDING):
                score = _num(child)
            elif _is(child, PROBABILITY_OF_CANCER) and score is None:
                score = _num(child)
            elif _is(child, CENTER) and str(child.get("ValueType", "")) == "SCOORD":
                center = child
            elif _is(child, OUTLINE) and str(child.get("ValueType", "")) == "SCOORD":
                outline = child
            elif _is(child, SINGLE_IMAGE_FINDING):
                self.n_finding += 1
                sub = self.finding(child, f"Single Image Finding #{self.n_finding}")
                if sub is not None:
                    members.append(sub)
        if intent == NOT_FOR_PRESENTATION[0]:
            return None
        if center is None and outline is None:
            self.fail(f"{label} ({kind}): no Center (111010) or Outline (111041) SCOORD")
        geo = center if center is not None else outline
        uid, frame = self.image_ref(geo, f"{label} ({kind})")
        if self.sop_uid and uid != self.sop_uid:
            return None  # a mark on another image of the study
        pts = self.points(geo, f"{label} ({kind}) {'Center' if center is not None else 'Outline'}")
        xy = pts[0] if center is not None else pts[:-1].mean(axis=0) if len(pts) > 2 else pts.mean(axis=0)
        try:
            k, row, col = stored_to_array(self.mapping, frame, xy[0], xy[1])
        except ValueError as exc:
            self.fail(f"{label} ({kind}): {exc}")
        dy, dx = self.spacing
        if self.grid is not None:
            dz, dy, dx = self.grid.voxel_mm
        else:
            dz = 1.0
        extent = (dx, dy, dz)
        if outline is not None:
            opts = self.points(outline, f"{label} ({kind}) Outline")
            arr = np.array([stored_to_array(self.mapping, frame, x, y)[1:] for x, y in opts])
            span = arr.max(axis=0) - arr.min(axis=0)
            extent = (max(float(span[1]) * dx, dx), max(float(span[0]) * dy, dy), dz)
        if self.grid is not None:
            mm = tuple(float(v) for v in self.grid.index_to_mm((k, row, col)))
        else:
            mm = (col * dx, row * dy, k * dz)
        score = 0.0 if score is None else min(max(float(score), 0.0), 100.0)
        model = f"{name}@{version}" if name and version else (name or "unknown")
        return Finding(kind, (float(k), row, col), mm, extent, score, model, tuple(members))

    def read(self):
        from cad.types import CaseResult

        root = self.ds
        if not _is(root, ROOT):
            value, scheme = _concept(root)
            self.fail(
                f"root content item is ({value or '?'}, {scheme or '?'}), not (111036, DCM, Mammography CAD Report)"
            )
        library = next((c for c in _kids(root) if _is(c, IMAGE_LIBRARY)), None)
        if library is None:
            self.fail("Image Library (111028) is missing")
        for entry in _kids(library):
            for ctx in _kids(entry):
                v = _num(ctx)
                if v and _is(ctx, HORIZONTAL_PIXEL_SPACING):
                    self.spacing = (self.spacing[0], v / 1000.0)
                elif v and _is(ctx, VERTICAL_PIXEL_SPACING):
                    self.spacing = (v / 1000.0, self.spacing[1])
        summary = next((c for c in _kids(root) if _is(c, CAD_SUMMARY)), None)
        if summary is None:
            self.fail("CAD Processing and Findings Summary (111017) is missing")
        findings = []
        models = []
        for imp in _kids(summary):
            imp = self.tree.resolve(imp)
            if imp is None or not _is(imp, INDIVIDUAL_IMPRESSION):
                continue
            for child in _kids(imp):
                child = self.tree.resolve(child)
                if child is None:
                    continue
                candidates = [child] if _is(child, SINGLE_IMAGE_FINDING) else []
                if _is(child, COMPOSITE_FEATURE):  # a composite (e.g. mass = densities): its findings
                    candidates = [self.tree.resolve(c) for c in _kids(child)]
                    candidates = [c for c in candidates if c is not None and _is(c, SINGLE_IMAGE_FINDING)]
                for c in candidates:
                    self.n_finding += 1
                    f = self.finding(c, f"Single Image Finding #{self.n_finding}")
                    if f is not None:
                        findings.append(f)
                        if f.model not in models:
                            models.append(f.model)
        case_score = max((f.score for f in findings), default=0.0)
        return CaseResult(tuple(findings), case_score, tuple(models))


def _identity_mapping():
    from app.dicom.report_sr import FrameMapping

    return FrameMapping.identity()


def read_cad_sr(path, *, volume_metadata: Mapping | None = None, grid=None):
    """Read a Mammography CAD SR (ours or another system's TID 4000 tree) back into findings.

    Parameters
    ----------
    path : str or Path
        The SR file.
    volume_metadata : dict, optional
        ``metadata`` of the volume the findings are wanted on (``app.dicom.read_volume``):
        only marks on that Breast Tomosynthesis Image are kept, and SCOORDs are mapped from
        its stored frames into the volume's array order (reader's flips and frame order).
        Without it, marks are kept in stored-frame order (slice = frame - 1, no flips).
    grid : recon.VolumeGrid, optional
        The volume's grid, for ``center_mm`` and ``extent_mm``; without it, positions are
        voxel indices times the Image Library's pixel spacing (1 mm slices).

    Returns
    -------
    cad.CaseResult
        Findings in the volume's array order; the case score is the highest finding score
        (TID 4000 has no case-level score). Findings marked "Not for Presentation" are left out.

    Raises
    ------
    app.errors.InputError
        The file is not a readable Mammography CAD SR, or a finding lacks its geometry; the
        message names the file and the content item.
    """
    import pydicom

    path = Path(path)
    try:
        ds = pydicom.dcmread(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except Exception as exc:
        raise InputError(f"{path}: not a readable DICOM file ({type(exc).__name__}: {exc})") from None
    cls = str(ds.get("SOPClassUID", ""))
    if cls != MAMMOGRAPHY_CAD_SR and not _is(ds, ROOT):
        raise InputError(f"{path}: SOPClassUID {cls or '?'} is not a Mammography CAD SR ({MAMMOGRAPHY_CAD_SR})")
    if str(ds.get("ValueType", "")) != "CONTAINER":
        raise InputError(f"{path}: the document root is not a CONTAINER (ValueType {ds.get('ValueType', '?')})")
    sop_uid = None
    mapping = _identity_mapping()
    if volume_metadata:
        sop_uid = volume_metadata.get("sop_instance_uid") or None
        paths = list(volume_metadata.get("paths") or [])
        if len(paths) == 1 and Path(paths[0]).is_file():
            mapping = frame_mapping_for(paths[0])
    try:
        return _Reader(path, ds, mapping, grid, sop_uid).read()
    except InputError:
        raise
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: malformed content tree ({type(exc).__name__}: {exc})") from None
