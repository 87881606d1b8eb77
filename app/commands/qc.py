"""``crescent qc``: technologist QC of a DBT acquisition (or of a QC-phantom session).

INPUT is a Breast Projection X-Ray file (or a folder of one acquisition), a folder written by
``crescent phantom`` (projections.dcm + truth.json; with ``--phantom qc`` the phantom is scored),
or a 2D / synthetic 2D mammogram (positioning). Writes ``--report qc.html|qc.pdf`` and, with
``--json``, ``{"status", "checks": [{"name", "status", "value", "limit", "detail", "views"}], ...}``.
``--reject REASON --kos OUT.dcm`` records a reject as a Key Object Selection "Rejected for
Quality Reasons". The command never touches the store (the QC mode of the workstation does).
"""

from __future__ import annotations

from pathlib import Path

NAME = "qc"
HELP = "check an acquisition (protocol, exposure, motion, detector, dose) or score a QC phantom; write a report"
DESCRIPTION = __doc__


def add_arguments(parser) -> None:
    parser.add_argument("input", metavar="INPUT", help="projection file or folder, phantom folder, or 2D image")
    parser.add_argument("--report", required=True, metavar="qc.html|qc.pdf", help="report file (.html or .pdf)")
    parser.add_argument("--json", metavar="qc.json", help="also write the results as JSON")
    parser.add_argument(
        "--system",
        metavar="PRESET",
        help="system preset for protocol conformance (default: the geometry's preset name when it is one)",
    )
    parser.add_argument("--limits", metavar="FILE.json", help="site limits overriding the defaults")
    parser.add_argument("--thickness", type=float, metavar="MM", help="compressed thickness (default: header)")
    parser.add_argument("--kerma-mgy", type=float, metavar="K", help="incident air kerma of the sweep, mGy")
    parser.add_argument("--hvl", type=float, metavar="MM_AL", help="half-value layer, mm Al (default: header)")
    parser.add_argument("--target-filter", metavar="T/F", help="e.g. W/Rh (default: header)")
    parser.add_argument("--glandularity", type=float, metavar="F", help="glandular fraction 0-1 (default: typical)")
    parser.add_argument("--pair", metavar="FILE", help="the other view (CC or MLO) of a 2D image, for the PNL check")
    parser.add_argument(
        "--reject",
        metavar="REASON",
        help="reject the acquisition: positioning, motion, artifact, exposure, equipment or other (needs --kos)",
    )
    parser.add_argument("--reject-text", default="", metavar="TEXT", help="free text for the reject")
    parser.add_argument("--observer", default="Technologist^", metavar="NAME", help="who rejects (DICOM PN)")
    parser.add_argument("--kos", metavar="OUT.dcm", help="write the reject as a KOS 'Rejected for Quality Reasons'")


def _files(input_path: Path) -> list[Path]:
    if input_path.is_dir():
        return sorted(p for p in input_path.iterdir() if p.is_file() and p.suffix.lower() in ("", ".dcm"))
    return [input_path]


def _phantom_qc(folder: Path, truth: dict, args):
    import numpy as np

    from app.dicom import read_projection_set
    from recon import VolumeGrid
    from recon.phantoms.qc import qc_phantom
    from recon.qc.phantom_scoring import phantom_report, score_phantom
    from recon.reconstruct import reconstruct

    p = read_projection_set([folder / truth["projections"]["file"]])
    opts = truth.get("qc_phantom", {})
    ph = qc_phantom(
        support_height_mm=truth["support_height_mm"],
        thickness_mm=truth["thickness_mm"],
        scale=opts.get("scale", 1.0),
        depth_mm=opts.get("depth_mm", 70.0),
        width_mm=opts.get("width_mm", 80.0),
    )
    g = p.geometry
    pix = g.pixel_mm[1]
    ny, nx = g.detector_shape
    z = ph.insert_height_mm
    x0 = float(g.detector_origin_mm[0, 0]) + pix / 2
    grid = VolumeGrid((17, ny, nx), (1.0, pix, pix), (z - 8.0, -ny * pix / 2 + pix / 2, x0))
    vol = reconstruct(p, grid=grid)
    scores = score_phantom(vol, ph)
    report = phantom_report(scores, limits=args.limits_obj)
    subject = {
        "input": str(folder),
        "phantom": "QC phantom (digital)",
        "device": p.geometry.name,
        "focus slice": scores["focus_slice"],
        "noise": f"{scores['noise']:.3g}",
    }
    return report, subject, p, np


def run(args) -> int:
    import json
    import warnings

    from app.errors import InputError
    from app.reports.qc_inputs import load_limits
    from app.reports.qc_report import QCDocument, write_qc_json, write_qc_report
    from recon.qc.limits import QCLimits

    src = Path(args.input)
    if not src.exists():
        raise InputError(f"{args.input}: no such file or folder")
    if Path(args.report).suffix.lower() not in (".html", ".htm", ".pdf"):
        raise InputError(f"--report {args.report}: the extension must be .html or .pdf")
    if args.reject and not args.kos:
        raise InputError("--reject needs --kos OUT.dcm (the KOS that records it)")
    args.limits_obj = load_limits(args.limits) if args.limits else QCLimits()

    truth = None
    if src.is_dir() and (src / "truth.json").is_file():
        try:
            truth = json.loads((src / "truth.json").read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"{src / 'truth.json'}: not JSON ({exc.msg})") from None
    rejected_files: list[Path] = []
    if truth is not None and truth.get("phantom") == "qc":
        report, subject, _, _ = _phantom_qc(src, truth, args)
        title = "QC phantom session"
        rejected_files = [src / truth["projections"]["file"]]
    else:
        files = [src / truth["projections"]["file"]] if truth is not None else _files(src)
        report, subject, title = _acquisition_or_2d(files, args)
        rejected_files = files
    if args.reject:
        from app.dicom.kos_reject import write_reject_kos

        rec = write_reject_kos(
            rejected_files, args.kos, reason=args.reject, text=args.reject_text, observer=args.observer
        )
        subject = dict(subject, rejected=f"{rec.reason} ({args.kos})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_qc_report(QCDocument(title=title, subject=subject, report=report), args.report)
    if args.json:
        write_qc_json(report, args.json)
    flagged = [c.name for c in report.checks if c.status != "pass"]
    print(f"qc: {report.status.upper()}" + (f" ({', '.join(flagged)})" if flagged else "") + f"; {args.report}")
    return 0


def _acquisition_or_2d(files, args):
    import warnings

    from app.dicom import examine, read_projection_set
    from app.errors import InputError
    from app.reports.qc_inputs import acquisition_qc_options
    from recon.qc.acquisition import run_acquisition_qc
    from recon.qc.results import QCReport

    if not files:
        raise InputError(f"{args.input}: no DICOM files")
    kinds = {ld.kind for ld in examine(files).loadables}
    if "image2d" in kinds and "projections" not in kinds:
        return _positioning(files, args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = read_projection_set(files)
    meta = p.metadata
    opts = acquisition_qc_options(
        files[0],
        p,
        system=args.system,
        thickness_mm=args.thickness,
        kerma_mgy=args.kerma_mgy,
        hvl_mm_al=args.hvl,
        target_filter=args.target_filter,
        glandularity=args.glandularity,
    )
    system = opts["system"]
    report = run_acquisition_qc(p, limits=args.limits_obj, **opts)
    study = meta.get("study")
    subject = {
        "input": ", ".join(str(f) for f in files[:3]) + (" ..." if len(files) > 3 else ""),
        "patient": getattr(study, "patient_name", "") if study else "",
        "view": f"{meta.get('laterality') or ''}{meta.get('view') or ''}",
        "device": " ".join(x for x in (meta.get("manufacturer"), meta.get("model_name")) if x) or p.geometry.name,
        "projections": p.geometry.n_views,
        "system": system or "not given",
    }
    return QCReport(report.checks, report.not_run, report.metadata), subject, "DBT acquisition QC"


def _positioning(files, args):
    from app.dicom import read_mammogram
    from app.errors import InputError
    from recon.qc.positioning import check_pnl_cc_mlo, check_positioning, measure_positioning
    from recon.qc.results import QCReport

    m = read_mammogram(files)
    view = (m.metadata.get("view") or "").upper()
    if view not in ("CC", "MLO"):
        raise InputError(f"{files[0]}: view {view or '?'} is neither CC nor MLO; positioning needs one of them")
    meas = measure_positioning(m.data, view=view, pixel_mm=m.pixel_mm[1])
    checks = check_positioning(meas)
    not_run = []
    if view == "MLO":
        not_run.append(("inframammary_fold", "not measured automatically: confirm the fold is open and visible"))
    if args.pair:
        other = read_mammogram([Path(args.pair)])
        ov = (other.metadata.get("view") or "").upper()
        om = measure_positioning(other.data, view=ov, pixel_mm=other.pixel_mm[1])
        pair = {view: meas, ov: om}
        if set(pair) == {"CC", "MLO"}:
            checks.append(check_pnl_cc_mlo(pair["CC"], pair["MLO"]))
    subject = {"input": str(files[0]), "view": f"{m.metadata.get('laterality') or ''}{view}"}
    return QCReport(tuple(checks), tuple(not_run)), subject, "Positioning QC"
