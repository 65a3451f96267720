"""A picture of an entity's neighbourhood as a self-contained SVG.

Drawn on the server so the page needs no script and loads nothing from
another origin. Colours and dashes are SVG attributes, not inline styles, so
a strict Content-Security-Policy still applies.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

from receipts.evidence.models import Entity, TieStatus
from receipts.evidence.queries import RolledTie

WIDTH, HEIGHT = 720, 480
MAX_NEIGHBOURS = 18
# Above this many neighbours the kind labels on the lines overlap; hover titles keep them.
LABELLED_NEIGHBOURS = 10

_STATUS_STROKE = {
    TieStatus.ACTIVE: ("#1b5e20", ""),
    TieStatus.ALLEGED: ("#b45309", "6 4"),
    TieStatus.ANNOUNCED: ("#1d4ed8", "2 4"),
    TieStatus.ENDED: ("#9ca3af", "1 5"),
}


def _label(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tie_map_svg(entity: Entity, ties: list[RolledTie]) -> str:
    """SVG of the entity in the middle and each neighbour on a circle around it."""
    neighbours: dict[int, tuple[Entity, list[RolledTie]]] = {}
    for rt in ties:
        other = rt.far_entity
        neighbours.setdefault(other.pk, (other, []))[1].append(rt)
    shown = sorted(neighbours.values(), key=lambda item: (-len(item[1]), item[0].name))[
        :MAX_NEIGHBOURS
    ]
    cx, cy = WIDTH / 2, HEIGHT / 2
    radius = min(WIDTH, HEIGHT) / 2 - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="tiemap-title" class="tiemap">',
        f'<title id="tiemap-title">Ties of {escape(entity.name)}</title>',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fafaf9"/>',
    ]
    nodes: list[str] = []
    for i, (other, rts) in enumerate(shown):
        angle = 2 * math.pi * i / max(len(shown), 1) - math.pi / 2
        x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        rt = rts[0]
        stroke, dash = _STATUS_STROKE.get(rt.tie.status, ("#374151", ""))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        kinds = ", ".join(sorted({r.tie.get_kind_display().lower() for r in rts}))
        statuses = ", ".join(sorted({r.tie.get_status_display().lower() for r in rts}))
        parts.append(
            f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="{stroke}" '
            f'stroke-width="2"{dash_attr}><title>{escape(kinds)} ({escape(statuses)})</title></line>'
        )
        mx, my = (cx + x) / 2, (cy + y) / 2
        if len(shown) <= LABELLED_NEIGHBOURS:
            parts.append(
                f'<text x="{mx:.1f}" y="{my - 4:.1f}" font-size="11" text-anchor="middle" '
                f'fill="#374151">{escape(_label(kinds, 24))}</text>'
            )
        fill = (
            "#e0f2fe"
            if other.kind == "agency"
            else "#fef3c7"
            if other.kind == "company"
            else "#ede9fe"
        )
        nodes.append(
            f"<a href={quoteattr(other.get_absolute_url())}>"
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="9" fill="{fill}" stroke="#1f2937"/>'
            f'<text x="{x:.1f}" y="{y + 24:.1f}" font-size="12" text-anchor="middle" '
            f'fill="#111827">{escape(_label(other.name))}</text></a>'
        )
    parts.extend(nodes)
    parts.append(
        f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="14" fill="#111827"/>'
        f'<text x="{cx:.1f}" y="{cy + 32:.1f}" font-size="14" font-weight="bold" '
        f'text-anchor="middle" fill="#111827">{escape(_label(entity.name, 40))}</text>'
    )
    if len(neighbours) > len(shown):
        parts.append(
            f'<text x="10" y="{HEIGHT - 10}" font-size="12" fill="#6b7280">'
            f"{len(neighbours) - len(shown)} more not drawn; all are listed below</text>"
        )
    if not shown:
        parts.append(
            f'<text x="{cx:.1f}" y="{cy + 60:.1f}" font-size="13" text-anchor="middle" '
            f'fill="#6b7280">No ties recorded yet</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
