"""Tiny valid DICOM objects for store and PACS tests (Digital Mammography X-Ray For Presentation)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

DM_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
VIEW_CODES = {"CC": ("399162004", "cranio-caudal"), "MLO": ("399368009", "medio-lateral oblique")}


def tiny_dm(
    *,
    study_uid: str,
    series_uid: str,
    sop_uid: str | None = None,
    patient_id: str = "P001",
    patient_name: str = "Doe^Jane",
    laterality: str = "L",
    view: str = "CC",
    instance_number: int = 1,
    study_date: str = "20240115",
    rows: int = 8,
    columns: int = 6,
    seed: int = 0,
    transfer_syntax: str = ExplicitVRLittleEndian,
) -> Dataset:
    """A small Digital Mammography X-Ray Image For Presentation with random 12-bit pixels."""
    ds = Dataset()
    ds.SOPClassUID = DM_FOR_PRESENTATION
    ds.SOPInstanceUID = sop_uid or generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyDate = study_date
    ds.StudyTime = "101500"
    ds.AccessionNumber = "A" + patient_id
    ds.StudyID = "1"
    ds.StudyDescription = "Screening mammography"
    ds.ReferringPhysicianName = ""
    ds.Modality = "MG"
    ds.Manufacturer = "Crescent Test"
    ds.ManufacturerModelName = "Tiny"
    ds.SeriesNumber = 1
    ds.InstanceNumber = instance_number
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.ImageLaterality = laterality
    ds.ViewPosition = view
    code = Dataset()
    code.CodeValue, code.CodeMeaning = VIEW_CODES[view]
    code.CodingSchemeDesignator = "SCT"
    ds.ViewCodeSequence = [code]
    ds.BodyPartExamined = "BREAST"
    ds.PatientOrientation = ["A", "R"] if laterality == "L" else ["P", "L"]
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelSpacing = [0.1, 0.1]
    pixels = np.random.default_rng(seed).integers(0, 4096, size=(rows, columns), dtype=np.uint16)
    ds.PixelData = pixels.tobytes()
    return ds


def write(ds: Dataset, path: str | os.PathLike[str]) -> Path:
    """Write ``ds`` as a DICOM Part 10 file (folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_study(
    folder: str | os.PathLike[str],
    *,
    n_files: int,
    patient_id: str = "P001",
    study_uid: str | None = None,
    seed: int = 0,
) -> tuple[str, list[Path]]:
    """One study of ``n_files`` tiny images in two series, written as ``folder/imgNNNN.dcm``.

    Returns the Study Instance UID and the paths.
    """
    study_uid = study_uid or generate_uid()
    series = [generate_uid(), generate_uid()]
    paths = []
    for k in range(n_files):
        ds = tiny_dm(
            study_uid=study_uid,
            series_uid=series[k % 2],
            patient_id=patient_id,
            laterality="LR"[k % 2],
            view=("CC", "MLO")[(k // 2) % 2],
            instance_number=k + 1,
            seed=seed + k,
            rows=4,
            columns=4,
        )
        paths.append(write(ds, Path(folder) / f"img{k:04d}.dcm"))
    return study_uid, paths


def clone_study(
    folder: str | os.PathLike[str], *, n_files: int, patient_id: str = "P001", n_series: int = 2
) -> tuple[str, list[Path]]:
    """Like :func:`write_study` but fast for many files: byte copies of one template per series
    with only the SOP Instance UID changed (all UIDs have the same length, so nothing shifts).

    Returns the Study Instance UID and the paths (``folder/imgNNNNNN.dcm``).
    """
    import random

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = generate_uid()
    base = "2.25." + "".join(random.choice("123456789") for _ in range(30))  # noqa: S311 (test data)
    templates = []
    for s in range(n_series):
        sop = f"{base}.{s}.{10**8}"
        ds = tiny_dm(
            study_uid=study_uid, series_uid=generate_uid(), sop_uid=sop, patient_id=patient_id, rows=2, columns=2
        )
        ds.InstanceNumber = None
        path = write(ds, folder / f".template{s}")
        templates.append((sop.encode(), path.read_bytes()))
        path.unlink()
    paths = []
    for k in range(n_files):
        s = k % n_series
        sop, data = templates[s]
        path = folder / f"img{k:06d}.dcm"
        path.write_bytes(data.replace(sop, f"{base}.{s}.{10**8 + k}".encode()))
        paths.append(path)
    return study_uid, paths
