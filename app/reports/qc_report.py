"""The QC report: a self-contained HTML page or a PDF with the checks, their plots and trends."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from app.errors import InputError
from app.reports.qc_plots import plots_for, trend_plot
from recon.qc.results import QCReport

__all__ = ["QCDocument", "render_qc_html", "render_qc_pdf", "write_qc_report", "write_qc_json"]

_COLOURS = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e"}


@dataclass(frozen=True)
class QCDocument:
    """What a QC report shows.

    title : str
    subject : dict of label -> text (patient, study, view, device, input file)
    report : QCReport
    trends : dict of figure name -> (points [(date, value)], limit or None)
    """

    title: str
    subject: dict
    report: QCReport
    trends: dict = field(default_factory=dict)


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {_fmt(x)}" for k, x in v.items())
    return str(v)


def render_qc_html(doc: QCDocument) -> str:
    """A self-contained HTML page (plots embedded as PNG data URIs)."""
    if not isinstance(doc, QCDocument):
        raise TypeError("render_qc_html: doc must be a QCDocument")
    r = doc.report
    rows = []
    for c in r.checks:
        views = ", ".join(str(v) for v in c.views)
        conf = " (confirm)" if c.needs_confirmation else ""
        rows.append(
            f"<tr><td>{escape(c.name)}</td><td style='color:{_COLOURS[c.status]};font-weight:bold'>"
            f"{c.status.upper()}{conf}</td><td>{escape(_fmt(c.value))}</td><td>{escape(_fmt(c.limit))}</td>"
            f"<td>{escape(views)}</td><td>{escape(c.detail)}</td></tr>"
        )
    plots = []
    for c in r.checks:
        png = plots_for(c)
        if png:
            b64 = base64.b64encode(png).decode("ascii")
            plots.append(f"<figure><img alt='{escape(c.name)} plot' src='data:image/png;base64,{b64}'></figure>")
    for name, (points, limit) in doc.trends.items():
        if points:
            b64 = base64.b64encode(trend_plot(name, points, limit=limit)).decode("ascii")
            plots.append(f"<figure><img alt='trend {escape(name)}' src='data:image/png;base64,{b64}'></figure>")
    subject = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in doc.subject.items())
    not_run = "".join(f"<li><b>{escape(n)}</b>: {escape(why)}</li>" for n, why in r.not_run)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(doc.title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}} figure{{margin:1em 0}}</style>
</head><body>
<h1>{escape(doc.title)}</h1>
<table class="subject">{subject}</table>
<h2>Overall: <span style="color:{_COLOURS[r.status]}">{r.status.upper()}</span></h2>
<table class="checks"><tr><th>check</th><th>status</th><th>value</th><th>limit</th>
<th>projections</th><th>detail</th></tr>
{"".join(rows)}</table>
{("<h2>Not assessed</h2><ul>" + not_run + "</ul>") if not_run else ""}
<h2>Plots</h2>
{"".join(plots) or "<p>No plots for these checks.</p>"}
</body></html>
"""


def render_qc_pdf(doc: QCDocument, path) -> Path:
    """Write the report as PDF (reportlab) and return the path."""
    import io

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if not isinstance(doc, QCDocument):
        raise TypeError("render_qc_pdf: doc must be a QCDocument")
    path = Path(path)
    ss = getSampleStyleSheet()
    small = ss["BodyText"].clone("small", fontSize=7, leading=8.5)
    r = doc.report
    story = [Paragraph(escape(doc.title), ss["Heading1"])]
    story.append(Table([[escape(k), escape(str(v))] for k, v in doc.subject.items()], hAlign="LEFT"))
    story.append(Paragraph(f"Overall: <b>{r.status.upper()}</b>", ss["Heading2"]))
    data = [["check", "status", "value", "limit", "proj.", "detail"]]
    for c in r.checks:
        data.append(
            [
                c.name,
                c.status.upper() + (" (confirm)" if c.needs_confirmation else ""),
                Paragraph(escape(_fmt(c.value)), small),
                Paragraph(escape(_fmt(c.limit)), small),
                Paragraph(escape(", ".join(str(v) for v in c.views)), small),
                Paragraph(escape(c.detail), small),
            ]
        )
    t = Table(data, colWidths=[30 * mm, 18 * mm, 20 * mm, 25 * mm, 15 * mm, 70 * mm], repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("FONTSIZE", (0, 0), (-1, -1), 7),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
    ]
    for i, c in enumerate(r.checks, start=1):
        style.append(("TEXTCOLOR", (1, i), (1, i), colors.HexColor(_COLOURS[c.status])))
    t.setStyle(TableStyle(style))
    story += [t, Spacer(1, 4 * mm)]
    if r.not_run:
        story.append(Paragraph("Not assessed", ss["Heading3"]))
        for n, why in r.not_run:
            story.append(Paragraph(f"<b>{escape(n)}</b>: {escape(why)}", small))
    pngs = [p for p in (plots_for(c) for c in r.checks) if p]
    pngs += [trend_plot(n, pts, limit=lim) for n, (pts, lim) in doc.trends.items() if pts]
    for png in pngs:
        story += [Spacer(1, 3 * mm), Image(io.BytesIO(png), width=150 * mm, height=65 * mm)]
    tmp = path.with_name(path.name + ".tmp")
    SimpleDocTemplate(str(tmp), pagesize=A4, title=doc.title, leftMargin=12 * mm, rightMargin=12 * mm).build(story)
    tmp.replace(path)
    return path


def write_qc_report(doc: QCDocument, path) -> Path:
    """HTML or PDF by the extension of ``path``."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext in (".html", ".htm"):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(render_qc_html(doc), encoding="utf-8")
        tmp.replace(path)
        return path
    if ext == ".pdf":
        return render_qc_pdf(doc, path)
    raise InputError(f"--report {path}: the extension must be .html or .pdf")


def write_qc_json(report: QCReport, path) -> Path:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report.to_dict(), indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
