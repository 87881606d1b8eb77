"""Limited-angle DBT reconstruction: geometry, projectors, algorithms, phantoms, simulation."""

from recon.geometry import Geometry, arc_geometry
from recon.presets import PRESETS, preset_geometry, preset_names
from recon.reconstruct import reconstruct
from recon.types import ProjectionSet, Volume, VolumeGrid

__all__ = [
    "Geometry",
    "arc_geometry",
    "PRESETS",
    "preset_geometry",
    "preset_names",
    "ProjectionSet",
    "Volume",
    "VolumeGrid",
    "reconstruct",
]
