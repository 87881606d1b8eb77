"""Average glandular dose (AGD) by the Dance method, per projection and for the sweep.

2D:  D = K g c s
DBT: D = sum over projections of K_i g c s t(theta_i)

with K the incident air kerma at the upper breast surface (no backscatter), g the conversion
factor of a 50 % glandular breast (thickness, HVL), c the glandularity correction, s the spectrum
correction (target/filter) and t(theta) the tomosynthesis factor of a projection at angle theta
(1 at 0 degrees). Tables and their sources: :mod:`recon.qc.dance_data`. Where a table is missing
the estimate says which value it assumed (``DoseEstimate.assumptions``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from recon.qc import dance_data
from recon.qc.limits import QCLimits
from recon.qc.results import CheckResult

__all__ = [
    "DoseTables",
    "DoseEstimate",
    "DEFAULT_TABLES",
    "typical_glandularity",
    "incident_air_kerma_mgy",
    "glandular_dose",
    "check_dose",
    "organ_dose_dgy_to_mgy",
]


def _norm_tf(target_filter: str) -> str:
    if not isinstance(target_filter, str) or "/" not in target_filter:
        raise ValueError(f"target/filter must look like 'W/Rh', got {target_filter!r}")
    t, f = (p.strip().upper() for p in target_filter.split("/", 1))
    names = {"MOLYBDENUM": "MO", "RHODIUM": "RH", "TUNGSTEN": "W", "SILVER": "AG", "ALUMINUM": "AL", "ALUMINIUM": "AL"}
    return f"{names.get(t, t)}/{names.get(f, f)}"


@dataclass(frozen=True)
class DoseTables:
    """Conversion-factor tables of the Dance method.

    Parameters
    ----------
    g_factor : dict hvl -> sequence over ``thickness_cm``
    thickness_cm, hvl_mm_al : grids of the g table
    s_factor : dict "TARGET/FILTER" -> s
    c_factor : callable (thickness_cm, hvl_mm_al, glandularity) -> c, optional
        A site's c table; without it only c(50 %) = 1 is known.
    t_factor : callable (angle_rad, thickness_cm) -> t, optional
        A site's DBT t table for its system; without it t = 1 is assumed.
    sources : str
        Where the values come from.
    """

    g_factor: dict
    thickness_cm: tuple
    hvl_mm_al: tuple
    s_factor: dict
    c_factor: Callable | None = None
    t_factor: Callable | None = None
    sources: str = ""
    _g: RegularGridInterpolator = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        hv = tuple(float(h) for h in self.hvl_mm_al)
        th = tuple(float(t) for t in self.thickness_cm)
        grid = np.array([[float(x) for x in self.g_factor[h]] for h in self.hvl_mm_al])
        if grid.shape != (len(hv), len(th)):
            raise ValueError(f"DoseTables: g table is {grid.shape}, expected {(len(hv), len(th))}")
        object.__setattr__(self, "_g", RegularGridInterpolator((hv, th), grid, method="linear", bounds_error=True))
        object.__setattr__(self, "s_factor", {_norm_tf(k): float(v) for k, v in self.s_factor.items()})

    def g(self, thickness_cm: float, hvl_mm_al: float) -> float:
        """g by bilinear interpolation; ValueError outside the table."""
        hv, th = self._g.grid
        if not (th[0] <= thickness_cm <= th[-1]):
            raise ValueError(
                f"breast thickness {thickness_cm * 10:.0f} mm lies outside the g table ({th[0] * 10:.0f}"
                f"-{th[-1] * 10:.0f} mm)"
            )
        if not (hv[0] <= hvl_mm_al <= hv[-1]):
            raise ValueError(f"HVL {hvl_mm_al:.3f} mm Al lies outside the g table ({hv[0]}-{hv[-1]} mm Al)")
        return float(self._g([[hvl_mm_al, thickness_cm]])[0])

    def s(self, target_filter: str) -> float:
        key = _norm_tf(target_filter)
        if key not in self.s_factor:
            raise ValueError(
                f"no sourced s-factor for target/filter {target_filter!r}; known: {', '.join(sorted(self.s_factor))}"
            )
        return self.s_factor[key]


DEFAULT_TABLES = DoseTables(
    g_factor=dance_data.G_FACTOR,
    thickness_cm=dance_data.THICKNESS_CM,
    hvl_mm_al=dance_data.HVL_MM_AL,
    s_factor=dance_data.S_FACTOR,
    sources="Dance 2000 (g, s), Dance 2009 (s W/Ag); see recon.qc.dance_data",
)


def typical_glandularity(thickness_mm: float, *, age_group: str = "50-64") -> float:
    """Typical glandularity (fraction) of a breast of this compressed thickness (Dance 2000), interpolated."""
    if age_group not in dance_data.TYPICAL_GLANDULARITY:
        raise ValueError(f"age_group must be one of {', '.join(dance_data.TYPICAL_GLANDULARITY)}, got {age_group!r}")
    t = np.asarray(dance_data.GLANDULARITY_THICKNESS_CM)
    x = float(thickness_mm) / 10.0
    if not t[0] <= x <= t[-1]:
        raise ValueError(
            f"thickness {thickness_mm} mm outside the glandularity table ({t[0] * 10:.0f}-{t[-1] * 10:.0f})"
        )
    return float(np.interp(x, t, dance_data.TYPICAL_GLANDULARITY[age_group]))


def incident_air_kerma_mgy(mas, *, output_mgy_per_mas_at_1m: float, focus_to_surface_mm) -> np.ndarray:
    """Incident air kerma at the upper breast surface from mAs and the tube output (inverse-square law).

    Parameters
    ----------
    mas : float or array (views,)
    output_mgy_per_mas_at_1m : float
        Measured tube output for this kVp and target/filter at 1 m, mGy/mAs (a physicist's figure).
    focus_to_surface_mm : float or array (views,)
        Distance from the focal spot to the upper breast surface along the central ray, mm.
    """
    m = np.asarray(mas, dtype=np.float64)
    d = np.asarray(focus_to_surface_mm, dtype=np.float64)
    if np.any(m < 0) or not output_mgy_per_mas_at_1m > 0 or np.any(d <= 0):
        raise ValueError("incident_air_kerma_mgy: mAs must be >= 0, output and distance > 0")
    return m * float(output_mgy_per_mas_at_1m) * (1000.0 / d) ** 2


def organ_dose_dgy_to_mgy(value) -> float:
    """DICOM Organ Dose (0040,0316) is in dGy; 1 dGy = 100 mGy."""
    return float(value) * 100.0


@dataclass(frozen=True)
class DoseEstimate:
    """Result of :func:`glandular_dose`: per-projection and total AGD with the factors used."""

    per_view_mgy: np.ndarray
    total_mgy: float
    g: float
    c: float
    s: float
    t: np.ndarray
    glandularity: float
    assumptions: tuple

    def to_dict(self) -> dict:
        return {
            "per_view_mgy": self.per_view_mgy.tolist(),
            "total_mgy": self.total_mgy,
            "g": self.g,
            "c": self.c,
            "s": self.s,
            "t": self.t.tolist(),
            "glandularity": self.glandularity,
            "assumptions": list(self.assumptions),
        }


def glandular_dose(
    *,
    incident_air_kerma_mgy,
    hvl_mm_al: float,
    thickness_mm: float,
    target_filter: str,
    glandularity: float | None = None,
    angles_rad=None,
    age_group: str = "50-64",
    tables: DoseTables = DEFAULT_TABLES,
) -> DoseEstimate:
    """Average glandular dose of a 2D view or a DBT sweep by the Dance method.

    Parameters
    ----------
    incident_air_kerma_mgy : float or array (views,)
        K per projection (no backscatter), mGy.
    hvl_mm_al : float
        First half-value layer, mm Al.
    thickness_mm : float
        Compressed breast thickness, mm.
    target_filter : str
        e.g. "W/Rh", "W/Ag", "Mo/Mo".
    glandularity : float, optional
        Fraction 0-1; default the typical glandularity of this thickness (``age_group``).
    angles_rad : array (views,), optional
        Tube angles of a DBT sweep (t-factors); None for 2D.

    Returns
    -------
    DoseEstimate
    """
    k = np.atleast_1d(np.asarray(incident_air_kerma_mgy, dtype=np.float64))
    if k.ndim != 1 or np.any(~np.isfinite(k)) or np.any(k < 0):
        raise ValueError("glandular_dose: incident_air_kerma_mgy must be finite and >= 0, one value per projection")
    if not hvl_mm_al > 0:
        raise ValueError(f"glandular_dose: hvl_mm_al must be > 0, got {hvl_mm_al}")
    if not thickness_mm > 0:
        raise ValueError(f"glandular_dose: thickness_mm must be > 0, got {thickness_mm}")
    assumptions = []
    if glandularity is None:
        glandularity = typical_glandularity(thickness_mm, age_group=age_group)
        assumptions.append(
            f"glandularity {glandularity * 100:.0f} % (typical for {thickness_mm:.0f} mm, ages {age_group})"
        )
    if not 0 <= glandularity <= 1:
        raise ValueError(f"glandular_dose: glandularity must be a fraction 0-1, got {glandularity}")
    tcm = thickness_mm / 10.0
    g = tables.g(tcm, hvl_mm_al)
    s = tables.s(target_filter)
    if tables.c_factor is not None:
        c = float(tables.c_factor(tcm, hvl_mm_al, glandularity))
    else:
        c = 1.0
        if abs(glandularity - 0.5) > 1e-9:
            assumptions.append(f"c = 1: {dance_data.MISSING['c_factor']}")
    if angles_rad is None:
        if k.size != 1:
            raise ValueError("glandular_dose: several kerma values need angles_rad (a DBT sweep)")
        t = np.ones(1)
    else:
        ang = np.asarray(angles_rad, dtype=np.float64).reshape(-1)
        if k.size == 1 and ang.size > 1:
            k = np.full(ang.size, k[0] / ang.size)
            assumptions.append("sweep kerma shared equally among the projections")
        if ang.size != k.size:
            raise ValueError(f"glandular_dose: {k.size} kerma values for {ang.size} angles")
        if tables.t_factor is not None:
            t = np.array([float(tables.t_factor(a, tcm)) for a in ang])
        else:
            t = np.ones(ang.size)
            assumptions.append(f"t = 1: {dance_data.MISSING['t_factor']}")
    per_view = k * g * c * s * t
    return DoseEstimate(
        per_view_mgy=per_view,
        total_mgy=float(per_view.sum()),
        g=g,
        c=c,
        s=s,
        t=t,
        glandularity=float(glandularity),
        assumptions=tuple(assumptions),
    )


def check_dose(
    estimate: DoseEstimate, *, header_dose_mgy: float | None = None, limits: QCLimits | None = None
) -> CheckResult:
    """AGD of the view against the limits, and against the header's Organ Dose when there is one."""
    if not isinstance(estimate, DoseEstimate):
        raise TypeError("check_dose: estimate must be a DoseEstimate")
    limits = limits or QCLimits()
    d = estimate.total_mgy
    status = "fail" if d > limits.dose_fail_mgy else ("warn" if d > limits.dose_warn_mgy else "pass")
    parts = [f"AGD {d:.2f} mGy (g {estimate.g:.3f}, c {estimate.c:.3f}, s {estimate.s:.3f})"]
    if status != "pass":
        parts.append(
            f"above the {'limit' if status == 'fail' else 'warning level'} "
            f"{limits.dose_fail_mgy if status == 'fail' else limits.dose_warn_mgy} mGy "
            "(defined for the standard breast)"
        )
    data = {"per_view_mgy": estimate.per_view_mgy, "t": estimate.t, "assumptions": list(estimate.assumptions)}
    if header_dose_mgy is not None and header_dose_mgy > 0:  # 0 = not recorded
        data["header_mgy"] = float(header_dose_mgy)
        rel = (d - header_dose_mgy) / header_dose_mgy if header_dose_mgy > 0 else np.inf
        data["header_relative_difference"] = rel
        parts.append(f"header Organ Dose {header_dose_mgy:.2f} mGy ({rel * 100:+.0f} %)")
        if abs(rel) > limits.dose_header_tolerance and status == "pass":
            status = "warn"
            parts.append(f"differs from the header by more than {limits.dose_header_tolerance * 100:.0f} %")
    if estimate.assumptions:
        parts.append("assumed: " + "; ".join(a.split(":")[0] for a in estimate.assumptions))
    return CheckResult(
        "dose",
        status,
        value=round(d, 4),
        limit={"warn_mgy": limits.dose_warn_mgy, "fail_mgy": limits.dose_fail_mgy},
        detail="; ".join(parts),
        data=data,
    )
