"""Writers of the DICOM objects Crescent produces (all dciodvfy-clean; see the tests)."""

from app.dicom.writers.common import WrittenObject
from app.dicom.writers.mammo2d import write_synthetic_2d
from app.dicom.writers.projection import write_projection_set
from app.dicom.writers.tomo import write_tomosynthesis

__all__ = ["WrittenObject", "write_projection_set", "write_tomosynthesis", "write_synthetic_2d"]
