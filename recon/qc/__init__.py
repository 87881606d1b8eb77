"""Technologist QC analysis: acquisition checks, dose, positioning and phantom scoring.

Array-in/result-out; knows no files or screens. Each check returns a
:class:`~recon.qc.results.CheckResult` or raises :class:`~recon.qc.results.NotAssessable`;
:func:`recon.qc.acquisition.run_acquisition_qc` runs them all into a :class:`QCReport`.
"""

from recon.qc.limits import QCLimits
from recon.qc.results import CheckResult, NotAssessable, QCReport, worst_status

__all__ = ["QCLimits", "CheckResult", "NotAssessable", "QCReport", "worst_status"]
