"""Small server-drawn SVG charts: no script, nothing from another origin.

Colours are SVG attributes, not inline styles, so the strict
Content-Security-Policy holds.
"""

from __future__ import annotations

from xml.sax.saxutils import escape


def money(cents: int) -> str:
    """$1.2M-style figure for chart labels; exact figures are in the table beside it."""
    value = cents / 100
    sign = "-" if value < 0 else ""
    value = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if value >= limit:
            return f"{sign}${value / limit:.1f}{suffix}"
    return f"{sign}${value:,.0f}"


def obligations_chart_svg(by_fiscal_year: dict[int, int], title: str) -> str:
    """Bars of obligated dollars per fiscal year; de-obligations below the axis."""
    years = sorted(by_fiscal_year)
    if not years:
        return ""
    years = list(range(years[0], years[-1] + 1))
    values = [by_fiscal_year.get(y, 0) for y in years]
    width, height, left, bottom, top = 720, 260, 70, 30, 20
    plot_h = height - bottom - top
    high, low = max(max(values), 0), min(min(values), 0)
    span = (high - low) or 1
    zero_y = top + plot_h * high / span
    bar_w = (width - left - 10) / len(years)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-title" class="chart">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<line x1="{left}" y1="{zero_y:.1f}" x2="{width - 10}" y2="{zero_y:.1f}" stroke="#374151"/>',
        f'<text x="{left - 6}" y="{top + 4}" font-size="11" text-anchor="end" fill="#374151">{money(high)}</text>',
    ]
    if low < 0:
        parts.append(
            f'<text x="{left - 6}" y="{top + plot_h}" font-size="11" text-anchor="end" fill="#374151">{money(low)}</text>'
        )
    step = max(1, len(years) // 12)
    for i, (year, value) in enumerate(zip(years, values, strict=True)):
        x = left + i * bar_w + bar_w * 0.1
        h = plot_h * abs(value) / span
        y = zero_y - h if value >= 0 else zero_y
        fill = "#b91c1c" if value >= 0 else "#9ca3af"
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.8:.1f}" height="{max(h, 0.5):.1f}" fill="{fill}">'
            f"<title>FY{year}: {escape(money(value))}</title></rect>"
        )
        if i % step == 0:
            parts.append(
                f'<text x="{x + bar_w * 0.4:.1f}" y="{height - 10}" font-size="11" text-anchor="middle" '
                f'fill="#374151">FY{str(year)[-2:]}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
