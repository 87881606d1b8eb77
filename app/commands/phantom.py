"""``crescent phantom``: simulate a DBT acquisition of a digital phantom, with its ground truth.

Writes into OUT_DIR:

``projections.dcm``
    One multi-frame Breast Projection X-Ray Image - For Processing (raw signal, linear in
    exposure) with the acquisition geometry, written by :mod:`app.dicom`.
``truth.json``
    The acquisition geometry, the compressed thickness and every lesion with ``kind``,
    ``center_mm`` [x, y, z] in the detector frame of DESIGN.md, ``size_mm`` and
    ``extent_mm`` (plus per-kind details: mass shape, cluster members, ...), the detector
    model (I0, gain, electronic noise) and the seeds.

``--small`` gives the test case: the system's geometry with a 256 x 192 detector of 0.2 mm
pixels and a small breast (20 mm thick, 30 mm chest wall to nipple, 28 mm wide) that
projects inside that detector in every view for GE, Hologic and VICTRE (the 50-degree
Siemens/VICTRE arcs push the top of the breast close to the detector's ends). Without it,
the vendor's full detector and a 50 mm breast (100 x 170 mm): tens of seconds and a few GB.
"""

from __future__ import annotations

import json
from pathlib import Path

NAME = "phantom"
HELP = "simulate the projections of a digital breast phantom and write them with truth.json"
DESCRIPTION = __doc__

SYSTEMS = ("ge-essential", "hologic-dimensions", "siemens-mammomat", "victre")
SMALL_DETECTOR = (256, 192)
SMALL_PIXEL_MM = 0.2
PROJECTIONS_FILE = "projections.dcm"
TRUTH_FILE = "truth.json"


def add_arguments(parser) -> None:
    parser.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="output folder (created if needed)")
    parser.add_argument("--phantom", choices=["breast", "qc"], default="breast", help="which phantom (default breast)")
    parser.add_argument("--system", choices=SYSTEMS, default="ge-essential", help="acquisition geometry preset")
    parser.add_argument("--view", default="RCC", type=str.upper, choices=["RCC", "LCC", "RMLO", "LMLO"])
    parser.add_argument("--dose-factor", type=float, default=1.0, metavar="F", help="multiple of the reference dose")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the phantom and the noise")
    parser.add_argument("--density", choices=["a", "b", "c", "d"], default="b", help="BI-RADS breast composition")
    parser.add_argument(
        "--small", action="store_true", help="small test case: 256 x 192 detector at 0.2 mm and a small breast"
    )


def geometry_dict(geometry) -> dict:
    """JSON-able description of a :class:`recon.Geometry` (mm, radians and degrees)."""
    import numpy as np

    return {
        "name": geometry.name,
        "n_views": geometry.n_views,
        "angles_rad": geometry.angles_rad.tolist(),
        "angles_deg": np.degrees(geometry.angles_rad).tolist(),
        "source_mm": geometry.source_mm.tolist(),
        "detector_origin_mm": geometry.detector_origin_mm.tolist(),
        "detector_u_dir": geometry.detector_u_dir.tolist(),
        "detector_v_dir": geometry.detector_v_dir.tolist(),
        "pixel_mm": list(geometry.pixel_mm),
        "detector_shape": list(geometry.detector_shape),
        "support_height_mm": geometry.support_height_mm,
        "pivot_height_mm": geometry.pivot_height_mm,
        "source_to_detector_mm": geometry.source_to_detector_mm,
        "stationary_flat_detector": geometry.is_stationary_flat,
    }


def _output_dir(path: str) -> Path:
    from app.errors import InputError

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"-o {path}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"-o {path}: cannot create the folder ({exc.strerror})") from None
    return out


def run(args) -> int:
    import numpy as np

    from app.errors import InputError
    from app.progress import TerminalProgress

    if not np.isfinite(args.dose_factor) or args.dose_factor <= 0:
        raise InputError(f"--dose-factor {args.dose_factor}: must be a number > 0")
    out = _output_dir(args.output)

    from app.dicom import PatientStudy, write_projection_set
    from recon import preset_geometry
    from recon.phantoms import breast_phantom, parse_view
    from recon.simulate import simulate_acquisition

    laterality, view = parse_view(args.view)
    if args.small:
        geometry = preset_geometry(args.system, detector_shape=SMALL_DETECTOR, pixel_mm=SMALL_PIXEL_MM)
    else:
        geometry = preset_geometry(args.system)
    if args.phantom == "qc":
        from recon.phantoms.qc import qc_phantom

        # the small detector (51 x 38 mm) holds the phantom's objects at 0.7 of their size
        phantom = qc_phantom(support_height_mm=geometry.support_height_mm, scale=0.7 if args.small else 1.0)
    else:
        phantom = breast_phantom(
            seed=args.seed,
            size="small" if args.small else "full",
            density=args.density,
            view=args.view,
            support_height_mm=geometry.support_height_mm,
        )
    noise_seed = args.seed + 1
    progress = TerminalProgress(f"phantom {args.system}")
    projections = simulate_acquisition(
        phantom, geometry, dose_factor=args.dose_factor, seed=noise_seed, progress=progress
    )
    study = PatientStudy(
        patient_name="Crescent^Phantom",
        patient_id=f"PHANTOM-{args.seed}",
        study_description=f"Simulated DBT, breast phantom seed {args.seed}",
        laterality=laterality,
        view=view,
    )
    written = write_projection_set(
        projections,
        out / PROJECTIONS_FILE,
        study=study,
        body_part_thickness_mm=phantom.thickness_mm,
        series_description=f"Simulated DBT projections ({args.system}, dose factor {args.dose_factor:g})",
    )
    meta = projections.metadata
    phantom_truth = phantom.truth()
    lesions = phantom_truth.pop("lesions", [])
    truth = {
        "format": "crescent-phantom-truth",
        "version": 1,
        "phantom": args.phantom,
        "system": args.system,
        "small": bool(args.small),
        "view": args.view,
        "laterality": laterality,
        "seed": args.seed,
        "noise_seed": noise_seed,
        "dose_factor": args.dose_factor,
        "thickness_mm": phantom.thickness_mm,
        "support_height_mm": geometry.support_height_mm,
        "frame": "detector frame (DESIGN.md): x chest wall to nipple, y along the chest wall (tube motion), z up; mm",
        "geometry": geometry_dict(geometry),
        "acquisition": {
            "exposure_mas": projections.exposure_mas.tolist(),
            "photons_per_pixel": meta["photons_per_pixel"],
            "i0_adu": meta["i0_adu"],
            "dark_offset_adu": meta["dark_offset_adu"],
            "gain_adu_per_photon": meta["gain_adu_per_photon"],
            "electronic_noise_adu": meta["electronic_noise_adu"],
            "energy_kev": meta["energy_kev"],
            "signal": "raw detector signal, linear in exposure (For Processing)",
        },
        "projections": {
            "file": PROJECTIONS_FILE,
            "sop_instance_uid": written.sop_instance_uid,
            "series_instance_uid": written.series_instance_uid,
            "study_instance_uid": written.study_instance_uid,
            "frame_of_reference_uid": written.frame_of_reference_uid,
        },
        "breast" if args.phantom == "breast" else "qc_phantom": phantom_truth,
        "lesions": lesions,
    }
    (out / TRUTH_FILE).write_text(json.dumps(truth, indent=1) + "\n")
    kinds = {}
    for les in lesions:
        kinds[les["kind"]] = kinds.get(les["kind"], 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in kinds.items()) or "no lesions"
    print(f"{out / PROJECTIONS_FILE}: {geometry.n_views} projections; {out / TRUTH_FILE}: {summary}")
    return 0
