"""DICOM in and out: reader plugins, writers, identity, de-identification.

Public API (everything takes keyword-only options; bad input raises ``app.errors.InputError``
with a one-line message naming the file and the attribute):

Reading
    ``read_projection_set(paths, *, preset=None, geometry=None) -> recon.ProjectionSet``
    ``read_volume(paths) -> recon.Volume``
    ``read_mammogram(paths) -> Mammogram``
    ``examine(paths, *, kind=None) -> ExamineResult`` (loadables with confidences + errors)
    ``load(loadable, **options)``; ``load_folder(paths, *, kind=None) -> LoadResult``
Writing
    ``write_projection_set(projections, path, *, study, ...) -> WrittenObject``
    ``write_tomosynthesis(volume, path, *, study, projections=None, source=None, ...) -> WrittenObject``
    ``write_synthetic_2d(image, path, *, study, pixel_mm, source=None, ...) -> WrittenObject``
Identity
    ``PatientStudy`` (patient, study, laterality, view); ``new_uid()``
De-identification
    ``deidentify(...)`` in :mod:`app.dicom.deidentify`
"""

from app.dicom.identity import PatientStudy, new_uid
from app.dicom.image2d import Mammogram
from app.dicom.readers import (
    ExamineResult,
    GeometryAssumedWarning,
    Loadable,
    LoadResult,
    examine,
    load,
    load_folder,
    read_mammogram,
    read_projection_set,
    read_volume,
)
from app.dicom.writers import WrittenObject, write_projection_set, write_synthetic_2d, write_tomosynthesis

__all__ = [
    "PatientStudy",
    "new_uid",
    "Mammogram",
    "ExamineResult",
    "GeometryAssumedWarning",
    "Loadable",
    "LoadResult",
    "examine",
    "load",
    "load_folder",
    "read_mammogram",
    "read_projection_set",
    "read_volume",
    "WrittenObject",
    "write_projection_set",
    "write_synthetic_2d",
    "write_tomosynthesis",
]
