"""The report as one self-contained HTML page for the review meeting: inline CSS and SVG charts,
no scripts, nothing fetched; every value from the ledger is HTML-escaped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from html import escape

from reporting.model import FUNNEL_STAGES, ReasonCount, Report
from reporting.svg import Series
from reporting.svg import bar_chart as _svg_chart
from reporting.text import fmt_duration, fmt_percent, period_text, stage_cells

__all__ = ["render_report_html"]

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #222; margin: 2em auto; max-width: 60em; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
p.period { color: #555; margin-top: 0; }
p.note { color: #666; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { padding: 0.2em 0.7em; border-bottom: 1px solid #eee; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; border-top: 1px solid #999; }
figure { margin: 0.8em 0; }
figcaption { font-weight: 600; margin-bottom: 0.3em; }
svg.chart { display: block; font-size: 12px; }
svg.chart text { fill: #333; }
svg.chart text.none { fill: #999; }
.charts { display: flex; flex-wrap: wrap; gap: 1em 2em; }
"""


def render_report_html(report: Report) -> str:
    """One page: funnel, conversion by tier, speed to lead, quality by source, recycled leads."""
    period = period_text(report)
    body = [f"<h1>Sales–Marketing review</h1>\n<p class=period>{escape(period)}</p>"]
    if report.leads == 0:
        body.append("<p>No activity in the period: no lead was taken in, moved on, handed off or rated.</p>")
    else:
        plural = "" if report.leads == 1 else "s"
        body.append(
            f"<p>{report.leads} lead{plural} with activity in the period ({report.entries} ledger entries).</p>"
        )
        body += [_funnel(report), _tiers(report), _speed(report), _quality(report), _recycled(report)]
    return (
        "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
        '<meta name=viewport content="width=device-width, initial-scale=1">\n'
        f"<title>Sales–Marketing review: {escape(period)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


# --- sections ---------------------------------------------------------------------------------


def _funnel(report: Report) -> str:
    funnel = report.funnel
    chart = bar_chart(
        "Leads that reached each stage",
        [s.stage for s in funnel.stages],
        [Series("reached", [s.reached for s in funnel.stages], [str(s.reached) for s in funnel.stages])],
    )
    rows = [[s.stage, s.reached, s.entered, fmt_percent(s.conversion)] for s in funnel.stages]
    return _section(
        "funnel",
        "Funnel",
        chart,
        _table(["stage", "reached", "entered", "from previous"], rows),
        f"Lost: {funnel.lost} · disqualified: {funnel.disqualified} · overall conversion (customer / leads): "
        f"{fmt_percent(funnel.overall_conversion)}. Reached: the lead was in the stage, or a later one, "
        "during the period; entered: it moved into the stage during the period.",
    )


def _tiers(report: Report) -> str:
    tiers = report.funnel_by_tier
    rates = [t.overall_conversion for t in tiers]
    chart = bar_chart(
        "Overall conversion (customer / leads) by tier",
        [t.tier for t in tiers],
        [Series("conversion", rates, [fmt_percent(r) for r in rates])],
        scale=1.0,
    )
    rows = [[t.tier, t.leads, *stage_cells(t), fmt_percent(t.overall_conversion)] for t in tiers]
    return _section(
        "tiers",
        "Conversion by tier",
        chart,
        _table(["tier", "leads", *FUNNEL_STAGES[1:], "overall"], rows),
        "Tier: the lead's tier when it entered SQL in the period, else its latest. "
        "Each stage: leads that reached it (conversion from the previous stage).",
    )


def _speed(report: Report) -> str:
    speed = report.speed_to_lead
    reps = speed.reps
    chart = bar_chart(
        "Speed to lead per rep: p50 and p90",
        [r.rep for r in reps],
        [
            Series("p50", [r.p50_seconds for r in reps], [fmt_duration(r.p50_seconds) for r in reps]),
            Series("p90", [r.p90_seconds for r in reps], [fmt_duration(r.p90_seconds) for r in reps]),
        ],
    )
    headers = ["rep", "accepted", "timed", "p50", "p90", "attempts", "open", "breached", "breach rate"]
    rows = [
        [
            r.rep,
            r.accepted,
            r.measured,
            fmt_duration(r.p50_seconds),
            fmt_duration(r.p90_seconds),
            r.attempts,
            r.open,
            r.breached,
            fmt_percent(r.breach_rate),
        ]
        for r in [*reps, speed.total]
    ]
    return _section(
        "speed",
        "Speed to lead",
        chart,
        _table(headers, rows, total_last=True),
        "From entering SQL to acceptance, for the rep who accepted; p50 / p90 by the nearest-rank method. "
        "Timed: acceptances whose SQL entry is in the period. Breach: an attempt that went overdue, was accepted "
        "after its deadline or is still pending past it; the rate leaves out open attempts (deadline ahead).",
    )


def _quality(report: Report) -> str:
    sources = report.quality_by_source
    rated = [q for q in sources if q.average_rating is not None]
    charts = [
        bar_chart(
            "Average rating by source",
            [q.source for q in rated],
            [Series("average rating", [q.average_rating for q in rated], [f"{q.average_rating:.2f}" for q in rated])],
            scale=5.0,
        ),
        _reasons_chart("Reject reasons", (r for q in sources for r in q.reject_reasons)),
        _reasons_chart("Lost reasons", (r for q in sources for r in q.lost_reasons)),
    ]
    headers = ["source", "leads", "ratings", "avg", "1", "2", "3", "4", "5", "missed", "rejected", "won", "lost"]
    rows = [
        [
            q.source,
            q.leads,
            q.ratings,
            f"{q.average_rating:.2f}" if q.average_rating is not None else "-",
            *(q.rating_counts.get(value, 0) for value in range(1, 6)),
            q.feedback_missed,
            q.rejected,
            q.won,
            q.lost,
        ]
        for q in sources
    ]
    reasons = [
        [q.source, _reasons(q.feedback_reasons), _reasons(q.reject_reasons), _reasons(q.lost_reasons)]
        for q in sources
        if q.feedback_reasons or q.reject_reasons or q.lost_reasons
    ]
    return _section(
        "quality",
        "Lead quality by source",
        '<div class="charts">' + "".join(charts) + "</div>",
        _table(headers, rows),
        _table(["source", "rated for", "reject reasons", "lost reasons"], reasons) if reasons else "",
        "Ratings 1-5 from sales' feedback; missed: feedback asked for and not given by its deadline.",
    )


def _reasons_chart(title: str, reasons: Iterable[ReasonCount]) -> str:
    total: Counter[str] = Counter()
    for r in reasons:
        total[r.reason] += r.count
    ordered = sorted(total.items(), key=lambda rc: (-rc[1], rc[0]))
    return bar_chart(
        title,
        [reason for reason, _ in ordered],
        [Series("times", [count for _, count in ordered], [str(count) for _, count in ordered])],
    )


def _recycled(report: Report) -> str:
    rows = [[f.flow.replace("_", " "), f.count, f.leads, _reasons(f.reasons)] for f in report.recycled.flows]
    return _section(
        "recycled",
        "Recycled leads",
        _table(["back to marketing", "times", "leads", "reasons (times)"], rows),
        f"{report.recycled.leads} lead(s) went back to marketing: returned after no rep accepted, recycled "
        "after being lost, or rejected by sales back to nurture.",
    )


# --- html helpers -----------------------------------------------------------------------------


def bar_chart(title: str, categories: Sequence[str], series: Sequence[Series], scale: float | None = None) -> str:
    """An SVG bar chart with its title as a visible caption."""
    svg = _svg_chart(title, categories, series, scale)
    return f"<figure>\n<figcaption>{escape(title)}</figcaption>\n{svg}\n</figure>"


def _section(anchor: str, title: str, *parts: str) -> str:
    content = [p if p.startswith("<") else f"<p class=note>{escape(p)}</p>" for p in parts if p]
    return f'<section id="{anchor}">\n<h2>{escape(title)}</h2>\n' + "\n".join(content) + "\n</section>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], total_last: bool = False) -> str:
    """Numbers right-aligned; every cell escaped."""
    numeric = [i > 0 and bool(rows) and all(_is_number(row[i]) for row in rows) for i in range(len(headers))]
    head = "".join(f"<th{' class=n' if n else ''}>{escape(h)}</th>" for h, n in zip(headers, numeric, strict=True))
    body = []
    for index, row in enumerate(rows):
        cls = " class=total" if total_last and index == len(rows) - 1 else ""
        cells = "".join(
            f"<td{' class=n' if n else ''}>{escape(str(cell))}</td>" for cell, n in zip(row, numeric, strict=True)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"


def _is_number(cell: object) -> bool:
    return isinstance(cell, int | float) or (isinstance(cell, str) and (cell[:1].isdigit() or cell == "-"))


def _reasons(reasons: Sequence[ReasonCount]) -> str:
    return ", ".join(f"{r.reason} ({r.count})" for r in reasons) or "-"
