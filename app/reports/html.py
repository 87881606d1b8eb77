"""The BI-RADS report as one self-contained HTML page (key images embedded as data URIs)."""

from __future__ import annotations

import base64
from html import escape

from app.reports.birads import SIDE_NAME, BiradsReport

CSS = """
body { font-family: 'DejaVu Sans', Arial, sans-serif; max-width: 60em; margin: 2em auto; color: #111; }
h1 { font-size: 1.5em; border-bottom: 2px solid #333; padding-bottom: .2em; }
h2 { font-size: 1.1em; margin-top: 1.4em; color: #223; }
table { border-collapse: collapse; margin: .5em 0; }
td, th { border: 1px solid #bbb; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #eef; }
.assessment { font-size: 1.15em; font-weight: bold; padding: .5em; background: #f4f4f8; border-left: 5px solid #335; }
.finding { margin: .8em 0; padding: .5em; border: 1px solid #ddd; }
.keyimages img { width: 240px; height: 240px; margin: .3em .3em 0 0; }
.warn { color: #8a4b00; }
.small { font-size: .85em; color: #555; }
"""


def _p(label: str, text: str) -> str:
    return f"<p><b>{escape(label)}:</b> {escape(text)}</p>" if text else ""


def render_html(report: BiradsReport) -> str:
    """The report as an HTML document (a string)."""
    if not isinstance(report, BiradsReport):
        raise TypeError("report must be a BiradsReport")
    s = report.study
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Breast imaging report {escape(s.display_name)} {escape(s.display_date)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Breast imaging report</h1>",
        "<table>",
        f"<tr><th>Patient</th><td>{escape(s.display_name)}</td><th>Patient ID</th><td>{escape(s.patient_id)}</td></tr>",
        f"<tr><th>Birth date</th><td>{escape(s.birth_date)}</td><th>Sex</th><td>{escape(s.sex)}</td></tr>",
        f"<tr><th>Study date</th><td>{escape(s.display_date)}</td>"
        f"<th>Accession</th><td>{escape(s.accession)}</td></tr>",
        f"<tr><th>Examination</th><td>{escape(report.procedure)}, {escape(report.exam_type)}</td>"
        f"<th>Reader</th><td>{escape(report.reader_display)}</td></tr>",
        "</table>",
        "<h2>Indication</h2>",
        f"<p>{escape(report.indication or 'Not given.')}</p>",
        "<h2>Comparison</h2>",
        f"<p>{escape(report.comparison)}</p>",
        "<h2>Breast composition</h2>",
        f"<p>{escape(report.composition_text)}</p>",
        "<h2>Findings</h2>",
    ]
    if report.negative:
        out.append(f"<p>{escape(report.findings_text)}</p>")
    for f in report.findings:
        out.append('<div class="finding">')
        out.append(
            f"<p><b>Finding {f.number}: {escape(f.kind_label)}, {escape(SIDE_NAME[f.laterality])} breast</b></p>"
        )
        out.append(_p("Description", f.description))
        out.append(_p("Location", f.location))
        out.append(_p("Size", f.size))
        out.append(_p("Seen on", f.views))
        out.append(_p("Assessment", f.category_text))
        out.append(_p("Source", f.source))
        if f.missing:
            out.append(f'<p class="warn">Descriptors not yet given: {escape(", ".join(f.missing))}</p>')
        if f.key_images:
            out.append('<div class="keyimages">')
            for k in f.key_images:
                b64 = base64.b64encode(k.png).decode("ascii")
                out.append(f'<img alt="{escape(k.label)}" title="{escape(k.label)}" src="data:image/png;base64,{b64}">')
            out.append("</div>")
        out.append("</div>")
    out.append("<h2>CAD</h2>")
    out.append(f"<p>{escape(report.cad_text)}</p>")
    if report.cad:
        out.append("<table><tr><th>Mark</th><th>Type</th><th>Image</th><th>Score</th><th>Decision</th></tr>")
        for r in report.cad:
            dec = r.decision + (f" (finding {r.finding_number})" if r.finding_number else "")
            dec += f": {r.reason}" if r.reason else ""
            out.append(
                f"<tr><td>{escape(r.cad_id)}</td><td>{escape(r.kind)}</td>"
                f"<td>{escape(r.laterality)} {escape(r.view)} slice {r.slice_number}</td>"
                f"<td>{r.score:.0f}</td><td>{escape(dec)}</td></tr>"
            )
        out.append("</table>")
    out.append("<h2>Impression</h2>")
    out.append(f'<p class="assessment">{escape(report.impression)}</p>')
    cats = ", ".join(f"{SIDE_NAME[side]} breast {c}" for side, c in report.breast_categories.items() if c is not None)
    if cats:
        out.append(
            f"<p>Per breast: {escape(cats)}. Likelihood of malignancy: {escape(report.likelihood or 'n/a')}.</p>"
        )
    out.append("<h2>Recommendation</h2>")
    out.append(f"<p>{escape(report.management or 'None recorded.')}</p>")
    if report.warnings:
        out.append('<h2 class="warn">Checks</h2><ul class="warn">')
        out.extend(f"<li>{escape(w)}</li>" for w in report.warnings)
        out.append("</ul>")
    out.append(
        f'<p class="small">Reported by {escape(report.reader_display)} on {escape(report.created)}. '
        f"Study Instance UID {escape(s.study_uid)}. Terms: ACR BI-RADS Atlas, 5th edition.</p>"
    )
    out.append("</body></html>")
    return "\n".join(x for x in out if x)
