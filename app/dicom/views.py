"""Breast views: SNOMED CT view codes, Patient Orientation, and how our axes lie in the patient.

Conventions (documented here once, used by every reader and writer):

* Our detector frame (DESIGN.md): x chest wall -> nipple, y along the chest wall (tube
  motion), z up toward the source.
* Patient frame (DICOM LPS): x toward the patient's Left, y Posterior, z Superior (head).
* Our x always points Anterior. Our z (toward the source) points Superior for CC, tilted by
  the view's gantry angle toward the contralateral side for MLO (45 degrees) and ML (90
  degrees): for a right breast toward the patient's left, for a left breast toward her right.
  Our y completes the right-handed frame (z x x); for a CC view it points to the patient's left.
* On disk, pixels are stored so that a viewer that ignores everything else shows the standard
  hanging (reference dicom.md 3.1: R CC ``P\\L``, L CC ``A\\R``, R MLO ``P\\FL``, L MLO ``A\\FR``):
  for a right breast the columns are reversed (nipple on the left), for a left breast the rows.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "VIEW_CODES",
    "view_code",
    "view_from_code",
    "patient_orientation",
    "gantry_angle_deg",
    "detector_to_patient",
    "disk_flips",
    "to_disk",
    "from_disk",
    "flips_from_patient_orientation",
]

# view -> (SNOMED CT code, meaning, legacy SRT code)
VIEW_CODES: dict[str, tuple[str, str, str | None]] = {
    "CC": ("399162004", "cranio-caudal", "R-10242"),
    "MLO": ("399368009", "medio-lateral oblique", "R-10226"),
    "ML": ("399260004", "medio-lateral", "R-10224"),
    "LM": ("399352003", "latero-medial", "R-10236"),
    "LMO": ("399099002", "latero-medial oblique", "R-10230"),
    "FB": ("399196006", "caudo-cranial (from below)", "R-10216"),
    "SIO": ("399188001", "superolateral to inferomedial oblique", "R-102D0"),
    "ISO": ("441555000", "inferomedial to superolateral oblique", None),
    "XCCL": ("399192008", "cranio-caudal exaggerated laterally", "R-1024A"),
    "XCCM": ("399101009", "cranio-caudal exaggerated medially", "R-1024B"),
}
_BY_CODE: dict[str, str] = {}
for _view, (_sct, _meaning, _srt) in VIEW_CODES.items():
    _BY_CODE[_sct] = _view
    if _srt:
        _BY_CODE[_srt] = _view
_BY_CODE["R-102D2"] = "MLO"  # emitted by some vendors for MLO (dicom.md 4)

# gantry rotation of our z away from Superior, degrees, toward the contralateral side
_GANTRY = {
    "CC": 0.0,
    "XCCL": 0.0,
    "XCCM": 0.0,
    "MLO": 45.0,
    "SIO": 45.0,
    "ML": 90.0,
    "LM": -90.0,
    "LMO": -45.0,
    "ISO": -45.0,
    "FB": 180.0,
}

_ORIENTATION = {
    ("R", "CC"): ("P", "L"),
    ("L", "CC"): ("A", "R"),
    ("R", "MLO"): ("P", "FL"),
    ("L", "MLO"): ("A", "FR"),
}


def view_code(view: str) -> tuple[str, str, str]:
    """(code value, coding scheme, meaning) of a view for View Code Sequence."""
    try:
        sct, meaning, _ = VIEW_CODES[view]
    except KeyError:
        raise ValueError(f"view_code: unknown view {view!r}; choose one of {', '.join(VIEW_CODES)}") from None
    return sct, "SCT", meaning


def view_from_code(code_value: str) -> str | None:
    """Our view name of a SNOMED CT or legacy SRT view code, or None when unknown."""
    return _BY_CODE.get(str(code_value).strip())


def gantry_angle_deg(view: str) -> float:
    """Nominal rotation of the imaging plane for a view (0 CC, 45 MLO, 90 ML), degrees."""
    return _GANTRY.get(view, 0.0)


def detector_to_patient(laterality: str, view: str) -> np.ndarray:
    """3 x 3 matrix whose columns are our x, y, z axes in the patient (LPS) frame."""
    if laterality not in ("R", "L"):
        raise ValueError(f"detector_to_patient: laterality must be R or L, got {laterality!r}")
    a = np.deg2rad(gantry_angle_deg(view))
    contra = np.array([1.0, 0.0, 0.0]) if laterality == "R" else np.array([-1.0, 0.0, 0.0])
    x = np.array([0.0, -1.0, 0.0])  # anterior
    z = np.cos(a) * np.array([0.0, 0.0, 1.0]) + np.sin(a) * contra
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=1)


def _letters(vec: np.ndarray) -> str:
    """Patient Orientation letters of a direction: head/foot first, then left/right, then A/P (e.g. FL)."""
    names = (("L", "R"), ("P", "A"), ("H", "F"))
    out = ""
    for i in (2, 0, 1):
        if abs(vec[i]) > 0.2:
            out += names[i][0] if vec[i] > 0 else names[i][1]
    return out


def patient_orientation(laterality: str, view: str) -> tuple[str, str]:
    """Patient Orientation (row direction, column direction) of an image stored by :func:`to_disk`."""
    if (laterality, view) in _ORIENTATION:
        return _ORIENTATION[(laterality, view)]
    m = detector_to_patient(laterality, view)
    flip_rows, flip_cols = disk_flips(laterality)
    row_dir = -m[:, 0] if flip_cols else m[:, 0]
    col_dir = -m[:, 1] if flip_rows else m[:, 1]
    return _letters(row_dir), _letters(col_dir)


def disk_flips(laterality: str) -> tuple[bool, bool]:
    """(flip rows, flip columns) between our arrays and the stored pixels."""
    if laterality not in ("R", "L"):
        raise ValueError(f"disk_flips: laterality must be R or L, got {laterality!r}")
    return (False, True) if laterality == "R" else (True, False)


def _flip(data: np.ndarray, flip_rows: bool, flip_cols: bool) -> np.ndarray:
    if flip_rows:
        data = data[..., ::-1, :]
    if flip_cols:
        data = data[..., :, ::-1]
    return np.ascontiguousarray(data)


def to_disk(data: np.ndarray, laterality: str) -> np.ndarray:
    """Our (..., rows along y, columns along x) array in stored pixel order (a copy)."""
    return _flip(data, *disk_flips(laterality))


def from_disk(data: np.ndarray, laterality: str) -> np.ndarray:
    """Stored pixels back into our order (the inverse of :func:`to_disk`; flips are involutions)."""
    return _flip(data, *disk_flips(laterality))


def flips_from_patient_orientation(values, laterality: str | None) -> tuple[bool, bool] | None:
    """(flip rows, flip columns) that bring stored pixels into our order, from Patient Orientation.

    The column direction (second value) containing the patient's left (L) means rows are not
    reversed for a right breast; for our axes: stored columns run toward Anterior (``A``) when
    the chest wall is on the left. Returns None when the values do not decide it.
    """
    if values is None or len(values) != 2:
        return None
    row_dir, col_dir = (str(v).upper() for v in values)
    if "A" in row_dir:
        flip_cols = False
    elif "P" in row_dir:
        flip_cols = True
    else:
        return None
    if laterality in ("R", "L"):
        # our y points to the contralateral side for a right breast in CC/MLO (L), to R for a left
        # breast our y points to the patient's left as well on CC; a down-pointing R means reversed
        if "L" in col_dir:
            return False, flip_cols
        if "R" in col_dir:
            return True, flip_cols
    return None
