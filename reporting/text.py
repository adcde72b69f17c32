"""The report as aligned terminal tables, readable in 100 columns."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import datetime, timedelta

from domain.durations import format_duration
from reporting.model import FUNNEL_STAGES, Funnel, ReasonCount, Report, RepSpeed

__all__ = ["WIDTH", "fmt_duration", "fmt_percent", "period_text", "reasons_text", "render_report_text", "stage_cells"]

WIDTH = 100
NONE = "-"


def render_report_text(report: Report) -> str:
    """Sections: funnel, conversion by tier, speed to lead, lead quality by source, recycled leads."""
    lines = [f"Sales–Marketing review: {period_text(report)}", ""]
    if report.leads == 0:
        lines.append("No activity in the period: no lead was taken in, moved on, handed off or rated.")
        return "\n".join(lines) + "\n"
    plural = "" if report.leads == 1 else "s"
    lines.append(f"{report.leads} lead{plural} with activity in the period ({report.entries} ledger entries).")
    for section in (_funnel, _tiers, _speed, _quality, _recycled):
        lines += ["", *section(report)]
    return "\n".join(lines) + "\n"


# --- sections ---------------------------------------------------------------------------------


def _funnel(report: Report) -> list[str]:
    funnel = report.funnel
    rows = [[s.stage, str(s.reached), str(s.entered), fmt_percent(s.conversion)] for s in funnel.stages]
    return [
        "FUNNEL  (reached: the lead was in the stage or a later one during the period)",
        *_table(["stage", "reached", "entered", "from previous"], rows, "<>>>"),
        f"lost: {funnel.lost}   disqualified: {funnel.disqualified}   "
        f"overall conversion (customer / leads): {fmt_percent(funnel.overall_conversion)}",
    ]


def _tiers(report: Report) -> list[str]:
    rows = [[t.tier, str(t.leads), *stage_cells(t), fmt_percent(t.overall_conversion)] for t in report.funnel_by_tier]
    return [
        "CONVERSION BY TIER  (tier when the lead entered SQL, else its latest; count and rate from previous)",
        *_table(["tier", "leads", *FUNNEL_STAGES[1:], "overall"], rows, "<>>>>>>"),
    ]


def stage_cells(funnel: Funnel) -> list[str]:
    """Each stage after new: `reached (conversion from the previous stage)`."""
    return [f"{s.reached} ({fmt_percent(s.conversion)})" for s in funnel.stages[1:]]


def _speed(report: Report) -> list[str]:
    speed = report.speed_to_lead
    if not speed.reps:
        return ["SPEED TO LEAD", "No handoffs in the period."]
    rows = [_speed_row(r) for r in [*speed.reps, speed.total]]
    return [
        "SPEED TO LEAD  (entering SQL → accepted; nearest-rank p50/p90; breach: overdue or accepted late)",
        *_table(
            ["rep", "accepted", "timed", "p50", "p90", "attempts", "open", "breached", "breach rate"],
            rows,
            "<>>>>>>>>",
        ),
    ]


def _speed_row(rep: RepSpeed) -> list[str]:
    return [
        rep.rep,
        str(rep.accepted),
        str(rep.measured),
        fmt_duration(rep.p50_seconds),
        fmt_duration(rep.p90_seconds),
        str(rep.attempts),
        str(rep.open),
        str(rep.breached),
        fmt_percent(rep.breach_rate),
    ]


def _quality(report: Report) -> list[str]:
    rows = []
    notes = []
    for q in report.quality_by_source:
        average = f"{q.average_rating:.2f}" if q.average_rating is not None else NONE
        counts = [str(q.rating_counts.get(value, 0)) for value in range(1, 6)]
        rows.append([q.source, str(q.leads), str(q.ratings), average, *counts, str(q.feedback_missed)])
        rows[-1] += [str(q.rejected), str(q.won), str(q.lost)]
        parts = [
            f"{label}: {reasons_text(reasons)}"
            for label, reasons in (
                ("rated for", q.feedback_reasons),
                ("rejected", q.reject_reasons),
                ("lost", q.lost_reasons),
            )
            if reasons
        ]
        if parts:
            notes += textwrap.wrap(
                f"{q.source}: " + "; ".join(parts), WIDTH, initial_indent="  ", subsequent_indent="      "
            )
    headers = ["source", "leads", "ratings", "avg", "1", "2", "3", "4", "5", "missed", "rejected", "won", "lost"]
    return [
        "LEAD QUALITY BY SOURCE  (sales' ratings: how many, average, how many of each 1-5; feedback missed)",
        *_table(headers, rows, "<" + ">" * 12),
        *(["reasons (times):", *notes] if notes else []),
    ]


def _recycled(report: Report) -> list[str]:
    rows = []
    for flow in report.recycled.flows:
        rows.append([flow.flow.replace("_", " "), str(flow.count), str(flow.leads), reasons_text(flow.reasons)])
    table = _table(["back to marketing", "times", "leads", "reasons"], rows, "<>><")
    indent = len(table[0]) - len("reasons")
    wrapped = [table[0]]
    for line in table[1:]:
        head, tail = line[:indent], line[indent:]
        parts = textwrap.wrap(tail, max(WIDTH - indent, 20)) or [""]
        wrapped += [(head + parts[0]).rstrip(), *(" " * indent + p for p in parts[1:])]
    leads = report.recycled.leads
    return [f"RECYCLED LEADS  ({leads} lead{'' if leads == 1 else 's'} went back to marketing)", *wrapped]


# --- formatting -------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    """Columns two spaces apart; `align` holds one `<` or `>` per column."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(cells, align, widths, strict=True)).rstrip()

    return [line(headers), *(line(row) for row in rows)]


def period_text(report: Report) -> str:
    start = _when(report.since) if report.since is not None else "the start of the ledger"
    return f"{start} → {_when(report.until)}"


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M %Z").strip()


def fmt_percent(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else NONE


def fmt_duration(seconds: float | None) -> str:
    return format_duration(timedelta(seconds=seconds)) if seconds is not None else NONE


def reasons_text(reasons: Sequence[ReasonCount]) -> str:
    return ", ".join(f"{r.reason} ({r.count})" for r in reasons) or NONE
