"""Reader plugins and the functions that choose between them.

Typical use::

    from app.dicom.readers import examine, load
    result = examine(paths_or_folders)          # headers only; bad files -> result.errors
    for loadable in result.loadables:           # best reader per set of files
        data = load(loadable)                   # ProjectionSet, Volume or Mammogram

Or directly :func:`read_projection_set`, :func:`read_volume`, :func:`read_mammogram`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from app.dicom.readers.base import Header, Loadable, ReaderPlugin, read_header
from app.dicom.readers.geometry import GeometryAssumedWarning
from app.errors import InputError

__all__ = [
    "Header",
    "Loadable",
    "ReaderPlugin",
    "ExamineResult",
    "GeometryAssumedWarning",
    "plugins",
    "register",
    "examine",
    "load",
    "read_projection_set",
    "read_volume",
    "read_mammogram",
    "load_folder",
    "LoadResult",
]

_PLUGINS: list[ReaderPlugin] = []


def register(plugin: ReaderPlugin) -> ReaderPlugin:
    """Add a reader plugin (an instance of a :class:`ReaderPlugin` subclass)."""
    if not isinstance(plugin, ReaderPlugin):
        raise TypeError("register: plugin must be a ReaderPlugin instance")
    _PLUGINS.append(plugin)
    return plugin


def plugins() -> list[ReaderPlugin]:
    """The registered reader plugins."""
    if not _PLUGINS:
        from app.dicom.readers.mammo2d import MammogramReader
        from app.dicom.readers.projection import MultiFrameProjectionReader, SingleFrameProjectionReader
        from app.dicom.readers.tomo import SliceFilesVolumeReader, TomoVolumeReader, VendorTomoDetector

        for cls in (
            MultiFrameProjectionReader,
            SingleFrameProjectionReader,
            TomoVolumeReader,
            SliceFilesVolumeReader,
            MammogramReader,
            VendorTomoDetector,
        ):
            register(cls())
    return list(_PLUGINS)


@dataclass
class ExamineResult:
    """Loadables (best first per set of files) and the files that could not be read."""

    loadables: list[Loadable] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    unclaimed: list[Path] = field(default_factory=list)


def _expand(paths) -> list[Path]:
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and q.name != "DICOMDIR"))
        else:
            out.append(p)
    return out


def examine(paths, *, kind: str | None = None) -> ExamineResult:
    """Read the headers of files (folders are searched recursively) and offer loadables.

    Parameters
    ----------
    paths : path or iterable of paths
        Files and/or folders.
    kind : str, optional
        Keep only loadables of this kind (``projections``, ``volume``, ``image2d``).

    Returns
    -------
    ExamineResult
        For each set of files the most confident loadable (a file belongs to at most one);
        unreadable files as InputErrors (one line, naming the file) in ``errors``; readable
        DICOM files no plugin wanted in ``unclaimed``.
    """
    if kind not in (None, "projections", "volume", "image2d"):
        raise ValueError(f"examine: kind must be projections, volume or image2d, got {kind!r}")
    result = ExamineResult()
    headers = []
    for path in _expand(paths):
        try:
            headers.append(read_header(path))
        except InputError as exc:
            result.errors.append(exc)
    candidates: list[Loadable] = []
    for plugin in plugins():
        try:
            candidates.extend(plugin.examine(headers))
        except InputError as exc:
            result.errors.append(exc)
    candidates.sort(key=lambda c: -c.confidence)
    claimed: set[Path] = set()
    for cand in candidates:
        if any(p in claimed for p in cand.paths):
            continue
        claimed.update(cand.paths)
        if kind is None or cand.kind == kind:
            result.loadables.append(cand)
    result.unclaimed = [h.path for h in headers if h.path not in claimed]
    return result


def load(loadable: Loadable, **options):
    """Load a loadable with the plugin that offered it.

    Options go to the plugin (projection readers take ``preset=`` and ``geometry=``
    overrides). Any failure is an InputError naming the file and the attribute.
    """
    if not isinstance(loadable, Loadable):
        raise TypeError("load: loadable must be a Loadable from examine()")
    geometry = options.get("geometry")
    if geometry is not None:
        from recon.geometry import Geometry

        if not isinstance(geometry, Geometry):
            raise TypeError(f"load: geometry must be a recon.Geometry, got {type(geometry).__name__}")
    for plugin in plugins():
        if plugin.name == loadable.reader:
            try:
                return plugin.load(loadable, **options)
            except (InputError, GeometryAssumedWarning):
                raise
            except Exception as exc:  # malformed input pydicom/numpy choke on
                where = loadable.paths[0] if len(loadable.paths) == 1 else loadable.paths[0].parent
                text = " ".join(str(exc).split())[:120]
                raise InputError(f"{where}: cannot load ({type(exc).__name__}: {text})") from exc
    raise ValueError(f"load: no reader plugin named {loadable.reader!r}")


def _single(paths, kind: str, what: str) -> Loadable:
    result = examine(paths, kind=kind)
    if not result.loadables:
        if result.errors:
            raise result.errors[0]
        raise InputError(f"{_label(paths)}: no {what} found")
    studies = {c.study_uid for c in result.loadables}
    if len(result.loadables) > 1:
        if len(studies) > 1:
            raise InputError(f"{_label(paths)}: {len(studies)} studies mixed ({', '.join(sorted(studies))[:200]})")
        raise InputError(
            f"{_label(paths)}: {len(result.loadables)} {what}s found "
            f"({'; '.join(c.description for c in result.loadables)}); name one file"
        )
    return result.loadables[0]


def _label(paths) -> str:
    if isinstance(paths, str | os.PathLike):
        return str(paths)
    paths = list(paths)
    return str(paths[0]) if len(paths) == 1 else f"{len(paths)} paths"


def read_projection_set(paths, *, preset: str | None = None, geometry=None):
    """Read one projection set (a multi-frame file, or a folder of one file per projection).

    Parameters
    ----------
    paths : path or iterable of paths
    preset : str, optional
        Preset name for geometry attributes the files lack (default: chosen from
        Manufacturer / Manufacturer Model Name; a :class:`GeometryAssumedWarning` names the
        assumed values).
    geometry : recon.Geometry, optional
        Use this geometry instead of the files' attributes.

    Returns
    -------
    recon.ProjectionSet
        ``metadata`` holds ``study`` (PatientStudy), ``laterality``, ``view``, UIDs,
        ``geometry_source``, ``thickness_mm`` and ``warnings``.
    """
    return load(_single(paths, "projections", "projection set"), preset=preset, geometry=geometry)


def read_volume(paths):
    """Read one reconstructed volume (Breast Tomosynthesis Image, or one slice per file).

    Returns
    -------
    recon.Volume
        ``metadata``: ``study``, ``laterality``, ``view``, ``patient_orientation``, ``window``
        (centre, width in data units), ``units``, UIDs, ``reconstruction``.
    """
    return load(_single(paths, "volume", "volume"))


def read_mammogram(paths):
    """Read one 2D mammogram (Digital Mammography For Presentation / For Processing).

    Returns
    -------
    app.dicom.Mammogram
    """
    return load(_single(paths, "image2d", "2D mammogram"))


def _sop_class(path) -> str:
    try:
        return str(read_header(path).sop_class_uid)
    except InputError:
        return "?"


@dataclass
class LoadResult:
    """What :func:`load_folder` loaded and what it could not."""

    items: list = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)


def load_folder(paths, *, kind: str | None = None) -> LoadResult:
    """Load everything loadable under ``paths``; bad files become errors, the rest loads."""
    result = examine(paths, kind=kind)
    out = LoadResult(errors=list(result.errors))
    if kind is None:
        for path in result.unclaimed:
            out.errors.append(InputError(f"{path}: SOPClassUID {_sop_class(path)} is not an object Crescent loads"))
    for loadable in result.loadables:
        try:
            out.items.append(load(loadable))
        except InputError as exc:
            out.errors.append(exc)
    return out
