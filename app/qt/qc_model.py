"""Moved to :mod:`app.model.qc_session` (models live in ``app.model``); kept for old imports."""

from app.model.qc_session import QCDecision, QCSessionModel

__all__ = ["QCDecision", "QCSessionModel"]
