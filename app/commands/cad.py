"""``crescent cad``: CAD on one reconstructed volume, written as a Mammography CAD SR (and JSON)."""

from __future__ import annotations

import json
from pathlib import Path

NAME = "cad"
HELP = "detect calcification clusters and masses in a DBT volume; write a Mammography CAD SR (and JSON)"
DESCRIPTION = (
    "VOLUME is a Breast Tomosynthesis Image (a file, or a folder holding one). The findings are "
    "written as a Mammography CAD SR (-o) whose marks reference the frames of that image, and with "
    "--json as {case_score, findings: [{kind, frame (1-based BTO frame), row, column (volume array "
    "order), center_mm, extent_mm, score, model}]}. Default models: the shipped ones (the classical "
    "detector when none are shipped). Never touches the store."
)


def add_arguments(parser) -> None:
    parser.add_argument("volume", metavar="VOLUME", help="Breast Tomosynthesis Image file or folder")
    parser.add_argument("-o", "--output", required=True, metavar="OUT_SR.dcm", help="Mammography CAD SR to write")
    parser.add_argument("--json", metavar="OUT.json", help="also write the findings as JSON")
    parser.add_argument(
        "--model", action="append", metavar="MANIFEST", help="model manifest (repeatable); default: shipped models"
    )
    parser.add_argument("--classical", action="store_true", help="use the classical (DoG/LoG) detector")
    parser.add_argument("--threads", type=int, default=2, metavar="N", help="inference threads (default 2)")


def _detections(models) -> dict[str, tuple[str, ...]] | None:
    """What each model looked for, from the manifests (None: let the SR writer infer it)."""
    from cad.classical import CLASSICAL_MODEL_ID
    from cad.detect import resolve_models

    resolved = resolve_models(models)
    if resolved == "classical":
        return {CLASSICAL_MODEL_ID: ("calcification", "calcification_cluster", "mass")}
    out = {}
    for m in resolved:
        if m.task == "calcification":
            out[m.model_ref] = ("calcification", "calcification_cluster")
        else:
            out[m.model_ref] = tuple(c for c in m.classes if c in ("mass", "architectural_distortion")) or ("mass",)
    return out


def result_json(result, mapping) -> dict:
    """``CaseResult.to_json()`` with each ``frame`` the stored BTO frame number of its slice."""
    out = result.to_json()

    def fix(items, findings):
        for obj, f in zip(items, findings, strict=True):
            obj["frame"] = mapping.frame_number(int(round(f.center_index[0])))
            if f.members:
                fix(obj["members"], f.members)

    fix(out["findings"], result.findings)
    return out


def run(args) -> int:
    from app.dicom import read_volume
    from app.dicom.cad_sr import bto_path, frame_mapping_for, write_cad_sr
    from app.errors import InputError
    from app.progress import TerminalProgress
    from cad.detect import detect
    from cad.errors import ModelError

    if args.threads < 1:
        raise InputError(f"--threads must be >= 1, got {args.threads}")
    if args.classical and args.model:
        raise InputError("give either --classical or --model, not both")
    src = Path(args.volume)
    if not src.exists():
        raise InputError(f"{src}: no such file or folder")
    out = Path(args.output)
    if out.suffix.lower() not in (".dcm", ""):
        raise InputError(f"{out}: the SR output must be a .dcm file")
    volume = read_volume(src)
    bto = bto_path(volume.metadata)  # the SR needs one BTO to reference: fail before the long work
    mapping = frame_mapping_for(bto)
    models = "classical" if args.classical else (args.model or "default")
    try:
        detections = _detections(models)
        result = detect(volume, models=models, threads=args.threads, progress=TerminalProgress("cad"))
    except ModelError as exc:
        raise InputError(str(exc)) from None
    written = write_cad_sr(result, out, image=bto, mapping=mapping, detections=detections)
    if args.json:
        Path(args.json).write_text(json.dumps(result_json(result, mapping), indent=2) + "\n")
    kinds = {}
    for f in result.findings:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    summary = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(kinds.items())) or "no findings"
    print(f"{written.path}: {summary}; case score {result.case_score:.0f}")
    return 0
