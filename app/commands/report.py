"""``crescent report``: the BI-RADS report of a study (PDF or HTML, and a DICOM SR) from the stored findings."""

from __future__ import annotations

NAME = "report"
HELP = "write a study's BI-RADS report (PDF/HTML, DICOM SR) from the findings in the store"
DESCRIPTION = (
    "Build the BI-RADS report of STUDY from the findings, assessment and CAD decisions saved in the "
    "store: a PDF or HTML document with key images (-o, format from the extension), and a DICOM "
    "Comprehensive SR (TID 4200) with --sr. A study without findings gets a negative report (BI-RADS 1)."
)


def add_arguments(parser) -> None:
    parser.add_argument("study", help="folder or file holding the study, or its Study Instance UID in the store")
    parser.add_argument("-o", "--output", metavar="REPORT.pdf", help="the report: .pdf or .html")
    parser.add_argument("--sr", metavar="REPORT.dcm", help="also write the DICOM Comprehensive SR")
    parser.add_argument("--html", metavar="REPORT.html", help="also write the HTML report")
    parser.add_argument("--reader", metavar="NAME", help="reporting radiologist (default: the last reader)")


def run(args) -> int:
    from pathlib import Path

    from app.errors import InputError

    outputs = [x for x in (args.output, args.sr, args.html) if x]
    if not outputs:
        raise InputError("nothing to write: give -o REPORT.pdf, --sr REPORT.dcm and/or --html REPORT.html")
    if args.output and Path(args.output).suffix.lower() not in (".pdf", ".html", ".htm"):
        raise InputError(f"{args.output}: the report's extension must be .pdf or .html")
    for out in outputs:
        parent = Path(out).resolve().parent
        if not parent.is_dir():
            raise InputError(f"{out}: the folder {parent} does not exist")

    from app.dicom.report_sr import write_report_sr
    from app.reports.birads import build_report
    from app.reports.html import render_html
    from app.reports.key_images import key_image_renderer
    from app.reports.pdf import render_pdf
    from app.reports.study_source import resolve_study, study_files
    from app.store.findings import load_session
    from app.store.store import Store

    with Store.open(getattr(args, "store", None)) as store:
        paths, uid = resolve_study(args.study, store)
        files = study_files(paths, study_uid=uid)
        session = load_session(store.connection, files.info.study_uid)
    reader = args.reader or (session.history[-1].reader if session.history else "") or "Unknown^Reader"
    report = build_report(session, files.info, reader=reader, key_images=key_image_renderer(files.slice))
    written = []
    if args.output:
        out = Path(args.output)
        if out.suffix.lower() == ".pdf":
            render_pdf(report, out)
        else:
            out.write_text(render_html(report), encoding="utf-8")
        written.append(out)
    if args.html:
        Path(args.html).write_text(render_html(report), encoding="utf-8")
        written.append(Path(args.html))
    if args.sr:
        written.append(write_report_sr(report, session, args.sr, frame_mappings=files.frame_mappings))
    for w in written:
        print(w)
    summary = f"{len(report.findings)} finding(s); {report.overall_label}"
    print(summary)
    return 0
