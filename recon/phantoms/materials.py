"""Linear attenuation coefficients of breast materials at 20 keV, in 1/mm.

The phantoms are monoenergetic at :data:`ENERGY_KEV` (20 keV, near the mean energy of a
W/Rh 28-30 kVp mammography beam behind a few cm of breast).

Sources and how each value was obtained
---------------------------------------
adipose, fibroglandular, carcinoma
    Measured linear attenuation coefficients of fat (0.456 /cm), fibrous/glandular tissue
    (0.802 /cm) and infiltrating ductal carcinoma (0.844 /cm) at 20 keV as tabulated by
    Johns & Yaffe, "X-ray characterisation of normal and neoplastic breast tissues",
    Phys Med Biol 32(6):675-695, 1987, and as widely quoted in the simulation literature.
    (Not re-read from the printed table for this code.) Cross-check: mixing rules with the
    elemental compositions of Hammerstein et al., Radiology 130:485-491, 1979 (adipose
    0.93 g/cm^3, glandular 1.04 g/cm^3) and XCOM-equivalent elemental data (Elam database
    via the ``xraydb`` package) give 0.051 and 0.078 /mm: the same contrast within about
    10 %.
skin
    Hammerstein et al. 1979 skin composition at 1.09 g/cm^3, computed as above: 0.083 /mm
    (close to glandular tissue, as usually assumed).
muscle (pectoralis, MLO views)
    ICRU-44 skeletal muscle composition at 1.05 g/cm^3, computed as above: 0.086 /mm.
calcification
    Calcium hydroxyapatite Ca10(PO4)6(OH)2 at 3.06 g/cm^3: 2.01 /mm; calcium oxalate
    CaC2O4 at 2.12 g/cm^3 (the material of the FDA VICTRE calcifications): 0.98 /mm; both
    computed with the Elam database via ``xraydb``. Breast calcifications are a mixture
    and less than fully dense, so the phantom draws each calcification's attenuation from
    :data:`CALCIFICATION_MU_RANGE` (1.2-2.0 /mm).
water
    0.0810 /mm (NIST XCOM mu/rho 0.8096 cm^2/g at 20 keV), for reference.
"""

from __future__ import annotations

ENERGY_KEV = 20.0

MU_ADIPOSE = 0.0456
MU_GLANDULAR = 0.0802
MU_CARCINOMA = 0.0844
MU_SKIN = 0.0829
MU_MUSCLE = 0.0862
MU_HYDROXYAPATITE = 2.007
MU_CALCIUM_OXALATE = 0.975
MU_WATER = 0.0810
CALCIFICATION_MU_RANGE = (1.2, 2.0)

ATTENUATION_PER_MM = {
    "adipose": MU_ADIPOSE,
    "glandular": MU_GLANDULAR,
    "carcinoma": MU_CARCINOMA,
    "skin": MU_SKIN,
    "muscle": MU_MUSCLE,
    "hydroxyapatite": MU_HYDROXYAPATITE,
    "calcium_oxalate": MU_CALCIUM_OXALATE,
    "water": MU_WATER,
}
"""All values above by name, 1/mm at :data:`ENERGY_KEV`."""
