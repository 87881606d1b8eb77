"""Small acquisitions and a modality (pynetdicom SCU) for the node tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

MODALITY_AE = "MODALITY"
NODE_AE = "CRESCENT_NODE"
DM_PROCESSING = "1.2.840.10008.5.1.4.1.1.1.2.1"
PATIENT_NAME = "Secretname^Jane"
PATIENT_ID = "PID-SECRET-77"


def simulated(seed: int = 0):
    """Raw For Processing projections of a small breast phantom (9 views of 128 x 96 at 0.4 mm)."""
    from recon.phantoms import breast_phantom
    from recon.presets import preset_geometry
    from recon.simulate import simulate_acquisition

    geom = preset_geometry("ge-essential", detector_shape=(128, 96), pixel_mm=0.4)
    phantom = breast_phantom(size="small", seed=seed, support_height_mm=geom.support_height_mm)
    return simulate_acquisition(phantom, geom, seed=seed)


def study(**changes):
    from app.dicom import PatientStudy

    values = dict(patient_name=PATIENT_NAME, patient_id=PATIENT_ID, accession_number="ACC-1", laterality="R", view="CC")
    values.update(changes)
    return PatientStudy(**values)


def multi_frame_file(folder: Path, *, seed: int = 0, name: str = "projections.dcm") -> Path:
    """One Breast Projection X-Ray For Processing file (a whole acquisition)."""
    from app.dicom import write_projection_set

    folder.mkdir(parents=True, exist_ok=True)
    return write_projection_set(simulated(seed), folder / name, study=study()).path


def single_frame_files(folder: Path, *, seed: int = 0, announce: bool = True) -> list[Path]:
    """One Digital Mammography For Processing file per projection (a vendor-style acquisition)."""
    ps = simulated(seed)
    folder.mkdir(parents=True, exist_ok=True)
    g = ps.geometry
    study_uid, series_uid = generate_uid(), generate_uid()
    paths = []
    for i in range(g.n_views):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = DM_PROCESSING
        ds.SOPClassUID = DM_PROCESSING
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.PatientName, ds.PatientID = PATIENT_NAME, PATIENT_ID
        ds.Modality, ds.Manufacturer, ds.ManufacturerModelName = "MG", "GE Healthcare", "Senographe Essential"
        ds.ImageLaterality, ds.PatientOrientation = "R", ["P", "L"]
        ds.PresentationIntentType = "FOR PROCESSING"
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "399162004", "SCT", "cranio-caudal"
        ds.ViewCodeSequence = [code]
        ds.PositionerPrimaryAngle = f"{np.degrees(g.angles_rad[i]):.10g}"
        ds.DistanceSourceToDetector = "660"
        ds.DistanceSourceToIsocenter = 620.0
        ds.BodyPartThickness = "20"
        ds.ImagerPixelSpacing = [f"{g.pixel_mm[0]}", f"{g.pixel_mm[1]}"]
        ds.InstanceNumber = i + 1
        if announce:
            ds.ImagesInAcquisition = g.n_views
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = g.detector_shape
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.PixelData = np.clip(np.rint(ps.data[i][:, ::-1]), 0, 65535).astype(np.uint16).tobytes()
        path = folder / f"proj_{i:02d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def modality_send(port: int, paths, *, calling_ae: str = MODALITY_AE, called_ae: str = NODE_AE, tls=None):
    """C-STORE files to the node; returns the status code of each (None when the association failed)."""
    import pydicom
    from pynetdicom import AE

    ae = AE(ae_title=calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    datasets = [pydicom.dcmread(p) for p in paths]
    for cls in sorted({str(ds.SOPClassUID) for ds in datasets}):
        ae.add_requested_context(cls, ExplicitVRLittleEndian)
    kwargs = {"tls_args": tls} if tls is not None else {}
    assoc = ae.associate("127.0.0.1", port, ae_title=called_ae, **kwargs)
    if not assoc.is_established:
        ae.shutdown()
        return [None] * len(datasets)
    codes = []
    try:
        for ds in datasets:
            status = assoc.send_c_store(ds)
            codes.append(int(status.Status) if status is not None and "Status" in status else None)
    finally:
        if assoc.is_established:
            assoc.release()
        ae.shutdown()
    return codes
