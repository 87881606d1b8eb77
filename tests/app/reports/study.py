"""A small written study (four Breast Tomosynthesis Images) with findings drawn the way the viewer draws them."""

from __future__ import annotations

import numpy as np

from app.dicom.identity import PatientStudy
from app.dicom.writers.tomo import write_tomosynthesis
from app.model.findings import CadMark, FindingsSession
from app.model.location import BreastGeometry
from app.model.marks import Mark
from app.model.orientation import default_volume_orientation
from recon.types import Volume, VolumeGrid

BTO = "1.2.840.10008.5.1.4.1.1.13.1.3"
NZ, NY, NX, SP = 12, 128, 96, 0.5
# lesions in array (Volume) coordinates: (slice, row, col) per view
# R: UOQ 10 o'clock; L: LOQ 4 o'clock (see the test)
LESIONS = {("R", "CC"): (5, 30, 50), ("R", "MLO"): (6, 40, 46), ("L", "CC"): (4, 90, 40), ("L", "MLO"): (7, 44, 42)}


def write_study(folder, *, with_lesions=True):
    """Write the four views; returns {(lat, view): WrittenObject} and the PatientStudy."""
    st = PatientStudy(
        patient_name="Doe^Jane",
        patient_id="CR-7",
        patient_birth_date="19650304",
        patient_sex="F",
        accession_number="ACC7",
        study_date="20250110",
        study_time="093000",
    )
    written = {}
    rng = np.random.default_rng(7)
    rr, cc = np.mgrid[:NY, :NX]
    for (lat, view), (k, r, c) in LESIONS.items():
        data = (0.02 + 0.004 * rng.standard_normal((NZ, NY, NX))).astype(np.float32)
        data[:, :, : NX // 8] *= 0.2  # something that is not symmetric
        if with_lesions:
            blob = np.exp(-((rr - r) ** 2 + (cc - c) ** 2) / (2 * 3.0**2)).astype(np.float32)
            data[k] += 0.05 * blob
            data[k, r, c] = 0.2  # the brightest voxel marks the lesion centre
        vol = Volume(
            data=data,
            grid=VolumeGrid(shape=(NZ, NY, NX), voxel_mm=(1.0, SP, SP), origin_mm=(0.5, -32.0, 0.0)),
            metadata={},
        )
        written[(lat, view)] = write_tomosynthesis(vol, folder / f"{lat}{view}.dcm", study=st.for_view(lat, view))
    return written, st


def geometry(lat, view):
    po = default_volume_orientation(lat, view)  # A\L, A\FL, A\HL: columns run toward the nipple
    return BreastGeometry.from_patient_orientation(
        lat, view, po, rows=NY, columns=NX, pixel_spacing_mm=(SP, SP), nipple_px=(NX - 2.0, NY / 2.0)
    )


def findings_session(written, study_uid, clock=None):
    """Mass in the right breast on CC and MLO (ellipses), calcifications on L CC (polygon) + a CAD mark on L MLO."""
    kw = {"clock": clock} if clock else {}
    s = FindingsSession(study_uid, reader="Smith^Anna", **kw)
    for key, w in written.items():
        s.set_view_geometry(w.sop_instance_uid, geometry(*key))

    def img(lat, view):
        w = written[(lat, view)]
        return {
            "view": view,
            "laterality": lat,
            "sop_instance_uid": w.sop_instance_uid,
            "sop_class_uid": BTO,
            "pixel_spacing_mm": (SP, SP),
        }

    s.set_exam_assessment(exam_type="diagnostic", indication="Palpable lump in the right breast.")
    k, r, c = LESIONS[("R", "CC")]
    f1 = s.add_finding(
        "mass",
        "R",
        mark=Mark.ellipse_from_box((c, r), (8, 5), frame=k, **img("R", "CC")),
        descriptors={"shape": "irregular", "margin": "spiculated", "density": "high"},
    )
    k, r, c = LESIONS[("R", "MLO")]
    s.set_mark(f1.id, Mark.ellipse_from_box((c, r), (7, 5), frame=k, **img("R", "MLO")))
    s.set_finding_category(f1.id, "4C")
    k, r, c = LESIONS[("L", "CC")]
    poly = ((c - 4, r - 3), (c + 4, r - 3), (c + 4, r + 3), (c - 4, r + 3))
    f2 = s.add_finding(
        "calcifications",
        "L",
        mark=Mark(kind="polygon", points=poly, frame=k, **img("L", "CC")),
        descriptors={"calcification_morphology": "amorphous", "calcification_distribution": "grouped"},
        category="4A",
    )
    k, r, c = LESIONS[("L", "MLO")]
    w = written[("L", "MLO")]
    s.set_cad_marks(
        [
            CadMark(
                id="cad-7",
                kind="calcification_cluster",
                laterality="L",
                view="MLO",
                sop_instance_uid=w.sop_instance_uid,
                sop_class_uid=BTO,
                slice_index=k,
                row=r,
                col=c,
                centre_mm=(k + 0.5, r * SP, c * SP),
                score=64.0,
                model_id="crescent-calc-0.1",
                pixel_spacing_mm=(SP, SP),
            ),
            CadMark(
                id="cad-8",
                kind="mass",
                laterality="R",
                view="CC",
                sop_instance_uid=written[("R", "CC")].sop_instance_uid,
                sop_class_uid=BTO,
                slice_index=2,
                row=50,
                col=10,
                centre_mm=(2.5, 25.0, 5.0),
                score=22.0,
                model_id="crescent-mass-0.1",
                pixel_spacing_mm=(SP, SP),
            ),
        ]
    )
    s.accept_cad("cad-7")
    s.dismiss_cad("cad-8", reason="fat lobule")
    s.link(f2.id, next(f.id for f in s.findings if f.cad_id == "cad-7"))  # the CAD mark is the same calcifications
    s.set_breast_assessment("R", composition="b")
    s.set_breast_assessment("L", composition="b")
    return s
