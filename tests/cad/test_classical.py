import numpy as np

from cad.classical import detect_classical
from cad.froc import HitRule, TruthLesion
from recon.types import Volume, VolumeGrid


def _volume_with_lesions(seed=0):
    rng = np.random.default_rng(seed)
    grid = VolumeGrid(shape=(20, 300, 250), voxel_mm=(1.0, 0.1, 0.1), origin_mm=(20.5, -15.0, 0.05))
    data = (0.05 + 0.002 * rng.standard_normal(grid.shape)).astype(np.float32)
    z, y, x = np.meshgrid(grid.z_mm, grid.y_mm, grid.x_mm, indexing="ij")
    # a cluster of 5 calcifications at (10, -5, 30) mm
    calc_xy = [(10.0, -5.0), (11.0, -4.0), (9.5, -3.5), (10.5, -6.0), (12.0, -5.5)]
    for cx, cy in calc_xy:
        r2 = (x - cx) ** 2 + (y - cy) ** 2
        data += (0.04 * np.exp(-r2 / (2 * 0.12**2)) * np.exp(-((z - 30.0) ** 2) / 2)).astype(np.float32)
    # a 6 mm mass at (17, 8, 32)
    r2 = (x - 17.0) ** 2 + (y - 8.0) ** 2
    data += (0.01 * (r2 < 9.0) * np.exp(-((z - 32.0) ** 2) / 8)).astype(np.float32)
    return Volume(data, grid)


def test_classical_finds_the_cluster_and_the_mass():
    vol = _volume_with_lesions()
    res = detect_classical(vol)
    rule = HitRule()
    cluster = TruthLesion("calcification_cluster", (10.6, -4.8, 30.0), 3.0)
    mass = TruthLesion("mass", (17.0, 8.0, 32.0), 6.0)
    clusters = res.of_kind("calcification_cluster")
    masses = res.of_kind("mass")
    assert clusters and rule.hits(clusters[0], cluster), clusters[:1]
    assert len(clusters[0].members) >= 4
    assert masses and rule.hits(masses[0], mass), masses[:1]
    assert res.case_score >= clusters[0].score


def test_classical_on_noise_only_is_quiet():
    rng = np.random.default_rng(3)
    grid = VolumeGrid(shape=(20, 300, 250), voxel_mm=(1.0, 0.1, 0.1), origin_mm=(20.5, -15.0, 0.05))
    vol = Volume((0.05 + 0.002 * rng.standard_normal(grid.shape)).astype(np.float32), grid)
    res = detect_classical(vol)
    assert not res.of_kind("calcification_cluster")
