"""Shared builders for findings tests: a fake clock, marks and geometries on standard views."""

from __future__ import annotations

from app.model.findings import CadMark, FindingsSession
from app.model.location import BreastGeometry
from app.model.marks import Mark

BTO = "1.2.840.10008.5.1.4.1.1.13.1.3"
STUDY = "1.2.826.0.1.3680043.8.498.1"
UIDS = {
    ("R", "CC"): "1.2.826.0.1.3680043.8.498.11",
    ("R", "MLO"): "1.2.826.0.1.3680043.8.498.12",
    ("L", "CC"): "1.2.826.0.1.3680043.8.498.13",
    ("L", "MLO"): "1.2.826.0.1.3680043.8.498.14",
}
PO = {("R", "CC"): "P\\L", ("R", "MLO"): "P\\FL", ("L", "CC"): "A\\R", ("L", "MLO"): "A\\FR"}
ROWS, COLS, SP = 128, 96, 0.5


class FakeClock:
    """Time that moves only when the test says so."""

    def __init__(self, t=1_700_000_000.0):
        self.t = float(t)

    def __call__(self):
        return self.t

    def advance(self, dt):
        self.t += dt


def geometry(lat, view):
    nipple_col = 3.0 if PO[(lat, view)].startswith("P") else COLS - 4.0
    return BreastGeometry.from_patient_orientation(
        lat, view, PO[(lat, view)], rows=ROWS, columns=COLS, pixel_spacing_mm=(SP, SP), nipple_px=(nipple_col, 64.0)
    )


def mark(lat, view, kind="point", points=((40.0, 40.0),), frame=5):
    return Mark(
        kind=kind,
        points=points,
        view=view,
        laterality=lat,
        sop_instance_uid=UIDS[(lat, view)],
        sop_class_uid=BTO,
        frame=frame,
        pixel_spacing_mm=(SP, SP),
    )


def at(lat, view, lateral_mm, superior_mm, posterior_mm=20.0):
    """Stored-frame (col, row) of a point at a known anatomical offset from the nipple."""
    g = geometry(lat, view)
    trans = lateral_mm if view == "CC" else superior_mm
    col = g.nipple_px[0] + (posterior_mm * g.posterior_dir[0] + trans * g.transverse_dir[0]) / SP
    row = g.nipple_px[1] + (posterior_mm * g.posterior_dir[1] + trans * g.transverse_dir[1]) / SP
    return (col, row)


def session_with_geometry(clock=None, reader="Dr Reader"):
    s = FindingsSession(STUDY, reader=reader, clock=clock or FakeClock())
    for (lat, view), uid in UIDS.items():
        s.set_view_geometry(uid, geometry(lat, view))
    return s


def cad_mark(cid="cad-1", kind="mass", lat="L", view="CC", score=87.0):
    col, row = at(lat, view, 15.0, 10.0)
    return CadMark(
        id=cid,
        kind=kind,
        laterality=lat,
        view=view,
        sop_instance_uid=UIDS[(lat, view)],
        sop_class_uid=BTO,
        slice_index=7,
        row=row,
        col=col,
        centre_mm=(7.0, row * SP, col * SP),
        score=score,
        model_id="crescent-cad-test-1",
        pixel_spacing_mm=(SP, SP),
    )


def known_session(clock=None):
    """A known set of findings used by the report tests.

    1. Right breast irregular spiculated mass, UOQ 10 o'clock, ellipse 12 x 8 mm on CC and MLO, category 4C.
    2. Left breast grouped fine pleomorphic calcifications, polygon on CC only, category 4B.
    3. Left breast CAD mass accepted (point), category 2. One CAD mark dismissed.
    """
    s = session_with_geometry(clock)
    s.set_exam_assessment(
        exam_type="diagnostic", indication="Palpable lump, right breast.", comparison="No prior examinations."
    )
    c = at("R", "CC", 30.0, 17.3)
    m = Mark.ellipse_from_box(
        c,
        (12.0, 8.0),
        view="CC",
        laterality="R",
        sop_instance_uid=UIDS[("R", "CC")],
        sop_class_uid=BTO,
        frame=10,
        pixel_spacing_mm=(SP, SP),
    )
    f1 = s.add_finding(
        "mass", "R", mark=m, descriptors={"shape": "irregular", "margin": "spiculated", "density": "high"}
    )
    c2 = at("R", "MLO", 30.0, 17.3)
    s.set_mark(
        f1.id,
        Mark.ellipse_from_box(
            c2,
            (11.0, 8.0),
            view="MLO",
            laterality="R",
            sop_instance_uid=UIDS[("R", "MLO")],
            sop_class_uid=BTO,
            frame=12,
            pixel_spacing_mm=(SP, SP),
        ),
    )
    s.update_descriptors(f1.id, {"associated_features": ["skin_retraction"]})
    s.set_finding_category(f1.id, "4C")
    cc = at("L", "CC", -10.0, 0.0, posterior_mm=25.0)
    poly = ((cc[0] - 6, cc[1] - 4), (cc[0] + 6, cc[1] - 4), (cc[0] + 6, cc[1] + 4), (cc[0] - 6, cc[1] + 4))
    f2 = s.add_finding(
        "calcifications",
        "L",
        mark=mark("L", "CC", "polygon", poly, frame=8),
        descriptors={"calcification_morphology": "fine_pleomorphic", "calcification_distribution": "grouped"},
        category="4B",
    )
    s.set_cad_marks([cad_mark("cad-1"), cad_mark("cad-2", kind="calcification_cluster", lat="R", score=31.0)])
    f3 = s.accept_cad("cad-1")
    s.update_descriptors(f3.id, {"shape": "oval", "margin": "circumscribed"})
    s.set_finding_category(f3.id, "2")
    s.dismiss_cad("cad-2", reason="vascular")
    s.set_breast_assessment("R", composition="c")
    s.set_breast_assessment("L", composition="c")
    return s, (f1.id, f2.id, f3.id)
