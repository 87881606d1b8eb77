"""A QC-phantom session folder in the layout of ``crescent phantom --phantom qc`` (projections.dcm + truth.json).

Until the phantom command calls :func:`recon.phantoms.qc.qc_phantom` itself (patch handed to the
lead), the tests build the folder here with the same public pieces the command uses.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.dicom import PatientStudy, write_projection_set
from recon import preset_geometry
from recon.phantoms.qc import qc_phantom
from recon.simulate import simulate_acquisition


def write_qc_phantom_folder(out: Path, *, system: str = "hologic-dimensions", scale: float = 0.7, seed: int = 1):
    out.mkdir(parents=True, exist_ok=True)
    g = preset_geometry(system, detector_shape=(256, 192), pixel_mm=0.2)
    ph = qc_phantom(support_height_mm=g.support_height_mm, scale=scale)
    p = simulate_acquisition(ph, g, seed=seed)
    w = write_projection_set(
        p,
        out / "projections.dcm",
        study=PatientStudy(patient_name="Crescent^QCPhantom", patient_id="QC-PHANTOM", laterality="R", view="CC"),
        body_part_thickness_mm=ph.thickness_mm,
    )
    truth = {
        "phantom": "qc",
        "system": system,
        "thickness_mm": ph.thickness_mm,
        "support_height_mm": g.support_height_mm,
        "projections": {"file": "projections.dcm", "sop_instance_uid": w.sop_instance_uid},
        "qc_phantom": ph.truth(),
    }
    (out / "truth.json").write_text(json.dumps(truth))
    return out
