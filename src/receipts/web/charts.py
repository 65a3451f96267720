"""Small server-drawn SVG charts: no script, nothing from another origin.

Colours are SVG attributes, not inline styles, so the strict
Content-Security-Policy holds. A chart names its axes and writes its values
on it; the page puts the same figures in a table beside it.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

# Up to this many bars each carries its value; more and only the axis does.
VALUE_LABELS_UP_TO = 12


def money(cents: int) -> str:
    """$1.2M-style figure for chart labels; exact figures are in the table beside it."""
    value = cents / 100
    sign = "-" if value < 0 else ""
    value = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= limit:
            return f"{sign}${value / limit:.1f}{suffix}"
    return f"{sign}${value:,.0f}"


def nice_step(span: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about ``ticks`` gridlines."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 5, 10):
        if raw <= multiple * power:
            return multiple * power
    return 10 * power


def obligations_chart_svg(by_fiscal_year: dict[int, int], title: str) -> str:
    """Bars of obligated dollars per fiscal year; withdrawn money below the zero line."""
    years = sorted(by_fiscal_year)
    if not years:
        return ""
    years = list(range(years[0], years[-1] + 1))
    values = [by_fiscal_year.get(y, 0) for y in years]
    width, height, left, right, top, bottom = 720, 320, 84, 12, 28, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    step = nice_step(max(max(values), 0) - min(min(values), 0))
    high = math.ceil(max(max(values), 0) / step) * step
    low = math.floor(min(min(values), 0) / step) * step
    span = (high - low) or 1

    def y_of(cents: float) -> float:
        return top + plot_h * (high - cents) / span

    zero_y = y_of(0)
    bar_w = plot_w / len(years)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-title" class="chart">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    tick = low
    while tick <= high + step / 2:
        ty = y_of(tick)
        parts.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
            f'stroke="#e5e7eb"/>'
            f'<text x="{left - 6}" y="{ty + 4:.1f}" font-size="12" text-anchor="end" '
            f'fill="#374151">{escape(money(int(tick)))}</text>'
        )
        tick += step
    parts.append(
        f'<line x1="{left}" y1="{zero_y:.1f}" x2="{width - right}" y2="{zero_y:.1f}" '
        f'stroke="#374151"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#374151"/>'
    )
    every = max(1, math.ceil(len(years) / 12))
    for i, (year, value) in enumerate(zip(years, values, strict=True)):
        x = left + i * bar_w + bar_w * 0.15
        h = plot_h * abs(value) / span
        y = zero_y - h if value >= 0 else zero_y
        fill = "#b91c1c" if value >= 0 else "#6b7280"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.7:.1f}" height="{max(h, 0.5):.1f}" '
            f'fill="{fill}"><title>Fiscal year {year}: {escape(money(value))}</title></rect>'
        )
        middle = x + bar_w * 0.35
        if len(years) <= VALUE_LABELS_UP_TO and value != 0:
            label_y = y - 5 if value >= 0 else y + h + 14
            parts.append(
                f'<text x="{middle:.1f}" y="{label_y:.1f}" font-size="12" text-anchor="middle" '
                f'fill="#111827">{escape(money(value))}</text>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{middle:.1f}" y="{top + plot_h + 18}" font-size="12" '
                f'text-anchor="middle" fill="#374151">{year}</text>'
            )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 10}" font-size="13" '
        f'text-anchor="middle" fill="#111827">Fiscal year (October to September)</text>'
        f'<text x="16" y="{top + plot_h / 2:.1f}" font-size="13" text-anchor="middle" '
        f'fill="#111827" transform="rotate(-90 16 {top + plot_h / 2:.1f})">'
        f"US dollars obligated</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
