"""Loading real DICOM studies (demo exam written by ``app.demo``) from files and from the store."""

from __future__ import annotations

import shutil

import numpy as np
import pytest


def _store_instances(store_dir, study_uid):
    from app.store import Store

    with Store.open(store_dir) as store:
        return {i.sop_instance_uid: i for i in store.instances(study_uid=study_uid)}


def test_store_study_hangs_volumes_and_synthetic_2d_not_projections(demo_exam):
    from app.model.loading import load_store_study

    result = load_store_study(demo_exam.study_uid, store_dir=demo_exam.store)
    st = result.study
    assert st.study_uid == demo_exam.study_uid and st.patient_name == "Demo^Crescent" and st.status == "unread"
    kinds = sorted((im.kind, im.laterality, im.view) for im in st.images)
    assert kinds == sorted((k, lat, v) for k in ("tomo", "synthetic2d") for lat in ("R", "L") for v in ("CC", "MLO"))
    # the projection sets are inputs: not loaded, not hung, nothing to reconstruct
    assert result.projections == [] and sorted(result.covered) == ["L CC", "L MLO", "R CC", "R MLO"]
    # every image keeps the UIDs the SR needs, and they are the store's instances
    instances = _store_instances(demo_exam.store, demo_exam.study_uid)
    for im in st.images:
        uid, cls = im.metadata["sop_instance_uid"], im.metadata["sop_class_uid"]
        assert uid in instances and instances[uid].sop_class_uid == cls
        expected = "1.2.840.10008.5.1.4.1.1.13.1.3" if im.kind == "tomo" else "1.2.840.10008.5.1.4.1.1.1.2"
        assert cls == expected
    # the DBT stack is in the project's order: slice heights increase, columns start at the chest wall
    tomo = st.find("L", "CC")
    assert tomo.is_stack and np.all(np.diff(tomo.slice_heights_mm) > 0)
    truth = demo_exam.truth("LCC")
    assert tomo.slice_heights_mm[0] >= truth["support_height_mm"] - 1.0
    profile = tomo.data[tomo.n_slices // 2].mean(axis=0)
    assert profile[: profile.size // 4].mean() > profile[-profile.size // 8 :].mean()  # tissue at the chest wall


def test_projection_folder_is_returned_for_reconstruction(demo_exam, tmp_path):
    from app.errors import InputError
    from app.model.loading import load_paths

    folder = tmp_path / "acq"
    folder.mkdir()
    shutil.copy(demo_exam.folder / "RMLO_projections.dcm", folder)
    result = load_paths([folder])
    assert result.study.images == [] and result.covered == []
    (ps,) = result.projections
    assert ps.metadata["laterality"] == "R" and ps.metadata["view"] == "MLO"
    assert ps.metadata["thickness_mm"] == pytest.approx(demo_exam.truth("RMLO")["thickness_mm"])
    with pytest.raises(InputError, match="no such file"):
        load_paths([tmp_path / "missing"])
