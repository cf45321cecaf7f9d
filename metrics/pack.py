"""The review pack: a frozen review as a PDF to print or send before the meeting.

Built with ReportLab (pure Python wheels from PyPI, installed by `make run` through
requirements.txt): the charts are ReportLab drawings, vector graphics inside the PDF, so no
browser or image exporter is needed at run time. Every chart has a title naming what it counts,
its unit and the definition version that produced it; every page says the review is frozen and
when.

People's text (titles, notes, decisions, metric labels) is escaped before it reaches
ReportLab's paragraph markup, so it prints as written and never as markup.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from functools import cache
from html import escape
from pathlib import Path
from typing import Any

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from metrics.errors import MetricError
from metrics.review import Review
from metrics.formatting import UNIT_AXIS_TITLES, format_change, format_value, humanise

# DejaVu (Debian's fonts-dejavu-core, present wherever Chromium is) has every character the
# labels use (→, −, ×); ReportLab's bundled Vera lacks the arrow, which then prints as '->'.
_FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
     "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
)
_FALLBACK_CHARACTERS = {"→": "->", "−": "-", "–": "-", "—": "-", "×": "x", "…": "..."}
BLUE, GREY, TARGET_RED = colors.HexColor("#1f5fa8"), colors.HexColor("#666666"), colors.HexColor(
    "#c0392b")
SERIES_COLOURS = (BLUE, colors.HexColor("#e08a1e"), colors.HexColor("#2e9e5b"),
                  colors.HexColor("#8e44ad"), colors.HexColor("#7f8c8d"))
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 16 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN


class PackError(MetricError):
    """The PDF could not be written (the folder does not exist or is not writable)."""


@cache
def _fonts() -> tuple[str, str, frozenset[int]]:
    """(regular, bold, the characters the regular font has), registered once per process."""
    import reportlab

    bundled = Path(reportlab.__file__).parent / "fonts"
    for regular, bold in (*_FONT_CANDIDATES, (str(bundled / "Vera.ttf"),
                                              str(bundled / "VeraBd.ttf"))):
        if Path(regular).exists() and Path(bold).exists():
            regular_font, bold_font = TTFont("PackSans", regular), TTFont("PackSans-Bold", bold)
            pdfmetrics.registerFont(regular_font)
            pdfmetrics.registerFont(bold_font)
            return "PackSans", "PackSans-Bold", frozenset(regular_font.face.charToGlyph)
    return "Helvetica", "Helvetica-Bold", frozenset(range(32, 127))


def plain(text: object) -> str:
    """Text the font can print: characters it lacks become their ASCII look-alike."""
    covered = _fonts()[2]
    return "".join(c if ord(c) in covered or c in "\n\t" else _FALLBACK_CHARACTERS.get(c, "?")
                   for c in str(text))


def para_text(text: object) -> str:
    """People's text for a Paragraph: escaped, so '<b>' prints as written, never as markup."""
    return escape(plain(text), quote=False)


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold, _ = _fonts()
    base = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=12.5,
                          alignment=TA_LEFT)
    return {
        "title": ParagraphStyle("title", parent=base, fontName=bold, fontSize=20, leading=25,
                                spaceAfter=4),
        "h1": ParagraphStyle("h1", parent=base, fontName=bold, fontSize=14, leading=18,
                             spaceBefore=8, spaceAfter=6, textColor=BLUE),
        "h2": ParagraphStyle("h2", parent=base, fontName=bold, fontSize=10.5, leading=13,
                             spaceBefore=4, spaceAfter=2),
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=GREY),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "head": ParagraphStyle("head", parent=base, fontName=bold, fontSize=8, leading=10),
        "frozen": ParagraphStyle("frozen", parent=base, fontName=bold, fontSize=10,
                                 textColor=TARGET_RED),
    }


# -- charts ---------------------------------------------------------------------------------------

def _unit_title(unit: str) -> str:
    return UNIT_AXIS_TITLES.get(unit, unit)


def _scaled(value: Any, unit: str) -> float | None:
    """The number a chart plots: percentages as 0-100, so the axis reads like the tables."""
    if value is None:
        return None
    return float(value) * 100 if unit == "percent" else float(value)


def _axis_format(unit: str):
    def label(value: float) -> str:
        if unit == "percent":
            return f"{value:.0f}%"
        if unit == "currency":
            return format_value(value, "currency")
        return format_value(value, "count") if unit == "count" else f"{value:,.1f}"
    return label


def _period_label(period: str, grain: str) -> str:
    day = dt.date.fromisoformat(str(period)[:10])
    if grain == "quarter":
        return f"Q{(day.month - 1) // 3 + 1} {day:%y}"
    if grain == "week":
        return f"{day:%d %b}"
    return f"{day:%b %y}"


def _chart_frame(title: str, subtitle: str, width: float, height: float) -> Drawing:
    regular, bold, _ = _fonts()
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 11, plain(title), fontName=bold, fontSize=9.5))
    for line, text in enumerate(subtitle.split("\n")):
        drawing.add(String(0, height - 22 - 9 * line, plain(text), fontName=regular,
                           fontSize=7, fillColor=GREY))
    return drawing


def line_chart(series: Mapping[str, Any], *, title: str, grain: str = "month",
               target: float | None = None, width: float = CONTENT_WIDTH / 2 - 6,
               height: float = 150) -> Drawing:
    """A metric over periods, its target as a red line, with the definition it ran."""
    unit = series["unit"]
    rows = series["rows"]
    incomplete = set(series.get("incomplete_periods", []))
    subtitle = f"{_unit_title(unit)} · definition {series['name']} v{series['version']}"
    notes = []
    if target is not None:
        notes.append(f"target {format_value(target, unit)} (red)")
    young = [str(r["period"])[:10] in incomplete for r in rows]
    if any(young):
        # A period whose cohorts are still converting (or not over) would read as a collapse:
        # it is drawn grey and dashed, and said.
        notes.append(f"grey: {sum(young)} {grain}{'s' if sum(young) != 1 else ''} still "
                     "converting")
    if notes:
        subtitle += "\n" + " · ".join(notes)
    drawing = _chart_frame(title, subtitle, width, height)
    values = [_scaled(r.get("value"), unit) for r in rows]
    if not any(v is not None for v in values):
        drawing.add(String(0, height / 2, "No value in this period.", fontName=_fonts()[0],
                           fontSize=8, fillColor=GREY))
        return drawing
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 34, 18, width - 44, height - 56
    data = [tuple(values)]
    if target is not None:
        data.append(tuple(_scaled(target, unit) for _ in values))
    split = False
    if any(young):
        # The final periods as one line, the maturing ones as another joined to it (each
        # needs two points to be a line; otherwise one line, and the note says it).
        first_young = young.index(True)
        final = tuple(v if not y else None for v, y in zip(values, young))
        maturing = tuple(v if y or i == first_young - 1 else None
                         for i, (v, y) in enumerate(zip(values, young)))
        split = all(sum(v is not None for v in line) >= 2 for line in (final, maturing))
        if split:
            data = [final, *data[1:], maturing]
    chart.data = data
    chart.joinedLines = 1
    chart.lines[0].strokeColor, chart.lines[0].strokeWidth = BLUE, 1.6
    if target is not None:
        chart.lines[1].strokeColor, chart.lines[1].strokeWidth = TARGET_RED, 0.8
        chart.lines[1].strokeDashArray = (3, 2)
    if split:
        last = len(data) - 1
        chart.lines[last].strokeColor, chart.lines[last].strokeWidth = GREY, 1.2
        chart.lines[last].strokeDashArray = (2, 2)
    chart.categoryAxis.categoryNames = [_period_label(r["period"], grain) for r in rows]
    step = max(1, len(rows) // 6)
    chart.categoryAxis.categoryNames = [n if i % step == 0 else ""
                                        for i, n in enumerate(chart.categoryAxis.categoryNames)]
    for axis in (chart.categoryAxis.labels, chart.valueAxis.labels):
        axis.fontName, axis.fontSize = _fonts()[0], 6.5
    chart.valueAxis.labelTextFormat = _axis_format(unit)
    present = [v for line in data for v in line if v is not None]
    chart.valueAxis.valueMin = min(0.0, min(present))
    chart.valueAxis.valueMax = max(present) * 1.1 if max(present) > 0 else 1.0
    drawing.add(chart)
    return drawing


def bar_chart(labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *,
              title: str, subtitle: str, unit: str, horizontal: bool = False,
              width: float = CONTENT_WIDTH, height: float = 170) -> Drawing:
    """Bars (several series side by side), labelled axes, a legend when there are several."""
    drawing = _chart_frame(title, subtitle, width, height)
    chart = HorizontalBarChart() if horizontal else VerticalBarChart()
    left = 90 if horizontal else 40
    chart.x, chart.y = left, 18
    chart.width, chart.height = width - left - (110 if len(series) > 1 else 12), height - 50
    chart.data = [tuple(_scaled(v, unit) or 0.0 for v in values) for values in series.values()]
    for index in range(len(series)):
        chart.bars[index].fillColor = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        chart.bars[index].strokeColor = None
    chart.categoryAxis.categoryNames = [plain(label)[:26 if horizontal else 12] for label in labels]
    for axis in (chart.categoryAxis.labels, chart.valueAxis.labels):
        axis.fontName, axis.fontSize = _fonts()[0], 6.5
    if horizontal:
        chart.categoryAxis.reverseDirection = 1
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labelTextFormat = _axis_format(unit)
    drawing.add(chart)
    if len(series) > 1:
        legend = Legend()
        legend.x, legend.y = width - 100, height - 40
        legend.fontName, legend.fontSize = _fonts()[0], 7
        legend.colorNamePairs = [(SERIES_COLOURS[i % len(SERIES_COLOURS)], plain(name))
                                 for i, name in enumerate(series)]
        drawing.add(legend)
    return drawing


# -- tables ---------------------------------------------------------------------------------------

def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], *,
           widths: Sequence[float] | None = None) -> Table:
    styles = _styles()
    body = [[Paragraph(para_text(h), styles["head"]) for h in header]]
    body += [[Paragraph(para_text(cell), styles["cell"]) for cell in row] for row in rows]
    table = Table(body, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, BLUE),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f3f6fa")]),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return table


def _pairs(flowables: list, width: float = CONTENT_WIDTH) -> Table:
    """Charts two by two."""
    rows = [flowables[i:i + 2] + [""] * (2 - len(flowables[i:i + 2]))
            for i in range(0, len(flowables), 2)]
    grid = Table(rows, colWidths=[width / 2] * 2, hAlign="LEFT")
    grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                              ("LEFTPADDING", (0, 0), (-1, -1), 0),
                              ("BOTTOMPADDING", (0, 0), (-1, -1), 8)]))
    return grid


def _fmt(value: Any, unit: str) -> str:
    return format_value(value, unit)


# -- sections -------------------------------------------------------------------------------------

def _cover(review: Review, styles) -> list:
    payload = review.payload
    story = [Paragraph(para_text(review.title), styles["title"]),
             Paragraph(para_text(f"FROZEN REVIEW · {review.frozen_label()}"), styles["frozen"]),
             Paragraph(para_text(review.describe_selection()), styles["body"])]
    if payload.get("definitions_on"):
        story.append(Paragraph(para_text(
            f"Definitions as live on {payload['definitions_on']}"), styles["body"]))
    story.append(Paragraph(para_text(
        "These numbers were frozen when the review was saved: a later data load or a new "
        "definition version does not change them. Every chart names the definition version "
        "that produced it."), styles["small"]))
    return story


def _scorecard(review: Review, styles) -> list:
    payload = review.payload
    selection = review.selection
    # For a 12-month window the previous period is the same period last year: one column.
    same_window = (selection.previous().start, selection.previous().end) == (
        selection.last_year().start, selection.last_year().end)
    story = [Paragraph("Scorecard: the metrics that matter", styles["h1"])]
    rows = []
    for tile in payload["scorecard"]:
        unit = tile["unit"]
        target = tile.get("target")
        changes = [format_change(tile["value"], tile.get("last_year"), unit) or "—"]
        if not same_window:
            changes.insert(0, format_change(tile["value"], tile.get("previous"), unit) or "—")
        rows.append([
            tile["label"], _fmt(tile["value"], unit), *changes,
            (_fmt(target, unit) + (" (plan)" if tile.get("target_from_plan") else ""))
            if target is not None else "—",
            f"{tile['attainment']:.0%}" if tile.get("attainment") is not None else "—",
            f"{tile['name']} v{tile['version']}",
        ])
    header = ["Metric", "Value", *(["vs same period last year"] if same_window
                                   else ["vs previous", "vs last year"]),
              "Target", "Attained", "Definition"]
    widths = ([48 * mm, 18 * mm, 28 * mm] if same_window
              else [46 * mm, 18 * mm, 19 * mm, 19 * mm])
    widths += [15 * mm, 19 * mm, CONTENT_WIDTH - sum(widths) - 34 * mm]
    story.append(_table(header, rows, widths=widths))
    story.append(Paragraph(para_text(
        "Changes are points for rates and relative for the others; 'Attained' is value ÷ "
        "target (target ÷ value where lower is better)."), styles["small"]))
    story.append(Paragraph("Each metric month by month over the last 12 months.",
                           styles["h2"]))
    charts = [line_chart(tile["trend"], title=tile["label"],
                         target=tile.get("target"))
              for tile in payload["scorecard"] if tile.get("trend")]
    if charts:
        story += [Spacer(1, 6), _pairs(charts)]
    return story


def _funnel(payload, styles) -> list:
    stages = payload["funnel"]["stages"]
    story = [Paragraph("Funnel", styles["h1"])]
    if not stages or not stages[0]["leads"]:
        return story + [Paragraph("No leads were created in this period with these filters.",
                                  styles["body"])]
    story.append(bar_chart([s["label"] for s in stages], {"Leads": [s["leads"] for s in stages]},
                           title="Leads created in the period, by furthest stage reached",
                           subtitle="count of leads · cohort: leads created in the period",
                           unit="count", horizontal=True, height=150))
    story.append(_table(["Stage", "Leads", "Recorded", "From previous", "From lead"], [
        [s["label"], _fmt(s["leads"], "count"), _fmt(s.get("recorded"), "count"),
         _fmt(s.get("conversion_from_previous"), "percent"),
         _fmt(s.get("conversion_from_first"), "percent")] for s in stages]))
    return story


def _sla(payload, styles) -> list:
    sla = payload["sla"]
    grain = payload["selection"]["grain"]
    story = [Paragraph("Follow-up SLA", styles["h1"])]
    compliance = sla.get("compliance")
    target = next((t.get("target") for t in payload["scorecard"]
                   if t["name"] == "sla_first_touch_compliance"), None)
    charts = []
    if compliance and compliance["rows"]:
        charts.append(line_chart(compliance, grain=grain, target=target,
                                 title=f"MQLs touched within the SLA, per {grain}"))
    if sla["distribution"]:
        charts.append(bar_chart([d["bucket"] for d in sla["distribution"]],
                                {"MQLs": [d["mqls"] for d in sla["distribution"]]},
                                title="Response time to MQLs",
                                subtitle="count of MQLs by business hours to first touch",
                                unit="count", horizontal=True, width=CONTENT_WIDTH / 2 - 6,
                                height=150))
    if charts:
        story.append(_pairs(charts))
    reps = sla["by_rep"][:12]
    if reps:
        story.append(Paragraph("Breaches by rep (top 12)", styles["h2"]))
        story.append(_table(["Rep", "Team", "MQLs due", "In SLA", "Breaches", "Compliance"], [
            [r["rep_name"] or r["rep_id"], humanise(r.get("team") or "—"),
             _fmt(r["mqls_due"], "count"), _fmt(r["in_sla"], "count"),
             _fmt(r["breaches"], "count"), _fmt(r["compliance"], "percent")] for r in reps]))
    return story


def _volume(payload, styles) -> list:
    volume = payload["volume"]
    grain = payload["selection"]["grain"]
    story = [Paragraph("Lead volume & quality", styles["h1"])]
    new_leads, mqls = volume.get("new_leads"), volume.get("mqls")
    if new_leads and new_leads["rows"]:
        periods = [r["period"] for r in new_leads["rows"]]
        mql_by_period = {r["period"]: r["value"] for r in (mqls or {}).get("rows", [])}
        versions = f"{new_leads['name']} v{new_leads['version']}"
        if mqls:
            versions += f", {mqls['name']} v{mqls['version']}"
        story.append(bar_chart(
            [_period_label(p, grain) for p in periods],
            {"New leads": [r["value"] for r in new_leads["rows"]],
             "MQLs": [mql_by_period.get(p) for p in periods]},
            title=f"New leads and MQLs per {grain}", subtitle=f"count · {versions}",
            unit="count", height=170))
    else:
        story.append(Paragraph("No leads in this period with these filters.", styles["body"]))
    if volume.get("quality"):
        story.append(Paragraph("Quality over the period", styles["h2"]))
        story.append(_table(["Metric", "Value", "Target", "Definition"], [
            [q["label"], _fmt(q.get("value"), q["unit"]),
             _fmt(q.get("target"), q["unit"]) if q.get("target") is not None else "—",
             f"{q['name']} v{q['version']}"] for q in volume["quality"]]))
    return story


def _campaigns(payload, styles) -> list:
    channels = payload["campaigns"]
    story = [Paragraph("Campaign contribution by channel", styles["h1"])]
    if not channels:
        return story + [Paragraph("No campaign cost, leads or pipeline in this period.",
                                  styles["body"])]
    top = sorted(channels, key=lambda c: c.get("sourced_pipeline") or 0, reverse=True)[:10]
    story.append(bar_chart([humanise(c["channel"] or "(none)") for c in top],
                           {"Sourced pipeline": [c.get("sourced_pipeline") for c in top]},
                           title="Marketing-sourced pipeline by channel",
                           subtitle="USD · opportunities created in the period from "
                                    "marketing-sourced leads",
                           unit="currency", horizontal=True, height=160))
    story.append(_table(["Channel", "Cost", "Leads", "MQLs", "Sourced pipeline",
                         "Won revenue", "Pipeline ÷ spend"], [
        [humanise(c["channel"] or "(none)"), _fmt(c.get("cost"), "currency"),
         _fmt(c.get("leads"), "count"), _fmt(c.get("mqls"), "count"),
         _fmt(c.get("sourced_pipeline"), "currency"), _fmt(c.get("won_revenue"), "currency"),
         _fmt(c.get("pipeline_to_spend"), "ratio")] for c in channels]))
    story.append(Paragraph(para_text("A dash is no value (no recorded spend), not zero."),
                           styles["small"]))
    return story


def _decisions(items: Sequence[Mapping], open_actions: Sequence[Mapping], styles) -> list:
    story = [Paragraph("Notes, decisions and actions", styles["h1"])]
    if not items:
        story.append(Paragraph("Nothing was written into this review.", styles["body"]))
    for kind, heading in (("decision", "Decisions"), ("note", "Notes")):
        chosen = [i for i in items if i["kind"] == kind]
        if chosen:
            story.append(Paragraph(heading, styles["h2"]))
            story += [Paragraph(para_text(f"• {i['text']} ({i['created_by']})"), styles["body"])
                      for i in chosen]
    actions = [i for i in items if i["kind"] == "action"]
    if actions:
        story.append(Paragraph("Action items", styles["h2"]))
        story.append(_table(["Action", "Owner team", "Due", "Status"], [
            [a["text"], a["owner_team"], a["due_on"], a["status"]] for a in actions],
            widths=[100 * mm, 25 * mm, 25 * mm, 20 * mm]))
    if open_actions:
        story.append(Paragraph("Still open from earlier reviews", styles["h2"]))
        story.append(_table(["Action", "Owner team", "Due", "Set in"], [
            [a["text"], a["owner_team"], a["due_on"], a["review_title"]] for a in open_actions],
            widths=[80 * mm, 25 * mm, 25 * mm, 40 * mm]))
    return story


def _events(payload, styles) -> list:
    events = payload.get("events", [])
    story = [Paragraph("Events in the period", styles["h2"])]
    if not events:
        return story + [Paragraph("No event was marked and no definition went live in the "
                                  "period.", styles["small"])]
    return story + [_table(["Date", "Event", "Charts"], [
        [e["on_date"], e["text"], e["metric"] or "all"] for e in events],
        widths=[25 * mm, 110 * mm, CONTENT_WIDTH - 135 * mm])]


def _definitions(payload, styles) -> list:
    story = [Paragraph("Definitions that produced these numbers", styles["h2"])]
    story.append(Paragraph(para_text(", ".join(f"{name} v{version}" for name, version
                                               in payload["versions"].items())),
                           styles["small"]))
    for error in payload.get("errors", []):
        story.append(Paragraph(para_text(f"Not computed: {error}"), styles["small"]))
    return story


def build_pack(review: Review, *, items: Sequence[Mapping] = (),
               open_actions: Sequence[Mapping] = ()) -> tuple[bytes, int]:
    """The PDF of a frozen review as bytes, and its number of pages."""
    styles = _styles()
    payload = review.payload
    footer = plain(f"{review.title} · {review.frozen_label()}")

    def decorate(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(_fonts()[0], 7)
        canvas.setFillColor(GREY)
        canvas.drawString(MARGIN, 9 * mm, footer[:140])
        canvas.drawRightString(PAGE_WIDTH - MARGIN, 9 * mm, f"page {doc.page}")
        canvas.restoreState()

    story = _cover(review, styles)
    story += _scorecard(review, styles)
    story += [PageBreak(), *_funnel(payload, styles)]
    story += [KeepTogether(_sla(payload, styles))]
    story += [PageBreak(), *_volume(payload, styles)]
    story += _campaigns(payload, styles)
    story += [PageBreak(), *_decisions(items, open_actions, styles), Spacer(1, 8),
              *_events(payload, styles), Spacer(1, 8), *_definitions(payload, styles)]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN + 4 * mm,
                            title=plain(review.title), author=plain(review.user),
                            subject="Frozen pipeline review")
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue(), doc.page


def write_pack(review: Review, out: Path | str, *, items: Sequence[Mapping] = (),
               open_actions: Sequence[Mapping] = ()) -> int:
    """Write the PDF of a frozen review to `out`; return its number of pages."""
    pdf, pages = build_pack(review, items=items, open_actions=open_actions)
    out = Path(out)
    try:
        out.write_bytes(pdf)
    except OSError as exc:
        raise PackError(f"cannot write the pack to {out}: {exc.strerror or exc}; choose a "
                        "folder that exists and that you can write.") from None
    return pages
