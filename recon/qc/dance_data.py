"""Reference tables of the Dance breast-dosimetry method, with their sources.

A data module (not JSON) so that it installs with the package. Only values that could be traced
to a source are here; what is missing is listed in ``MISSING`` and the dose estimate reports the
assumption it makes instead. A site physicist can supply the missing tables (c-factors for other
glandularities, DBT t-factors for the system) as a :class:`recon.qc.dose.DoseTables`.

Sources
-------
[D1990] Dance D R 1990, Phys. Med. Biol. 35 1211-1219 (g-factors, 50 % glandular breast).
[D2000] Dance D R, Skinner C L, Young K C, Beckett J R, Kotre C J 2000, Phys. Med. Biol. 45
        3225-3240 (g-factors extended to 2-11 cm; c-factors; s-factors for Mo/Mo, Mo/Rh, Rh/Rh,
        Rh/Al, W/Rh; typical glandularity by thickness and age).
[D2009] Dance D R, Young K C, van Engen R E 2009, Phys. Med. Biol. 54 4361-4372 (s-factors for
        W/Ag: "a single s-factor of 1.042"; W/Al 0.5 mm needs a table against thickness).
[D2011] Dance D R, Young K C, van Engen R E 2011, Phys. Med. Biol. 56 453-471 (DBT t-factors).

How the values were checked
---------------------------
* G_FACTOR and S_FACTOR (Mo/Mo, Mo/Rh, Rh/Rh, Rh/Al, W/Rh): [D2000] as transcribed in a public
  mammography-dose calculator (GitHub code search, file id 37738014283), which agrees with the
  European-guidelines layout of the table (rows 2-11 cm plus 4.5 cm, columns HVL 0.30-0.60 mm Al).
  A single secondary transcription: verify against the paper before clinical use.
* S_FACTOR W/Ag = 1.042: the abstract of [D2009].
* TYPICAL_GLANDULARITY: [D2000] for women aged 50-64 and 40-49, from the same transcription (whose
  4.5 cm column is misaligned there; the values below are the 2-11 cm sequence). Consistent with
  the European-guidelines PMMA equivalents (45 mm PMMA ~ 53 mm breast of ~29 % glandularity).
* c = 1 at 50 % glandularity holds by definition (g is tabulated for 50 % glandular breasts).

What could not be sourced (searched again by H14: public code, documentation and web-page
corpora, for [D2000] tables of c-factors for typical breasts aged 50-64 and 40-49, the
European-guidelines reprint of them, [D2011] T- and t(theta)-factors and their reprints in the
EUREF DBT protocol 0.15, the EFOMP DBT protocol 2023 and NHSBSP Equipment Report 1407 Appendix 2).
Those documents are indexed only by their first page there (title, authors, contents); none of
their tables could be read, and no public code carries them (the one calculator found uses
cubic fits of its own for c, not the published table). Values recalled from memory are not
sources, so none are shipped: ``MISSING`` keeps the explicit assumptions and every estimate says
which it used. Where to take them from: [D2000] tables for c; [D2011] for T and t(theta); the
EUREF DBT protocol / NHSBSP 1407 Appendix 2 reprint both.
"""

from __future__ import annotations

THICKNESS_CM = (2.0, 3.0, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0)
HVL_MM_AL = (0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60)

# g (mGy per mGy incident air kerma), 50 % glandular breast; G_FACTOR[hvl][thickness index] [D2000]
G_FACTOR = {
    0.30: (0.390, 0.274, 0.207, 0.183, 0.164, 0.135, 0.114, 0.098, 0.0859, 0.0763, 0.0687),
    0.35: (0.433, 0.309, 0.235, 0.208, 0.187, 0.154, 0.130, 0.112, 0.0981, 0.0873, 0.0783),
    0.40: (0.473, 0.342, 0.261, 0.232, 0.209, 0.172, 0.145, 0.126, 0.1106, 0.0986, 0.0887),
    0.45: (0.509, 0.374, 0.289, 0.258, 0.232, 0.192, 0.163, 0.140, 0.1233, 0.1096, 0.0988),
    0.50: (0.543, 0.406, 0.318, 0.285, 0.258, 0.214, 0.177, 0.154, 0.1357, 0.1207, 0.1088),
    0.55: (0.573, 0.437, 0.346, 0.311, 0.287, 0.236, 0.202, 0.175, 0.1543, 0.1375, 0.1240),
    0.60: (0.587, 0.466, 0.374, 0.339, 0.310, 0.261, 0.224, 0.195, 0.1723, 0.1540, 0.1385),
}

# s (spectrum correction), keyed "TARGET/FILTER" [D2000], W/Ag [D2009]
S_FACTOR = {
    "MO/MO": 1.000,
    "MO/RH": 1.017,
    "RH/RH": 1.061,
    "RH/AL": 1.044,
    "W/RH": 1.042,
    "W/AG": 1.042,
}

# typical glandularity (fraction) by compressed thickness 2..11 cm [D2000]
GLANDULARITY_THICKNESS_CM = (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0)
TYPICAL_GLANDULARITY = {
    "50-64": (1.00, 0.72, 0.50, 0.33, 0.21, 0.12, 0.07, 0.04, 0.03, 0.03),
    "40-49": (1.00, 0.82, 0.65, 0.49, 0.35, 0.24, 0.14, 0.08, 0.05, 0.05),
}

MISSING = {
    "c_factor": "c-factors for glandularities other than 50 % [D2000] could not be traced to a readable "
    "source here; c = 1 (50 % glandular) is used unless a site table is supplied",
    "t_factor": "DBT t-factors [D2011] could not be traced to a source here; t = 1 is used unless a site "
    "table is supplied (t is expected to be at most 1 for oblique projections, so the sweep dose is "
    "then an over-estimate; unverified)",
    "s_factor W/AL": "the W/Al 0.5 mm s-factor depends on thickness [D2009]; its table is not shipped",
}
