import pytest

from app.model.orientation import display_flips, parse_patient_orientation, screen_directions, standard_orientation


@pytest.mark.parametrize(
    ("lat", "view", "expected"),
    [("R", "CC", ("P", "L")), ("R", "MLO", ("P", "FL")), ("L", "CC", ("A", "R")), ("L", "MLO", ("A", "FR"))],
)
def test_standard_orientation_matches_dicom_table(lat, view, expected):
    assert standard_orientation(lat, view) == expected


def test_volume_convention_flips_right_breast_only():
    # Volume columns run chest wall -> nipple (anterior): the right breast must be mirrored
    assert display_flips(None, "R", "CC") == (True, False)
    assert display_flips(None, "L", "CC") == (False, True)  # rows run toward L = lateral: flip
    assert display_flips(None, "L", "MLO") == (False, True)
    assert display_flips(None, "R", "MLO") == (True, False)
    assert display_flips(("P", "FL"), "R", "MLO") == (False, False)
    assert display_flips(("A", "L"), "L", "CC") == (False, True)
    assert display_flips(("P", "HR"), "L", "MLO") == (True, True)


def test_screen_directions_after_flips_put_chest_wall_at_centre():
    # right CC stored in the Volume convention, shown with flip_h: posterior on the right edge
    d = screen_directions(("A", "L"), flip_h=True, flip_v=False)
    assert d == {"right": "P", "left": "A", "bottom": "L", "top": "R"}


def test_parse_patient_orientation_rejects_garbage():
    assert parse_patient_orientation("P\\FL") == ("P", "FL")
    assert parse_patient_orientation(["a", "r"]) == ("A", "R")
    assert parse_patient_orientation("") is None
    with pytest.raises(ValueError, match="Patient Orientation"):
        parse_patient_orientation("X\\Y")
