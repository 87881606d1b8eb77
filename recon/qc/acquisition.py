"""Run every acquisition check on one projection set into a :class:`QCReport`."""

from __future__ import annotations

from dataclasses import dataclass

from recon.errors import check_cancel
from recon.qc.detector import check_detector_defects
from recon.qc.dose import DEFAULT_TABLES, DoseTables, check_dose, glandular_dose
from recon.qc.exposure import check_exposure, check_saturation
from recon.qc.limits import QCLimits
from recon.qc.motion import check_motion
from recon.qc.protocol import check_angles, check_geometry_consistency, check_projection_count
from recon.qc.results import NotAssessable, QCReport
from recon.types import ProjectionSet

__all__ = ["DoseInputs", "run_acquisition_qc"]


@dataclass(frozen=True)
class DoseInputs:
    """What the dose estimate needs (from the DICOM header or the user).

    incident_air_kerma_mgy : per projection (or one value for the sweep), mGy
    hvl_mm_al, thickness_mm, target_filter : beam quality and breast
    glandularity : fraction, optional (default: typical for the thickness)
    header_dose_mgy : the header's Organ Dose for the view, mGy (optional)
    """

    incident_air_kerma_mgy: object
    hvl_mm_al: float
    thickness_mm: float
    target_filter: str
    glandularity: float | None = None
    header_dose_mgy: float | None = None


def run_acquisition_qc(
    projections: ProjectionSet,
    *,
    system=None,
    limits: QCLimits | None = None,
    thickness_mm: float | None = None,
    dose: DoseInputs | None = None,
    dose_tables: DoseTables = DEFAULT_TABLES,
    saturation_level: float | None = None,
    progress=None,
    cancel=None,
) -> QCReport:
    """All acquisition checks of one DBT projection set.

    Parameters
    ----------
    projections : ProjectionSet
        Raw (For Processing) projections for the exposure checks; line integrals are accepted
        (exposure and saturation are then not run).
    system : str, SystemPreset or Geometry, optional
        The system's nominal sweep (preset name) for protocol conformance; without it only the
        geometry's own consistency is checked.
    limits : QCLimits
    thickness_mm : float, optional
        Compressed thickness (motion search range; dose).
    dose : DoseInputs, optional
    saturation_level : float, optional
        Detector maximum (2**BitsStored - 1) for the saturation check.
    progress : callable(done, total, message), optional
        Called before each check (``message`` names it) and once at the end.
    cancel : threading.Event, optional
        Checked between checks; raises :class:`recon.errors.Cancelled` when set.
    """
    if not isinstance(projections, ProjectionSet):
        raise TypeError("run_acquisition_qc: projections must be a recon.ProjectionSet")
    if progress is not None and not callable(progress):
        raise TypeError("run_acquisition_qc: progress must be callable")
    limits = limits or QCLimits()
    g = projections.geometry
    checks, not_run = [], []
    total = 4 + (system is not None) * 2 + (saturation_level is not None) + (dose is not None)
    done = [0]

    def attempt(name, fn):
        check_cancel(cancel)
        if progress is not None:
            progress(done[0], total, name.replace("_", " "))
        done[0] += 1
        try:
            checks.append(fn())
        except NotAssessable as exc:
            not_run.append((name, str(exc)))
        except ValueError as exc:  # inputs outside what a method covers (dose tables)
            not_run.append((name, str(exc)))

    if system is not None:
        attempt("projection_count", lambda: check_projection_count(g, system, limits=limits))
        attempt("angles", lambda: check_angles(g, system, limits=limits))
    else:
        not_run.append(("angles", "no system given: angles not compared with the system's sweep"))
    attempt("geometry_consistency", lambda: check_geometry_consistency(g, limits=limits))
    attempt("exposure", lambda: check_exposure(projections, limits=limits))
    if saturation_level is not None:
        attempt("saturation", lambda: check_saturation(projections, saturation_level=saturation_level, limits=limits))
    else:
        not_run.append(("saturation", "detector maximum unknown"))
    attempt("motion", lambda: check_motion(projections, limits=limits, thickness_mm=thickness_mm))
    attempt("detector_defects", lambda: check_detector_defects(projections, limits=limits))
    if dose is not None:

        def _dose():
            est = glandular_dose(
                incident_air_kerma_mgy=dose.incident_air_kerma_mgy,
                hvl_mm_al=dose.hvl_mm_al,
                thickness_mm=dose.thickness_mm,
                target_filter=dose.target_filter,
                glandularity=dose.glandularity,
                angles_rad=g.angles_rad,
                tables=dose_tables,
            )
            return check_dose(est, header_dose_mgy=dose.header_dose_mgy, limits=limits)

        attempt("dose", _dose)
    else:
        not_run.append(("dose", "no kerma, HVL, thickness and target/filter given"))
    check_cancel(cancel)
    if progress is not None:
        progress(total, total, "checks done")
    return QCReport(
        checks=tuple(checks),
        not_run=tuple(not_run),
        metadata={"views": g.n_views, "system": getattr(system, "name", system), "geometry": g.name},
    )
