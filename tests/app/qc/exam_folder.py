"""An exam folder for the QC-mode tests: a simulated acquisition with a dropped projection, written as a
Breast Projection X-Ray file, plus a small reconstruction of the same breast view (so that the
workstation hangs the study and does not reconstruct the projections)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.dicom import PatientStudy, write_projection_set, write_tomosynthesis
from recon.types import Volume, VolumeGrid
from tests.recon.qc.acquisitions import THICKNESS_MM, acquire

DROPPED = 6  # the projection left out of the 15 of the sweep; the set as received lacks it between 5 and 6


def write_exam_folder(out: Path, *, laterality: str = "R", view: str = "CC") -> dict:
    """Write projections.dcm (14 of 15 projections) and recon.dcm of one study; returns the facts."""
    out.mkdir(parents=True, exist_ok=True)
    study = PatientStudy(patient_name="Doe^Jane", patient_id="QC-0001", laterality=laterality, view=view)
    p = acquire(seed=1, drop_view=DROPPED)
    proj = write_projection_set(p, out / "projections.dcm", study=study, body_part_thickness_mm=THICKNESS_MM)
    shape = (5, 48, 64)
    grid = VolumeGrid(shape, (4.0, 0.5, 0.5), (27.0, -(shape[1] - 1) * 0.25, 0.0))
    data = np.full(shape, 0.05, np.float32) + np.random.default_rng(0).normal(0, 0.002, shape).astype(np.float32)
    write_tomosynthesis(Volume(data, grid), out / "recon.dcm", study=study)
    return {
        "study_uid": study.study_instance_uid,
        "projection_sop_uid": proj.sop_instance_uid,
        "projections": out / "projections.dcm",
    }
