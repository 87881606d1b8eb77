"""Display orientation of mammograms and DBT slices from laterality, view and Patient Orientation.

DICOM Patient Orientation (0020,0020) gives, for an image as stored, the patient direction
of increasing column (along a row) and of increasing row (down a column), with the letters
A/P (anterior/posterior), R/L (right/left), H/F (head/foot). The standard mammography display
(dicom.md §3.1) puts right-breast images on the viewer's left and left-breast images on the
right, chest walls at the centre line, nipples toward the outer edges, the lateral side up on
CC and the axilla up on MLO:

============  ===================
view          standard orientation
============  ===================
R CC          ``P\\L``
R MLO         ``P\\FL``
L CC          ``A\\R``
L MLO         ``A\\FR``
============  ===================

The viewer flips each image so that its orientation matches the standard one; mirroring
and justification to the centre line are its job (DESIGN.md).
"""

from __future__ import annotations

__all__ = [
    "OPPOSITE",
    "standard_orientation",
    "default_volume_orientation",
    "display_flips",
    "screen_directions",
    "parse_patient_orientation",
]

OPPOSITE = {"A": "P", "P": "A", "R": "L", "L": "R", "H": "F", "F": "H"}

_LATERAL_VIEWS = {"ML", "LM", "LMO", "SIO"}


def _check_laterality(laterality: str) -> str:
    lat = str(laterality or "").upper()
    if lat not in ("R", "L"):
        raise ValueError(f"laterality must be 'R' or 'L', got {laterality!r}")
    return lat


def parse_patient_orientation(value) -> tuple[str, str] | None:
    """``'P\\\\L'``, ``['P', 'L']`` or ``('P', 'L')`` to ``('P', 'L')``; None when absent.

    Raises
    ------
    ValueError
        When the value is not two direction strings made of the letters A, P, R, L, H, F.
    """
    if value is None or value == "" or (isinstance(value, list | tuple) and len(value) == 0):
        return None
    parts = value.split("\\") if isinstance(value, str) else [str(v) for v in value]
    parts = [p.strip().upper() for p in parts]
    if len(parts) != 2 or not all(parts) or not all(set(p) <= set(OPPOSITE) for p in parts):
        raise ValueError(f"Patient Orientation must be two directions made of A/P/R/L/H/F, got {value!r}")
    return parts[0], parts[1]


def standard_orientation(laterality: str, view: str) -> tuple[str, str]:
    """The Patient Orientation of the standard display of ``laterality`` and ``view``.

    CC-like views put the lateral side up, oblique and lateral views put the head up; in
    every case the chest wall faces the centre line (posterior toward the other breast).
    """
    lat = _check_laterality(laterality)
    v = str(view or "").upper()
    row = "P" if lat == "R" else "A"
    other = "L" if lat == "R" else "R"  # the medial side of this breast is toward the other one
    if v in ("MLO", *_LATERAL_VIEWS):
        col = "F" + other
    else:  # CC, XCCL, XCCM, FB, spot/mag CC and unknown: lateral side up
        col = other
    return row, col


def default_volume_orientation(laterality: str, view: str) -> tuple[str, str]:
    """Orientation of arrays in the project's order when no Patient Orientation is given.

    Volumes and the DICOM readers' arrays (``app.dicom.readers``) keep columns from the chest
    wall toward the nipple (anterior) and rows toward the patient's left: the standard stored
    orientation with the columns reversed for a right breast and the rows reversed for a
    left breast (``app.dicom.views.disk_flips``). So CC is ``A\\L`` for both breasts, R MLO
    ``A\\FL`` and L MLO ``A\\HL``.
    """
    lat = _check_laterality(laterality)
    _, col = standard_orientation(lat, view)
    if lat == "L":
        col = "".join(OPPOSITE[c] for c in col)
    return "A", col


def _relation(actual: str, target: str) -> int:
    """+1 when two directions agree, -1 when they oppose, 0 when unrelated."""
    for letter in target:
        if letter in actual:
            return 1
        if OPPOSITE[letter] in actual:
            return -1
    return 0


def display_flips(orientation: tuple[str, str] | None, laterality: str, view: str) -> tuple[bool, bool]:
    """Horizontal and vertical flips that turn an image into the standard display.

    Parameters
    ----------
    orientation : (row_direction, column_direction) or None
        Patient Orientation of the image as stored; None means the Volume convention
        (:func:`default_volume_orientation`).
    laterality, view : str
        Laterality ('R' or 'L') and view code ('CC', 'MLO', ...).

    Returns
    -------
    (flip_h, flip_v) : (bool, bool)
    """
    target = standard_orientation(laterality, view)
    if orientation is None:
        orientation = default_volume_orientation(laterality, view)
    flip_h = _relation(orientation[0], target[0]) < 0
    flip_v = _relation(orientation[1], target[1]) < 0
    return flip_h, flip_v


def screen_directions(orientation: tuple[str, str], *, flip_h: bool, flip_v: bool) -> dict[str, str]:
    """Patient direction shown at each screen edge ('left', 'right', 'top', 'bottom').

    ``orientation`` is the image's own Patient Orientation; the flips are those applied on screen.
    """
    row, col = orientation
    right = "".join(OPPOSITE[c] for c in row) if flip_h else row
    bottom = "".join(OPPOSITE[c] for c in col) if flip_v else col
    return {
        "right": right,
        "left": "".join(OPPOSITE[c] for c in right),
        "bottom": bottom,
        "top": "".join(OPPOSITE[c] for c in bottom),
    }
