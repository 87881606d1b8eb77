import json

import numpy as np

from app.cli import main


def test_demo_writes_imports_and_reuses(tmp_path, capsys):
    store = tmp_path / "store"
    out = tmp_path / "demo"
    assert main(["--store", str(store), "demo", "-o", str(out), "--small", "--no-gui"]) == 0
    marker = json.loads((out / "crescent-demo.json").read_text())
    assert sorted(marker["files"]) == ["LCC", "LMLO", "RCC", "RMLO"]

    from app.dicom import read_mammogram, read_volume
    from app.store import Store

    with Store.open(store) as s:
        studies = s.studies()
        assert [st.study_uid for st in studies] == [marker["study_uid"]]
        assert sorted(studies[0].views) == ["LCC", "LMLO", "RCC", "RMLO"]
        # 12 images + 4 CAD SRs (one per volume), each recorded with its case score
        cad = s.derived(study_uid=marker["study_uid"], kind="cad")
        assert len(cad) == 4 and all("case_score" in d.parameters for d in cad)
        assert s.counts()["instances"] == 16
    # the left breast has the findings, the right does not
    left = json.loads((out / "truth_LCC.json").read_text())
    right = json.loads((out / "truth_RCC.json").read_text())
    assert {les["kind"] for les in left["lesions"]} >= {"mass", "calcification_cluster"}
    assert not {les["kind"] for les in right["lesions"]} & {"mass", "calcification_cluster"}
    vol = read_volume(out / "LCC_tomo.dcm")
    assert vol.metadata["laterality"] == "L" and vol.metadata["view"] == "CC"
    assert np.isfinite(vol.data).all() and vol.data.std() > 0
    s2d = read_mammogram(out / "LCC_synthetic2d.dcm")
    assert s2d is not None
    # a second run reuses the folder and imports nothing new
    capsys.readouterr()
    assert main(["--store", str(store), "demo", "-o", str(out), "--small", "--no-gui"]) == 0
    second = capsys.readouterr().out
    assert "0 files added" in second and "CAD" not in second  # nothing recomputed
    # other models (e.g. after an upgrade) are run again, once
    from app.demo import make_demo, run_demo_cad

    result = make_demo(out, size="small")
    with Store.open(store) as s:
        assert sorted(run_demo_cad(result, s, models="classical")) == ["LCC", "LMLO", "RCC", "RMLO"]
        assert run_demo_cad(result, s, models="classical") == {}
        assert len(s.derived(study_uid=marker["study_uid"], kind="cad")) == 8
