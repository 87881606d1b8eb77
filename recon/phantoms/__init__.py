"""Digital phantoms: a compressed breast with lesions, and analytic objects (beads, calcifications).

Everything is deterministic given a seed. Positions are in the detector frame of DESIGN.md
(mm); attenuation in 1/mm at 20 keV (:mod:`recon.phantoms.materials`).
"""

from recon.phantoms.analytic import Ellipsoid, ellipsoid_line_integrals, rotation_matrix, sphere, voxelize_ellipsoids
from recon.phantoms.breast import (
    BREAST_SIZES,
    DENSITY_GLANDULAR_FRACTION,
    VIEWS,
    BreastPhantom,
    breast_phantom,
    parse_view,
)
from recon.phantoms.lesions import LESION_KINDS, MASS_SHAPES, Lesion
from recon.phantoms.raymarch import raymarch_line_integrals

__all__ = [
    "BREAST_SIZES",
    "DENSITY_GLANDULAR_FRACTION",
    "LESION_KINDS",
    "MASS_SHAPES",
    "VIEWS",
    "BreastPhantom",
    "Ellipsoid",
    "Lesion",
    "breast_phantom",
    "ellipsoid_line_integrals",
    "parse_view",
    "raymarch_line_integrals",
    "rotation_matrix",
    "sphere",
    "voxelize_ellipsoids",
]
