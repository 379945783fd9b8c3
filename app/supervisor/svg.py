"""Charts as inline SVG, drawn on the server: no script, nothing for the CSP to refuse.

Colours and sizes are presentation attributes (the page's CSP allows no inline style). Every
label goes through escape(); each chart has a <title> and a table of the same figures beside it
on the page for screen readers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 226
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 20, 44
INK, GRID, MUTED = "#111827", "#d7dbe1", "#4b5563"


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]
    colour: str


def nice_ceiling(value: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at or above value (so the axis reads easily)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def axis_top(largest: float, *, whole: bool = False) -> float:
    """The top of a four-step axis; whole numbers only when counting things."""
    step = nice_ceiling(largest / 4)
    if whole:
        step = max(1, math.ceil(step))
    return 4 * step


def _number(value: float) -> str:
    return f"{value:g}" if value < 10 else f"{value:,.0f}"


def _frame(title: str, labels: list[str], top: float, unit: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="{MUTED}">{escape(_number(value))}</text>')
    if unit:
        parts.append(f'<text x="{LEFT}" y="{TOP - 4}" font-size="11" fill="{MUTED}">'
                     f"{escape(unit)}</text>")
    step = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    every = max(1, math.ceil(len(labels) / 12))  # at most a dozen labels under the axis
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + step * (i + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                         f'font-size="11" fill="{INK}">{escape(label)}</text>')
    return parts


def _legend(series: list[Series]) -> list[str]:
    parts, x = [], LEFT
    for s in series:
        y = HEIGHT - 10
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{s.colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{y}" font-size="11" fill="{INK}">'
                     f"{escape(s.name)}</text>")
        x += 24 + 7 * len(s.name)
    return parts


def bar_chart(title: str, labels: list[str], series: list[Series], unit: str = "") -> Markup:
    """Grouped bars, one group per label."""
    top = axis_top(max((v or 0 for s in series for v in s.values), default=0), whole=True)
    parts = _frame(title, labels, top, unit)
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    bar = step * 0.8 / max(1, len(series))
    for i, label in enumerate(labels):
        for j, s in enumerate(series):
            value = s.values[i] or 0
            h = plot_h * value / top
            x = LEFT + step * i + step * 0.1 + bar * j
            parts.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" '
                         f'height="{h:.1f}" fill="{s.colour}" data-series="{escape(s.name)}">'
                         f"<title>{escape(label)}: {escape(s.name)} {escape(_number(value))}"
                         f"</title></rect>")
    parts += _legend(series)
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(title: str, labels: list[str], series: list[Series], unit: str = "") -> Markup:
    """Lines with a dot per known value; a gap where a value is unknown (no cases that day)."""
    top = axis_top(max((v for s in series for v in s.values if v is not None), default=0))
    parts = _frame(title, labels, top, unit)
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    for s in series:
        runs: list[list[str]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
                continue
            x, y = LEFT + step * (i + 0.5), TOP + plot_h - plot_h * value / top
            runs[-1].append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{s.colour}" '
                         f'data-series="{escape(s.name)}"><title>{escape(labels[i])}: '
                         f"{escape(s.name)} {escape(_number(value))}</title></circle>")
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline points="{" ".join(run)}" fill="none" '
                             f'stroke="{s.colour}" stroke-width="2"/>')
    parts += _legend(series)
    parts.append("</svg>")
    return Markup("".join(parts))
