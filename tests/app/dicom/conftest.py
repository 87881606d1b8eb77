"""Small synthetic DBT objects for the DICOM tests (9 views of 48 x 64 pixels)."""

from __future__ import annotations

import numpy as np
import pytest

from app.dicom import PatientStudy
from recon.presets import preset_geometry
from recon.types import ProjectionSet, Volume, VolumeGrid

SHAPE = (48, 64)


def make_projections(preset="ge-essential", *, n_views=9, seed=0, line=True) -> ProjectionSet:
    geom = preset_geometry(preset, detector_shape=SHAPE, pixel_mm=0.5, n_views=n_views)
    rng = np.random.default_rng(seed)
    data = (rng.random((n_views, *SHAPE)) * (3.0 if line else 4000.0)).astype(np.float32)
    # a ramp makes flips visible
    data += np.linspace(0, 1, SHAPE[1], dtype=np.float32)[None, None, :]
    return ProjectionSet(
        data=data,
        geometry=geom,
        exposure_mas=np.linspace(4.0, 6.0, n_views),
        is_line_integral=line,
        metadata={"thickness_mm": 45.0},
    )


def make_volume(geom, *, seed=1) -> Volume:
    grid = VolumeGrid.for_geometry(geom, 12.0, slice_mm=1.0)
    rng = np.random.default_rng(seed)
    data = (rng.random(grid.shape) * 0.08 - 0.01).astype(np.float32)
    data[:, :, :8] += 0.05  # chest-wall band: flips visible
    return Volume(data=data, grid=grid)


@pytest.fixture
def study() -> PatientStudy:
    return PatientStudy(
        patient_name="Doe^Jane",
        patient_id="PID-123",
        patient_birth_date="19700101",
        accession_number="ACC-9",
        laterality="R",
        view="CC",
    )
