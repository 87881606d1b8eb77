"""A study as the viewer holds it: patient facts and its displayable images."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.model.image import DisplayImage

__all__ = ["Study", "STATUSES"]

STATUSES = ("unread", "read", "reported")

_VIEW_ORDER = {"CC": 0, "MLO": 1, "ML": 2, "LM": 3, "XCCL": 4}


@dataclass(eq=False)
class Study:
    """Patient and study facts plus the images of one examination.

    Parameters
    ----------
    images : list of DisplayImage
    patient_name, patient_id, study_uid, study_date, description : str
    status : {'unread', 'read', 'reported'}
    case_score : float or None
        CAD case score (0–100) once CAD has run.
    source : str
        Where the study came from (folder, file or store).
    """

    images: list[DisplayImage] = field(default_factory=list)
    patient_name: str = ""
    patient_id: str = ""
    study_uid: str = ""
    study_date: str = ""
    description: str = ""
    status: str = "unread"
    case_score: float | None = None
    source: str = ""

    def __post_init__(self):
        for im in self.images:
            if not isinstance(im, DisplayImage):
                raise TypeError(f"Study: images must be DisplayImage, got {type(im).__name__}")
        if self.status not in STATUSES:
            raise ValueError(f"Study: status must be one of {STATUSES}, got {self.status!r}")

    def find(self, laterality: str, view: str, kinds=("tomo",)) -> DisplayImage | None:
        """The first image of ``laterality`` and ``view`` whose kind comes earliest in ``kinds``."""
        lat, v = laterality.upper(), view.upper()
        for kind in kinds:
            for im in self.images:
                if im.laterality == lat and im.view == v and im.kind == kind:
                    return im
        return None

    @property
    def views_present(self) -> list[str]:
        """Sorted view labels such as ``['RCC', 'LCC', 'RMLO', 'LMLO']`` (each once)."""
        seen = {(im.laterality, im.view) for im in self.images}
        keyed = sorted(seen, key=lambda lv: (_VIEW_ORDER.get(lv[1], 99), lv[1], lv[0] != "R"))
        return [f"{lat}{view}" for lat, view in keyed]

    @property
    def nbytes(self) -> int:
        """Memory held by the pixel arrays (shared arrays counted once)."""
        seen, total = set(), 0
        for im in self.images:
            if id(im.data) not in seen:
                seen.add(id(im.data))
                total += im.nbytes
        return total
