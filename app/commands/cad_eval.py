"""``crescent cad-eval``: FROC of a detector over case folders with known truth."""

from __future__ import annotations

import json
from pathlib import Path

NAME = "cad-eval"
HELP = "FROC evaluation of CAD on case folders (a volume and its truth.json each)"
DESCRIPTION = (
    "Each CASE_DIR holds a reconstructed volume (Breast Tomosynthesis Image, e.g. from "
    "`crescent recon`) and the truth.json that `crescent phantom` wrote. Prints the sensitivity "
    "at 0.5, 1, 2 and 4 false positives per volume for calcification clusters and for masses "
    "(soft-tissue lesions), with the hit rule."
)


def add_arguments(parser) -> None:
    parser.add_argument("cases", nargs="+", metavar="CASE_DIR")
    parser.add_argument(
        "--model", action="append", metavar="MANIFEST", help="model manifest (repeatable); default: the shipped models"
    )
    parser.add_argument("--classical", action="store_true", help="evaluate the classical baseline detector")
    parser.add_argument("--json", metavar="OUT.json", help="write the FROC summary as JSON")
    parser.add_argument("--inplane-mm", type=float, default=3.0, help="hit rule: in-plane distance (default 3)")
    parser.add_argument("--depth-mm", type=float, default=5.0, help="hit rule: depth distance (default 5)")
    parser.add_argument("--threads", type=int, default=2)


def _case(path: Path):
    from app.dicom import read_volume
    from app.errors import InputError

    truth_path = path / "truth.json"
    if not path.is_dir():
        raise InputError(f"{path}: not a folder")
    if not truth_path.is_file():
        raise InputError(f"{path}: no truth.json in the case folder")
    try:
        truth = json.loads(truth_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{truth_path}: not readable JSON ({exc})") from None
    return read_volume(path), truth


def run(args) -> int:
    from app.errors import InputError
    from app.progress import TerminalProgress
    from cad.detect import detect
    from cad.errors import ModelError
    from cad.froc import HitRule, froc, truth_from_json

    rule = HitRule(inplane_mm=args.inplane_mm, depth_mm=args.depth_mm)
    models = "classical" if args.classical else (args.model or "default")
    cases = []
    bar = TerminalProgress("cad-eval")
    for i, d in enumerate(args.cases):
        volume, truth = _case(Path(d))
        try:
            result = detect(volume, models=models, threads=args.threads)
        except ModelError as exc:
            raise InputError(str(exc)) from None
        cases.append((result.findings, truth_from_json(truth)))
        bar(i + 1, len(args.cases), Path(d).name)
    summary = {"cases": len(cases), "models": list(result.models), "hit_rule": rule.describe()}
    print(f"{len(cases)} volumes; models: {', '.join(result.models)}")
    print(f"hit rule: {rule.describe()}")
    for fam, label in (("calcification", "calcification clusters"), ("soft_tissue", "masses")):
        curve = froc(cases, families=[fam], rule=rule)
        s = curve.summary()
        summary[fam] = s
        sens = "  ".join(f"{fp} FP: {v:.3f}" for fp, v in s["sensitivity"].items())
        print(f"{label:24s} lesions {curve.n_lesions:3d}   sensitivity at {sens}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0
