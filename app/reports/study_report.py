"""The report of a study in the store, written into the store (what the workstation's Report action does).

The same steps as ``crescent report``: the study's files are examined (:func:`app.reports.study_source.study_files`),
the report is built from the findings session (:func:`app.reports.birads.build_report`, key images from
the files), and written as PDF, HTML and DICOM Comprehensive SR (:func:`app.dicom.report_sr.write_report_sr`).
The three files go to the store's derived folder of the study, are recorded with
:meth:`app.store.Store.add_derived` (kind ``"report"``; the SR is also indexed as an instance of the
study) and the study's status becomes ``reported``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from app.model.findings import FindingsSession

__all__ = ["WrittenReport", "write_study_report"]


@dataclass(frozen=True)
class WrittenReport:
    """What :func:`write_study_report` wrote."""

    pdf: Path
    html: Path
    sr: Path
    summary: str
    derived_ids: tuple[int, ...] = field(default=())


def _stem(store, study_uid: str, clock) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(clock()))
    stem, n = f"report-{stamp}", 1
    while store.derived_path(study_uid, f"{stem}.pdf").exists():
        n += 1
        stem = f"report-{stamp}-{n}"
    return stem


def write_study_report(
    store, study_uid: str, session: FindingsSession, *, reader: str, clock=time.time
) -> WrittenReport:
    """Build the BI-RADS report of ``study_uid`` and write it into ``store``.

    Parameters
    ----------
    store : app.store.Store
        The open store holding the study.
    study_uid : str
        The study (in the store).
    session : FindingsSession
        Its findings, assessment and CAD decisions (as the reader left them).
    reader : str
        The reporting radiologist (DICOM person name form, e.g. ``"Doe^Jane"``).
    clock : callable
        Epoch seconds (report time and file names).

    Returns
    -------
    WrittenReport

    Raises
    ------
    app.errors.InputError
        The study is not in the store or has no images.
    """
    from app import __version__
    from app.dicom.report_sr import write_report_sr
    from app.reports.birads import build_report
    from app.reports.html import render_html
    from app.reports.key_images import key_image_renderer
    from app.reports.pdf import render_pdf
    from app.reports.study_source import resolve_study, study_files

    if not isinstance(session, FindingsSession):
        raise TypeError("write_study_report: session must be a FindingsSession")
    if session.study_uid != study_uid:
        raise ValueError(f"write_study_report: the session is of study {session.study_uid}, not {study_uid}")
    if not isinstance(reader, str) or not reader:
        raise ValueError("write_study_report: reader must be a non-empty name")
    paths, _ = resolve_study(study_uid, store)
    files = study_files(paths, study_uid=study_uid)
    report = build_report(session, files.info, reader=reader, key_images=key_image_renderer(files.slice), clock=clock)
    stem = _stem(store, study_uid, clock)
    pdf = store.derived_path(study_uid, f"{stem}.pdf")
    html = store.derived_path(study_uid, f"{stem}.html")
    sr = store.derived_path(study_uid, f"{stem}-sr.dcm")
    render_pdf(report, pdf)
    html.write_text(render_html(report), encoding="utf-8")
    write_report_sr(report, session, sr, frame_mappings=files.frame_mappings)
    software = f"Crescent {__version__}"
    summary = f"{len(report.findings)} finding(s); {report.overall_label}"
    sources = sorted({im.sop_instance_uid for im in files.info.images if im.sop_instance_uid})
    ids = []
    for path, what in ((sr, "DICOM SR"), (pdf, "PDF"), (html, "HTML")):
        rec = store.add_derived(
            "report",
            path,
            study_uid=study_uid,
            sources=sources,
            description=f"BI-RADS report ({what}): {summary}",
            software=software,
            parameters={"reader": reader, "findings": len(report.findings)},
        )
        ids.append(rec.id)
    store.set_status(study_uid, "reported", by=reader)
    return WrittenReport(pdf=pdf, html=html, sr=sr, summary=summary, derived_ids=tuple(ids))
