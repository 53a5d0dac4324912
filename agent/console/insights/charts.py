"""Inline SVG charts, drawn on the server: no script, no CDN, no external assets.

Every chart has a <title> and an aria-label (screen readers read the table beside it for values);
every text is escaped. Colours come from CSS classes in console.css (the insights block)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup


def _nice_max(value: float) -> float:
    """A round axis top ≥ value (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if factor * step >= value:
            return factor * step
    return 10 * step


def _num(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def column_chart(points: Sequence[tuple[str, float]], *, title: str, width: int = 760,
                 height: int = 200) -> Markup:  # fmt: skip
    """Vertical bars (conversations per day); labels thinned so they never overlap."""
    left, right, top, bottom = 34, 8, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((v for _l, v in points), default=0))
    n = max(len(points), 1)
    slot = plot_w / n
    bar = max(slot * 0.72, 1.0)
    every = max(1, int(44 // slot) + 1)  # one label per ~44 px
    parts = [
        f'<svg class="chart chart-columns" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
    ]
    # Counts are whole numbers: a middle grid line only where it is one (not "2.5").
    for frac in (0, 0.5, 1) if (top_value / 2).is_integer() else (0, 1):
        y = top + plot_h - frac * plot_h
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_num(top_value * frac)}</text>"
        )
    for i, (label, value) in enumerate(points):
        h = plot_h * (value / top_value) if top_value else 0
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}">'
            f"<title>{escape(label)}: {_num(value)}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text class="axis" x="{x + bar / 2:.1f}" y="{height - 6}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(rows: Sequence[tuple[str, float]], *, title: str, width: int = 460,
              row_height: int = 24, label_width: int = 200) -> Markup:  # fmt: skip
    """Horizontal bars (reasons, products, eligibility outcomes), longest first as given."""
    right, pad = 44, 6
    height = max(len(rows), 1) * row_height + pad * 2
    top_value = max((v for _l, v in rows), default=0) or 1
    plot_w = width - label_width - right
    parts = [
        f'<svg class="chart chart-bars" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
    ]
    if not rows:
        parts.append(f'<text class="axis" x="{pad}" y="{height / 2 + 4:.1f}">No data</text>')
    for i, (label, value) in enumerate(rows):
        y = pad + i * row_height
        w = plot_w * value / top_value
        short = label if len(label) <= 24 else label[:23] + "…"
        parts.append(
            f'<text class="label" x="{label_width - 8}" y="{y + row_height * 0.68:.1f}" '
            f'text-anchor="end">{escape(short)}</text>'
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{max(w, 1):.1f}" '
            f'height="{row_height - 6}"><title>{escape(label)}: {_num(value)}</title></rect>'
            f'<text class="value" x="{label_width + w + 4:.1f}" y="{y + row_height * 0.68:.1f}">'
            f"{_num(value)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


__all__ = ["bar_chart", "column_chart"]
