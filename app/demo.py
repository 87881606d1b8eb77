"""The demo study: a complete synthetic 4-view DBT screening exam of one synthetic patient.

For each of RCC, LCC, RMLO and LMLO: a breast phantom (findings in the left breast only: a
mass, a calcification cluster and two single calcifications; the right breast has two
benign-looking single calcifications), a simulated GE-geometry acquisition written as Breast
Projection X-Ray For Processing, its FBP reconstruction written as a Breast Tomosynthesis
Image, and the synthetic 2D written as Digital Mammography For Presentation. The lesions'
ground truth is written beside them (``truth_<VIEW>.json``). A folder that already holds a
complete demo with the same options is reused (``crescent-demo.json`` records it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["DEMO_VIEWS", "DemoResult", "make_demo", "run_demo_cad"]

MARKER = "crescent-demo.json"

DEMO_VIEWS = ("RCC", "LCC", "RMLO", "LMLO")
_SIZES = {
    # breast (thickness, depth, width) mm, detector pitch mm, phantom voxel mm
    "standard": {"breast": (45.0, 70.0, 120.0), "pixel_mm": 0.2, "voxel_mm": (0.5, 0.25, 0.25)},
    "small": {"breast": (20.0, 30.0, 28.0), "pixel_mm": 0.4, "voxel_mm": (0.5, 0.25, 0.25)},
}


@dataclass
class DemoResult:
    """What :func:`make_demo` wrote."""

    study_uid: str
    out_dir: Path
    files: dict = field(default_factory=dict)  # view -> {"projections", "volume", "synthetic2d", "truth"}


def _geometry(pixel_mm: float, thickness: float, depth: float, width: float):
    from recon import preset_geometry

    g0 = preset_geometry("ge-essential")
    top = g0.support_height_mm + thickness
    half_arc = float(np.max(np.abs(g0.angles_rad)))
    rows = int(np.ceil((width * 1.15 + 2 * top * np.tan(half_arc) + 10.0) / pixel_mm))
    cols = int(np.ceil((depth * 1.15 + 8.0) / pixel_mm))
    return preset_geometry("ge-essential", detector_shape=(rows, cols), pixel_mm=pixel_mm)


def make_demo(out_dir, *, size: str = "standard", seed: int = 2026, progress=None) -> DemoResult:
    """Write the demo exam into ``out_dir`` (files only; importing is the caller's job).

    Parameters
    ----------
    out_dir : path
        Folder to write (created).
    size : {"standard", "small"}
        "standard": a 45 mm breast on a 0.2 mm detector (about a minute on 2 cores);
        "small": a tiny case for tests.
    seed : int
        Seed of phantoms and noise.
    progress : callable, optional
        ``progress(done, total, message)``.
    """
    from app.dicom import PatientStudy, write_projection_set, write_synthetic_2d, write_tomosynthesis
    from recon.phantoms import breast_phantom
    from recon.reconstruct import reconstruct
    from recon.simulate import simulate_acquisition, to_line_integrals
    from recon.synthetic2d import synthetic_2d
    from recon.types import VolumeGrid

    if size not in _SIZES:
        raise ValueError(f"make_demo: size must be one of {', '.join(_SIZES)}, got {size!r}")
    cfg = _SIZES[size]
    thickness, depth, width = cfg["breast"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    previous = _previous(out, size, seed)
    if previous is not None:
        return previous
    study = PatientStudy(
        patient_name="Demo^Crescent",
        patient_id="CRESCENT-DEMO",
        patient_birth_date="19680412",
        study_description="Screening DBT (synthetic demo)",
        accession_number="DEMO0001",
    )
    geometry = _geometry(cfg["pixel_mm"], thickness, depth, width)
    result = DemoResult(study.study_instance_uid, out)
    steps = 4 * len(DEMO_VIEWS)
    done = 0
    for view_name in DEMO_VIEWS:
        lat, view = view_name[0], view_name[1:]
        findings = lat == "L"
        phantom = breast_phantom(
            seed=seed + (1 if findings else 0),
            size="small" if size == "small" else "full",
            density="b",
            view=view_name,
            support_height_mm=geometry.support_height_mm,
            thickness_mm=thickness,
            depth_mm=depth,
            width_mm=width,
            voxel_mm=cfg["voxel_mm"],
            n_masses=1 if findings else 0,
            n_clusters=1 if findings else 0,
            n_calcifications=2,
            mass_diameter_mm=(8.0, 12.0) if size == "standard" else (4.0, 6.0),
        )
        vstudy = study.for_view(lat, view)
        if progress:
            progress(done, steps, f"{view_name}: simulating the acquisition")
        raw = simulate_acquisition(phantom, geometry, dose_factor=1.0, seed=seed + 100 + done)
        proj_file = write_projection_set(
            raw, out / f"{view_name}_projections.dcm", study=vstudy, body_part_thickness_mm=thickness
        )
        done += 1
        if progress:
            progress(done, steps, f"{view_name}: reconstructing")
        li = to_line_integrals(raw)
        grid = VolumeGrid.for_geometry(
            geometry,
            thickness,
            slice_mm=1.0,
            pixel_mm=cfg["pixel_mm"],
            extent_x_mm=depth + 5.0,
            extent_y_mm=width + 5.0,
        )
        volume = reconstruct(li, geometry, grid, method="fbp")
        done += 1
        vol_file = write_tomosynthesis(
            volume,
            out / f"{view_name}_tomo.dcm",
            study=vstudy,
            projections=raw,
            source=proj_file,
        )
        done += 1
        if progress:
            progress(done, steps, f"{view_name}: synthetic 2D")
        s2d = synthetic_2d(volume)
        s2d_file = write_synthetic_2d(
            s2d, out / f"{view_name}_synthetic2d.dcm", study=vstudy, pixel_mm=cfg["pixel_mm"], source=vol_file
        )
        truth_path = out / f"truth_{view_name}.json"
        truth_path.write_text(json.dumps(phantom.truth(), indent=1) + "\n")
        done += 1
        result.files[view_name] = {
            "projections": Path(proj_file.path),
            "volume": Path(vol_file.path),
            "synthetic2d": Path(s2d_file.path),
            "truth": truth_path,
        }
    if progress:
        progress(steps, steps, "done")
    (out / MARKER).write_text(
        json.dumps(
            {
                "study_uid": result.study_uid,
                "size": size,
                "seed": seed,
                "files": {v: {k: p.name for k, p in f.items()} for v, f in result.files.items()},
            },
            indent=1,
        )
    )
    return result


def _previous(out: Path, size: str, seed: int) -> DemoResult | None:
    """The demo already written in ``out`` with the same options, if complete."""
    try:
        info = json.loads((out / MARKER).read_text())
    except (OSError, ValueError):
        return None
    if info.get("size") != size or info.get("seed") != seed:
        return None
    files = {v: {k: out / name for k, name in f.items()} for v, f in info.get("files", {}).items()}
    if sorted(files) != sorted(DEMO_VIEWS) or not all(p.is_file() for f in files.values() for p in f.values()):
        return None
    return DemoResult(info["study_uid"], out, files)


def run_demo_cad(result: DemoResult, store, *, models="default", progress=None) -> dict:
    """Run CAD on each demo volume not yet analysed by these models and keep the SR in the store.

    Returns ``{view: case score}``. Uses the shipped models (the classical detector when
    none are shipped); results are recorded like the workstation's (``kind="cad"`` with the
    case score), so the worklist's CAD column and the marks show them.
    """
    from app.dicom import read_volume
    from app.dicom.cad_sr import write_cad_sr
    from app.dicom.writers.common import SOFTWARE_VERSION
    from cad.classical import CLASSICAL_MODEL_ID
    from cad.detect import detect, resolve_models

    resolved = resolve_models(models)
    current = [CLASSICAL_MODEL_ID] if resolved == "classical" else [m.model_ref for m in resolved]
    # a result of other models (an older version) is computed again, and the newer one shown
    done = {
        d.parameters.get("source")
        for d in store.derived(study_uid=result.study_uid, kind="cad")
        if d.parameters.get("models") == current
    }
    scores = {}
    for i, (view, files) in enumerate(sorted(result.files.items())):
        volume = read_volume(files["volume"])
        sop_uid = str(volume.metadata.get("sop_instance_uid"))
        if sop_uid in done:
            continue
        if progress:
            progress(i, len(result.files), f"{view}: CAD")
        res = detect(volume, models=models)
        path = store.derived_path(result.study_uid, f"cad-{view}.dcm")
        written = write_cad_sr(res, path, image=files["volume"])
        store.add_derived(
            "cad",
            written.path,
            study_uid=result.study_uid,
            sources=[sop_uid],
            description=f"CAD: {len(res.findings)} findings, case score {res.case_score:.0f}",
            software=SOFTWARE_VERSION,
            parameters={
                "case_score": round(float(res.case_score), 3),
                "models": list(res.models),
                "findings": len(res.findings),
                "source": sop_uid,
            },
        )
        scores[view] = float(res.case_score)
    return scores
