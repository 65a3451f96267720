"""The attribution chart: accepted sign-ups per day as server-drawn SVG bars.

Like ``receipts.web.charts``: no script, colours as SVG attributes rather
than inline styles, so the strict Content-Security-Policy holds.
"""

from __future__ import annotations

from datetime import date, timedelta
from xml.sax.saxutils import escape


def signups_by_day_svg(by_day: list[tuple[date, int]], title: str) -> str:
    """Bars of accepted sign-ups per day, every day from the first to the last shown."""
    if not by_day:
        return ""
    counts = dict(by_day)
    first, last = by_day[0][0], by_day[-1][0]
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    width, height, left, bottom, top = 720, 240, 40, 30, 20
    plot_h = height - bottom - top
    high = max(counts.values()) or 1
    bar_w = (width - left - 10) / len(days)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="signups-chart-title" class="chart" id="signups-chart">',
        f'<title id="signups-chart-title">{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#374151"/>',
        f'<text x="{left - 6}" y="{top + 4}" font-size="11" text-anchor="end" fill="#374151">{high}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" font-size="11" text-anchor="end" fill="#374151">0</text>',
    ]
    step = max(1, len(days) // 10)
    for i, day in enumerate(days):
        value = counts.get(day, 0)
        x = left + i * bar_w + bar_w * 0.1
        h = plot_h * value / high
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w * 0.8:.1f}" '
            f'height="{max(h, 0.5):.1f}" fill="#15803d">'
            f"<title>{day.isoformat()}: {value} sign-up{'s' if value != 1 else ''}</title></rect>"
        )
        if i % step == 0:
            parts.append(
                f'<text x="{x + bar_w * 0.4:.1f}" y="{height - 10}" font-size="11" '
                f'text-anchor="middle" fill="#374151">{day:%m-%d}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
