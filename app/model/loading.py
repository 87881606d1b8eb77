"""Studies for the viewer from files, folders or the store.

DICOM goes through the reader plugins of :mod:`app.dicom.readers` (DBT volumes, 2D and
synthetic 2D mammograms; projection sets are returned for reconstruction). ``.npz`` files
(one image each: see :func:`save_npz`) are accepted for tests and quick looks. The store is
:mod:`app.store`. Imports of those packages happen inside the functions, so the model stays
importable without them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.errors import InputError
from app.model.image import DisplayImage
from app.model.study import Study
from app.model.worklist import WorklistEntry, WorklistModel

__all__ = [
    "LoadResult",
    "load_paths",
    "load_npz",
    "save_npz",
    "image_from_volume",
    "image_from_mammogram",
    "load_store_study",
    "worklist_from_store",
    "looks_like_uid",
]

_UID = re.compile(r"^[0-9]+(\.[0-9]+)+\Z")


def looks_like_uid(text: str) -> bool:
    """Whether ``text`` has the form of a DICOM UID (digits and dots)."""
    return bool(_UID.match(str(text))) and len(str(text)) <= 64


@dataclass
class LoadResult:
    """A study for the viewer, projection sets found on the way, and warnings (one line each).

    ``projections`` holds the projection sets with no reconstructed volume of the same
    laterality and view in the study (the ones to reconstruct); projection sets whose volume
    is there are not loaded (they are inputs, not images to hang) and are listed in ``covered``
    as "R CC"-style labels.
    """

    study: Study
    projections: list = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    covered: list[str] = field(default_factory=list)


def save_npz(path: str | os.PathLike, image: DisplayImage, *, study: Study | None = None) -> Path:
    """Write one image as ``.npz`` (pixels plus display facts) readable by :func:`load_npz`."""
    path = Path(path)
    extra = {}
    if study is not None:
        extra = dict(
            patient_name=study.patient_name,
            patient_id=study.patient_id,
            study_uid=study.study_uid,
            study_date=study.study_date,
        )
    po = image.patient_orientation
    np.savez(
        path,
        data=image.data,
        kind=image.kind,
        laterality=image.laterality,
        view=image.view,
        pixel_mm=np.asarray(image.pixel_mm),
        origin_mm=np.asarray(image.origin_mm),
        slice_heights_mm=image.slice_heights_mm,
        patient_orientation="" if po is None else "\\".join(po),
        magnification=image.magnification,
        window=np.asarray(image.window if image.window is not None else (np.nan, np.nan)),
        **extra,
    )
    return path


def load_npz(path: str | os.PathLike) -> tuple[DisplayImage, dict]:
    """Read an image written by :func:`save_npz`; returns it and the study facts in the file."""
    path = Path(path)
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .npz file ({exc})") from exc
    with z:
        if "data" not in z:
            raise InputError(f"{path}: no 'data' array")
        data = np.asarray(z["data"])
        if data.dtype != np.float32:
            data = data.astype(np.float32)

        def text(key, default=""):
            return str(z[key]) if key in z else default

        window = tuple(float(v) for v in z["window"]) if "window" in z else None
        if window is not None and not all(np.isfinite(window)):
            window = None
        try:
            image = DisplayImage(
                data,
                kind=text("kind", "tomo"),
                laterality=text("laterality", "R"),
                view=text("view", "CC"),
                pixel_mm=tuple(z["pixel_mm"]) if "pixel_mm" in z else (0.1, 0.1),
                origin_mm=tuple(z["origin_mm"]) if "origin_mm" in z else (0.0, 0.0),
                slice_heights_mm=z["slice_heights_mm"] if "slice_heights_mm" in z else None,
                patient_orientation=text("patient_orientation") or None,
                magnification=float(z["magnification"]) if "magnification" in z else 1.0,
                window=window,
                uid=str(path),
            )
        except (TypeError, ValueError) as exc:
            raise InputError(f"{path}: {exc}") from exc
        facts = {k: text(k) for k in ("patient_name", "patient_id", "study_uid", "study_date") if k in z}
    return image, facts


def _window(meta: dict):
    w = meta.get("window")
    if w is None:
        return None
    try:
        c, width = (float(v) for v in w)
    except (TypeError, ValueError):
        return None
    return (c, width) if width > 0 else None


def _uid(meta: dict, fallback: str) -> str:
    for key in ("sop_instance_uid", "series_instance_uid"):
        if meta.get(key):
            return str(meta[key])
    paths = meta.get("paths") or []
    return str(paths[0]) if paths else fallback


def image_from_volume(volume, *, kind: str | None = None) -> DisplayImage:
    """A DBT stack from a :class:`recon.Volume` (a reader's or a reconstruction's).

    The array is in the project's order (no Patient Orientation needed); laterality, view
    and window come from ``volume.metadata``.
    """
    md = dict(volume.metadata or {})
    lat = md.get("laterality") or "R"
    if lat not in ("R", "L"):
        raise InputError(f"{_uid(md, 'volume')}: laterality {lat!r} is not R or L; cannot hang the volume")
    return DisplayImage.from_volume(
        volume,
        kind=kind or md.get("kind", "tomo"),
        laterality=lat,
        view=md.get("view") or "CC",
        patient_orientation=None,
        window=_window(md),
        uid=_uid(md, "volume"),
    )


def image_from_mammogram(mammogram) -> DisplayImage:
    """A 2D image from an :class:`app.dicom.image2d.Mammogram` (synthetic 2D when flagged)."""
    md = dict(mammogram.metadata or {})
    lat = md.get("laterality") or "R"
    if lat not in ("R", "L"):
        raise InputError(f"{_uid(md, 'image')}: laterality {lat!r} is not R or L; cannot hang the image")
    mag = md.get("magnification") or md.get("estimated_magnification") or 1.0
    return DisplayImage(
        mammogram.data,
        kind="synthetic2d" if md.get("synthetic") else "mammo",
        laterality=lat,
        view=md.get("view") or "CC",
        pixel_mm=mammogram.pixel_mm,
        patient_orientation=None,
        magnification=float(mag),
        window=_window(md),
        uid=_uid(md, "image"),
        metadata=md,
    )


def _study_facts(meta: dict) -> dict:
    st = meta.get("study")
    if st is None:
        return {}
    return {
        "patient_name": str(getattr(st, "patient_name", "")),
        "patient_id": str(getattr(st, "patient_id", "")),
        "study_uid": str(getattr(st, "study_instance_uid", "")),
        "study_date": str(getattr(st, "study_date", "")),
        "description": str(getattr(st, "study_description", "")),
    }


def _expand(paths) -> list[Path]:
    out = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise InputError(f"{p}: no such file or folder")
        out.append(p)
    return out


def load_paths(paths, *, source: str = "") -> LoadResult:
    """Load files and folders as one study (DICOM through the reader plugins, ``.npz``).

    Raises
    ------
    app.errors.InputError
        A path is missing, nothing displayable was found, or a file is malformed.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    paths = _expand(paths)
    images: list[DisplayImage] = []
    facts: dict = {}
    warnings: list[str] = []
    projections = []
    covered: list[str] = []
    npz = [p for p in paths if p.is_file() and p.suffix == ".npz"]
    npz += [q for p in paths if p.is_dir() for q in sorted(p.glob("*.npz"))]
    for p in npz:
        image, f = load_npz(p)
        images.append(image)
        facts = facts or f
    dicom_paths = [p for p in paths if not (p.is_file() and p.suffix == ".npz")]
    if dicom_paths:
        from app.dicom.image2d import Mammogram
        from app.dicom.readers import examine, load
        from app.dicom.readers.base import breast_identity
        from recon.types import ProjectionSet, Volume

        result = examine(dicom_paths)
        warnings += [str(e) for e in result.errors]
        # images first, then only the projection sets whose volume is missing
        loadables = sorted(result.loadables, key=lambda lo: lo.kind == "projections")
        for loadable in loadables:
            if loadable.kind == "projections" and loadable.headers:
                ident = breast_identity(loadable.headers[0].ds)
                lat, view = ident.get("laterality"), (ident.get("view") or "").upper()
                if any(im.kind == "tomo" and (im.laterality, im.view) == (lat, view) for im in images):
                    covered.append(f"{lat} {view}")
                    facts = facts or _study_facts(ident)
                    continue
            obj = load(loadable)
            meta = getattr(obj, "metadata", {}) or {}
            warnings += [str(w) for w in meta.get("warnings", [])]
            facts = facts or _study_facts(meta)
            if isinstance(obj, Volume):
                images.append(image_from_volume(obj))
            elif isinstance(obj, Mammogram):
                images.append(image_from_mammogram(obj))
            elif isinstance(obj, ProjectionSet):
                projections.append(obj)
    if not images and not projections:
        label = str(paths[0]) if len(paths) == 1 else f"{len(paths)} paths"
        raise InputError(f"{label}: no DBT volume, mammogram or projection set found")
    study = Study(images=images, source=source or str(paths[0]), **facts)
    return LoadResult(study, projections, warnings, covered)


def load_store_study(study_uid: str, *, store_dir=None) -> LoadResult:
    """Load a study of the store by its Study Instance UID (``UnknownStudyError`` if absent)."""
    from app.store import Store

    with Store.open(store_dir) as store:
        files = store.files(study_uid)
        summary = next((s for s in store.studies() if s.study_uid == study_uid), None)
    result = load_paths(files, source=f"store:{study_uid}")
    if summary is not None:
        st = result.study
        st.patient_name = summary.patient_name or st.patient_name
        st.patient_id = summary.patient_id or st.patient_id
        st.study_uid = study_uid
        st.study_date = summary.study_date or st.study_date
        st.status = summary.status if summary.status in ("unread", "read", "reported") else st.status
    return result


def worklist_from_store(*, store_dir=None) -> WorklistModel:
    """The store's studies as a worklist (patient, date, views, status; CAD score when known)."""
    from app.store import Store

    with Store.open(store_dir) as store:
        summaries = store.studies()
    entries = [
        WorklistEntry(
            study_uid=s.study_uid,
            patient=s.patient_name,
            patient_id=s.patient_id,
            date=s.study_date,
            views=tuple(s.views),
            status=s.status,
            score=getattr(s, "case_score", None),
        )
        for s in summaries
    ]
    return WorklistModel(entries=tuple(entries))
