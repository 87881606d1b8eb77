"""Reader plugins: each says how confident it is that it can load a set of files.

The pattern follows 3D Slicer's DICOMPlugin: :func:`app.dicom.readers.examine` reads the
headers of the given files once, asks every plugin for :class:`Loadable` candidates (a set
of files plus a confidence from 0 to 1), keeps the most confident candidate for each set of
files, and :func:`app.dicom.readers.load` turns a chosen loadable into data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from app.dicom.identity import PatientStudy
from app.dicom.readers.attrs import first_item, functional_group, get_text, get_value
from app.dicom.views import view_from_code
from app.errors import InputError

__all__ = ["Header", "Loadable", "ReaderPlugin", "read_header", "breast_identity"]


@dataclass(frozen=True)
class Header:
    """A file's path and its dataset (values over 8 KiB, pixel data included, read on access)."""

    path: Path
    ds: Dataset

    @property
    def sop_class_uid(self) -> str:
        return get_text(self.ds, "SOPClassUID")

    @property
    def series_uid(self) -> str:
        return get_text(self.ds, "SeriesInstanceUID")

    @property
    def study_uid(self) -> str:
        return get_text(self.ds, "StudyInstanceUID")

    @property
    def n_frames(self) -> int:
        try:
            return int(get_value(self.ds, "NumberOfFrames", 1) or 1)
        except Exception:
            return 1


@dataclass
class Loadable:
    """A set of files one reader can load, with its confidence (0 to 1).

    Attributes
    ----------
    reader : str
        Name of the plugin that offers it.
    kind : str
        ``"projections"`` (-> recon.ProjectionSet), ``"volume"`` (-> recon.Volume) or
        ``"image2d"`` (-> app.dicom.Mammogram).
    headers : list of Header
    confidence : float
    description : str
        One line for a chooser: laterality, view, what it is.
    warnings : list of str
        What the reader noticed (e.g. geometry it will have to assume).
    """

    reader: str
    kind: str
    headers: list[Header]
    confidence: float
    description: str
    warnings: list[str] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [h.path for h in self.headers]

    @property
    def study_uid(self) -> str:
        return self.headers[0].study_uid

    @property
    def series_uid(self) -> str:
        return self.headers[0].series_uid


class ReaderPlugin:
    """Base class of reader plugins (subclass, set ``name``/``kind``, implement both methods)."""

    name = "base"
    kind = ""

    def examine(self, headers: list[Header]) -> list[Loadable]:  # pragma: no cover - interface
        """Candidates among ``headers`` (all files of the request) with confidences."""
        raise NotImplementedError

    def load(self, loadable: Loadable, **options):  # pragma: no cover - interface
        """Read the data of a loadable this plugin offered."""
        raise NotImplementedError


def read_header(path) -> Header:
    """The header of one file, or an InputError naming it (non-DICOM, truncated header)."""
    path = Path(path)
    try:
        # the whole file with large values (pixel data) deferred: loaders reuse this dataset
        ds = pydicom.dcmread(path, defer_size=8192)
    except InvalidDicomError:
        raise InputError(f"{path}: not a DICOM file (no DICM preamble)") from None
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a DICOM file") from None
    except Exception as exc:
        raise InputError(f"{path}: unreadable DICOM header ({type(exc).__name__}: {_short(exc)})") from None
    try:  # parse every element now: a malformed one is this file's error, not a crash later
        _parse_elements(ds)
    except Exception as exc:
        raise InputError(f"{path}: malformed header element ({type(exc).__name__}: {_short(exc)})") from None
    if not get_text(ds, "SOPClassUID"):
        raise InputError(f"{path}: SOPClassUID is missing (truncated or incomplete header)")
    return Header(path, ds)


def _parse_elements(ds: Dataset) -> None:
    """Convert every element of ``ds`` (recursively) except values left on disk by ``defer_size``.

    ``Dataset.iterall`` would read the deferred values too: the pixel data of every file
    examined (0.45 GB for a GE-size volume) would sit in memory before anything is loaded.
    """
    for tag in list(ds.keys()):
        raw = ds.get_item(tag, keep_deferred=True)
        if getattr(raw, "is_raw", False) and raw.value is None and raw.length:  # deferred: read on access
            continue
        elem = ds[tag]
        if elem.VR == "SQ":
            for item in elem.value:
                _parse_elements(item)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:120]


def laterality_of(ds: Dataset) -> tuple[str | None, list[str]]:
    """Laterality from Frame Laterality (shared, then first frame), then Image Laterality, then Laterality.

    Returns the laterality (``R``/``L`` or None) and notes on disagreements.
    """
    notes = []
    frame_lat = get_text(functional_group(ds, 0, "FrameAnatomySequence"), "FrameLaterality")
    image_lat = get_text(ds, "ImageLaterality")
    series_lat = get_text(ds, "Laterality")
    found = [v for v in (frame_lat, image_lat, series_lat) if v in ("R", "L")]
    if len(set(found)) > 1:
        notes.append(
            f"laterality disagrees: FrameLaterality={frame_lat or '-'}, ImageLaterality={image_lat or '-'}, "
            f"Laterality={series_lat or '-'}; using {found[0]}"
        )
    return (found[0] if found else None), notes


def view_of(ds: Dataset) -> str | None:
    """View from View Code Sequence (SNOMED CT or legacy SRT), then View Position."""
    code = first_item(ds, "ViewCodeSequence")
    if code is not None:
        view = view_from_code(get_text(code, "CodeValue"))
        if view:
            return view
    position = get_text(ds, "ViewPosition").upper()
    if position in ("CC", "MLO", "ML", "LM", "LMO", "FB", "SIO", "ISO", "XCCL", "XCCM"):
        return position
    return None


def breast_identity(ds: Dataset) -> dict:
    """Metadata every reader returns: study identity, laterality, view, orientation, UIDs."""
    laterality, notes = laterality_of(ds)
    view = view_of(ds)
    orientation = get_value(ds, "PatientOrientation", None)
    try:
        orientation = tuple(str(v) for v in orientation) if orientation is not None else None
    except Exception:
        orientation = None
    return {
        "study": PatientStudy.from_dataset(ds, laterality=laterality, view=view),
        "laterality": laterality,
        "view": view,
        "patient_orientation": orientation,
        "sop_class_uid": get_text(ds, "SOPClassUID"),
        "sop_instance_uid": get_text(ds, "SOPInstanceUID"),
        "series_instance_uid": get_text(ds, "SeriesInstanceUID"),
        "study_instance_uid": get_text(ds, "StudyInstanceUID"),
        "frame_of_reference_uid": get_text(ds, "FrameOfReferenceUID"),
        "manufacturer": get_text(ds, "Manufacturer"),
        "model_name": get_text(ds, "ManufacturerModelName"),
        "warnings": notes,
    }
