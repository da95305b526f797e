"""Small SVG charts (lines over a numeric axis, grouped bars over categories) written as text.

Our own few lines instead of a plotting library: the site must open from disk with nothing
else installed, the bytes must be the same for the same figures, and a browser renders SVG
crisply at any zoom. Every point carries a <title> with its exact value.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Mapping, Sequence

PALETTE = ("#3b6fb6", "#e07b39", "#3f9a5a", "#c4424a", "#7d5fb2", "#8c6d4f", "#d16ba5",
           "#6f7378", "#b8a035", "#2aa3b5")
WIDTH, HEIGHT = 560, 320
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 34, 78


@dataclass(frozen=True)
class Series:
    """One model's values by x (None: no value there), drawn in ``colour``."""

    name: str
    colour: str
    values: Mapping[str, float | None]


def colour(index: int) -> str:
    """The palette's colour of the index-th model (cycling)."""
    return PALETTE[index % len(PALETTE)]


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _frame(title: str, x_label: str, y_label: str, y_max: float) -> list[str]:
    """The chart's background, title, y grid with ticks, and axis labels."""
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}" '
             f'font-family="system-ui, sans-serif" font-size="11">',
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
             f'<text x="{WIDTH / 2:.0f}" y="18" text-anchor="middle" font-size="13" '
             f'font-weight="600">{escape(title)}</text>']
    for step in range(6):
        value = y_max * step / 5
        y = TOP + plot_h - plot_h * step / 5
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{"#999" if step == 0 else "#e3e3e3"}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'fill="#555">{_num(value)}</text>')
    parts.append(f'<text transform="translate(14 {TOP + plot_h / 2:.0f}) rotate(-90)" '
                 f'text-anchor="middle" fill="#333">{escape(y_label)}</text>')
    parts.append(f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2:.0f}" '
                 f'y="{HEIGHT - BOTTOM + 34}" text-anchor="middle" '
                 f'fill="#333">{escape(x_label)}</text>')
    return parts


def _legend(series: Sequence[Series]) -> list[str]:
    parts, x, y = [], LEFT, HEIGHT - 22
    for s in series:
        label = s.name if len(s.name) <= 22 else s.name[:21] + "…"
        width = 22 + 6.5 * len(label)
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, y = LEFT, y + 14
        parts.append(f'<rect x="{x:.0f}" y="{y - 8}" width="12" height="9" '
                     f'fill="{s.colour}"/><text x="{x + 16:.0f}" y="{y}" '
                     f'fill="#333">{escape(label)}</text>')
        x += width + 10
    return parts


def _y(value: float, y_max: float) -> float:
    plot_h = HEIGHT - TOP - BOTTOM
    return TOP + plot_h - plot_h * max(0.0, min(value, y_max)) / y_max


def line_chart(title: str, x_label: str, y_label: str, xs: Sequence[str],
               series: Sequence[Series], y_max: float = 100.0) -> str:
    """Lines over the ordered x values ``xs`` (evenly spaced), one per series; a missing
    value breaks its line."""
    parts = _frame(title, x_label, y_label, y_max)
    span = WIDTH - LEFT - RIGHT - 40
    pos = {x: LEFT + 20 + (span * i / (len(xs) - 1) if len(xs) > 1 else span / 2)
           for i, x in enumerate(xs)}
    for x in xs:
        parts.append(f'<text x="{pos[x]:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                     f'text-anchor="middle" fill="#555">{escape(str(x))}</text>')
    for s in series:
        runs: list[list[str]] = [[]]
        for x in xs:
            value = s.values.get(x)
            if value is None:
                runs.append([])
                continue
            runs[-1].append(f"{pos[x]:.1f},{_y(value, y_max):.1f}")
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline fill="none" stroke="{s.colour}" stroke-width="2" '
                             f'points="{" ".join(run)}"/>')
        for x in xs:
            value = s.values.get(x)
            if value is not None:
                parts.append(f'<circle cx="{pos[x]:.1f}" cy="{_y(value, y_max):.1f}" r="3.5" '
                             f'fill="{s.colour}"><title>{escape(s.name)}, {escape(str(x))}: '
                             f'{value:.2f}</title></circle>')
    return "\n".join(parts + _legend(series) + ["</svg>"]) + "\n"


def bar_chart(title: str, x_label: str, y_label: str, categories: Sequence[str],
              series: Sequence[Series], y_max: float = 100.0) -> str:
    """Bars grouped by category, one bar per series; a missing value leaves a gap."""
    parts = _frame(title, x_label, y_label, y_max)
    group = (WIDTH - LEFT - RIGHT) / max(1, len(categories))
    bar = min(28.0, (group - 10) / max(1, len(series)))
    for i, category in enumerate(categories):
        left = LEFT + group * i + (group - bar * len(series)) / 2
        parts.append(f'<text x="{LEFT + group * (i + 0.5):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                     f'text-anchor="middle" fill="#555">{escape(str(category))}</text>')
        for j, s in enumerate(series):
            value = s.values.get(category)
            if value is None:
                continue
            top = _y(value, y_max)
            parts.append(f'<rect x="{left + bar * j:.1f}" y="{top:.1f}" width="{bar - 2:.1f}" '
                         f'height="{HEIGHT - BOTTOM - top:.1f}" fill="{s.colour}">'
                         f'<title>{escape(s.name)}, {escape(str(category))}: {value:.2f}'
                         f'</title></rect>')
    return "\n".join(parts + _legend(series) + ["</svg>"]) + "\n"


__all__ = ["PALETTE", "Series", "bar_chart", "colour", "line_chart"]
