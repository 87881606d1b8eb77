"""The BI-RADS report as a PDF (reportlab platypus), with the key images of each finding."""

from __future__ import annotations

import io
from html import escape
from pathlib import Path

from app.reports.birads import SIDE_NAME, BiradsReport


def render_pdf(report: BiradsReport, path) -> Path:
    """Write the report to ``path`` as PDF and return the path."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if not isinstance(report, BiradsReport):
        raise TypeError("report must be a BiradsReport")
    path = Path(path)
    ss = getSampleStyleSheet()
    body = ss["BodyText"]
    h1, h2 = ss["Heading1"], ss["Heading2"]
    small = ParagraphStyle("small", parent=body, fontSize=8, textColor=colors.grey)
    warn = ParagraphStyle("warn", parent=body, textColor=colors.HexColor("#8a4b00"))
    strong = ParagraphStyle(
        "strong", parent=body, fontSize=12, leading=15, backColor=colors.HexColor("#f0f0f6"), borderPadding=4
    )

    def P(text, style=body):
        return Paragraph(escape(text), style)

    s = report.study
    story = [Paragraph("Breast imaging report", h1)]
    head = [
        ["Patient", s.display_name, "Patient ID", s.patient_id],
        ["Birth date", s.birth_date, "Sex", s.sex],
        ["Study date", s.display_date, "Accession", s.accession],
        ["Examination", f"{report.procedure}, {report.exam_type}", "Reader", report.reader_display],
    ]
    t = Table([[P(c) for c in row] for row in head], colWidths=[28 * mm, 60 * mm, 28 * mm, 55 * mm])
    t.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eeeeff")),
                ("BACKGROUND", (2, 0), (2, -1), colors.HexColor("#eeeeff")),
            ]
        )
    )
    story += [t, Spacer(1, 4 * mm)]
    for title, text in (
        ("Indication", report.indication or "Not given."),
        ("Comparison", report.comparison),
        ("Breast composition", report.composition_text),
    ):
        story += [Paragraph(title, h2), P(text)]
    story.append(Paragraph("Findings", h2))
    if report.negative:
        story.append(P(report.findings_text))
    for f in report.findings:
        block = [
            Paragraph(f"<b>Finding {f.number}: {escape(f.kind_label)}, {SIDE_NAME[f.laterality]} breast</b>", body)
        ]
        for label, text in (
            ("Description", f.description),
            ("Location", f.location),
            ("Size", f.size),
            ("Seen on", f.views),
            ("Assessment", f.category_text),
            ("Source", f.source),
        ):
            if text:
                block.append(Paragraph(f"<b>{label}:</b> {escape(text)}", body))
        if f.missing:
            block.append(P("Descriptors not yet given: " + ", ".join(f.missing), warn))
        if f.key_images:
            imgs = [Image(io.BytesIO(k.png), width=60 * mm, height=60 * mm) for k in f.key_images]
            block.append(Table([imgs], hAlign="LEFT"))
        block.append(Spacer(1, 3 * mm))
        story.append(KeepTogether(block))
    story += [Paragraph("CAD", h2), P(report.cad_text)]
    if report.cad:
        rows = [["Mark", "Type", "Image", "Score", "Decision"]]
        for r in report.cad:
            dec = r.decision + (f" (finding {r.finding_number})" if r.finding_number else "")
            dec += f": {r.reason}" if r.reason else ""
            rows.append([r.cad_id, r.kind, f"{r.laterality} {r.view} slice {r.slice_number}", f"{r.score:.0f}", dec])
        t = Table([[P(c) for c in row] for row in rows], hAlign="LEFT")
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeff")),
                ]
            )
        )
        story.append(t)
    story += [Paragraph("Impression", h2), P(report.impression, strong)]
    cats = ", ".join(f"{SIDE_NAME[side]} breast {c}" for side, c in report.breast_categories.items() if c)
    if cats:
        story.append(P(f"Per breast: {cats}. Likelihood of malignancy: {report.likelihood or 'n/a'}."))
    story += [Paragraph("Recommendation", h2), P(report.management or "None recorded.")]
    if report.warnings:
        story.append(Paragraph("Checks", h2))
        story += [P("- " + w, warn) for w in report.warnings]
    story += [
        Spacer(1, 6 * mm),
        P(
            f"Reported by {report.reader_display} on {report.created}. Study Instance UID "
            f"{s.study_uid}. Terms: ACR BI-RADS Atlas, 5th edition.",
            small,
        ),
    ]
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title="Breast imaging report",
        author=report.reader_display,
    )
    doc.build(story)
    return path
