"""Horizontal bar charts as inline SVG: no JavaScript, no fonts or files to fetch, escaped text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["PALETTE", "Series", "bar_chart"]

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2")
_WIDTH, _LABEL, _VALUE = 640, 170, 80
_BAR, _GAP, _LEGEND = 16, 10, 22
_LABEL_CHARS = 24


@dataclass(frozen=True)
class Series:
    """One bar per category: `values` set the lengths (`None`: no bar), `labels` the text beside them."""

    name: str
    values: Sequence[float | None]
    labels: Sequence[str]


def bar_chart(title: str, categories: Sequence[str], series: Sequence[Series], scale: float | None = None) -> str:
    """A grouped horizontal bar chart, one group per category; a bar of value `scale` (default: the
    largest value) spans the whole width. The title is the chart's accessible name and tooltip."""
    legend = _LEGEND if len(series) > 1 else 0
    group = len(series) * _BAR + _GAP
    height = legend + max(len(categories), 1) * group + _GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    if legend:
        for i, s in enumerate(series):
            x = _LABEL + i * 120
            parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>')
            parts.append(f'<text x="{x + 16}" y="14">{escape(s.name)}</text>')
    if not categories:
        parts.append(f'<text x="{_LABEL}" y="{legend + 20}" class="none">no data</text>')
    top = scale or max((v for s in series for v in s.values if v is not None), default=0.0)
    span = _WIDTH - _LABEL - _VALUE
    for row, category in enumerate(categories):
        y0 = legend + row * group + _GAP // 2
        short = category if len(category) <= _LABEL_CHARS else category[: _LABEL_CHARS - 1] + "…"
        label_y = y0 + len(series) * _BAR / 2 + 4
        parts.append(
            f'<text x="{_LABEL - 8}" y="{label_y:g}" text-anchor="end"><title>{escape(category)}</title>'
            f"{escape(short)}</text>"
        )
        for i, s in enumerate(series):
            value, label = s.values[row], s.labels[row]
            y = y0 + i * _BAR
            length = span * min(value / top, 1.0) if value and top > 0 else 0.0
            if value is not None:
                parts.append(
                    f'<rect x="{_LABEL}" y="{y}" width="{length:.1f}" height="{_BAR - 2}" '
                    f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(f"{category} · {s.name}: {label}")}</title>'
                    "</rect>"
                )
            parts.append(f'<text x="{_LABEL + length + 4:.1f}" y="{y + _BAR - 4}">{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
