"""A picture of an entity's neighbourhood as a self-contained SVG.

Drawn on the server so the page loads nothing from another origin and shows
the map without script (``static/web/tiemap.js`` only adds panning and
zooming). Colours and dashes are SVG attributes, not inline styles, so a
strict Content-Security-Policy still applies. The map is a radial tree: the
entity in the middle, on a rollup its subsidiaries or components on the inner
rings (so a tie reads Amazon → Amazon Web Services → ICE, as it runs), and
the other ends of the ties on the outer ring. Names are wrapped, never cut.
A busy neighbourhood (more other ends than a reader can tell apart) is drawn
as one node per kind of tie with its count, each a link to that kind's list.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from receipts.evidence.models import Entity, TieKind, TieStatus
from receipts.evidence.queries import RolledTie

# More other ends than this and the ties are drawn grouped by kind.
MAX_NEIGHBOURS = 14
# In a busy map, a kind with at most this many other ends is still drawn one by one.
INDIVIDUAL_PER_KIND = 3
# Above this many leaves the kind labels on the lines overlap; hover titles keep them.
LABELLED_NEIGHBOURS = 10
# Characters per line of a wrapped name, and the font sizes of names (viewBox units).
WRAP = 18
NAME_SIZE = 20
ROOT_SIZE = 22
EDGE_SIZE = 16
MARGIN = 16
# Distance between the rings of a rollup (viewBox units).
FAMILY_RING = 230
# Rings are ellipses, flatter than high, to suit a page's wide column.
SQUASH = 0.62

# Status → (stroke colour, dash pattern); the legend in ``_tiemap_legend.html`` matches.
STATUS_STROKE = {
    TieStatus.ACTIVE: ("#1b5e20", ""),
    TieStatus.ANNOUNCED: ("#1d4ed8", "2 4"),
    TieStatus.ALLEGED: ("#b45309", "6 4"),
    TieStatus.ENDED: ("#6b7280", "1 5"),
}
# Which status a line shows when several ties join the same two entities.
STATUS_ORDER = [TieStatus.ACTIVE, TieStatus.ANNOUNCED, TieStatus.ALLEGED, TieStatus.ENDED]
FAMILY_STROKE = "#374151"
NODE_FILL = {
    "agency": "#bae6fd",
    "company": "#fde68a",
    "organization": "#ddd6fe",
    "product": "#bbf7d0",
    "group": "#f3f4f6",
}


@dataclass
class _Node:
    key: str
    label: str
    kind: str
    href: str
    depth: int
    children: list[_Node] = field(default_factory=list)
    angle: float = 0.0
    x: float = 0.0
    y: float = 0.0


@dataclass
class _Edge:
    near: str
    far: str
    kinds: set[str] = field(default_factory=set)
    statuses: set[str] = field(default_factory=set)
    count: int = 0


def wrap_name(name: str, width: int = WRAP) -> list[str]:
    """The name on as many lines as it needs; every character is kept."""
    return textwrap.wrap(name, width, break_long_words=True, break_on_hyphens=False) or [name]


def _text(
    x: float, y: float, lines: list[str], size: int, anchor: str, *, bold: bool = False
) -> str:
    """Multi-line text with a white halo, so a name stays legible over the lines."""
    weight = ' font-weight="bold"' if bold else ""
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if i == 0 else size * 1.2:.1f}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{weight} '
        f'fill="#111827" stroke="#ffffff" stroke-width="4" stroke-linejoin="round" '
        f'paint-order="stroke">{spans}</text>'
    )


def _text_box(
    x: float, y: float, lines: list[str], size: int, anchor: str
) -> tuple[float, float, float, float]:
    """A generous estimate of where a text lands, for sizing the picture."""
    width = max(len(line) for line in lines) * size * 0.62
    left = x if anchor == "start" else x - width if anchor == "end" else x - width / 2
    top = y - size
    return left, top, left + width, top + size * 1.2 * len(lines) + 4


def _stroke(statuses: set[str]) -> tuple[str, str, str]:
    status = next((s for s in STATUS_ORDER if s in statuses), TieStatus.ACTIVE)
    colour, dash = STATUS_STROKE[status]
    return colour, dash, status


def _kind_link(base: str, kind: str, rollup: bool) -> str:
    return f"{base}?{'rollup=1&' if rollup else ''}kind={kind}#ties"


def tie_map_svg(
    entity: Entity,
    ties: list[RolledTie],
    *,
    rollup: bool = False,
    kind_counts: dict[str, int] | None = None,
) -> str:
    """SVG of the entity, its family on a rollup, and the other ends of ``ties``.

    ``kind_counts`` gives the number of ties of each kind when ``ties`` is
    only a sample of them (a page lists the first of each kind): a kind with
    more ties than drawn is shown as a group.
    """
    base = entity.get_absolute_url()
    root = _Node(f"e{entity.pk}", entity.name, entity.kind, base, 0)
    nodes: dict[str, _Node] = {root.key: root}
    edges: dict[tuple[str, str], _Edge] = {}

    shown_by_kind: dict[str, set[int]] = {}
    ties_by_kind: dict[str, int] = {}
    for rt in ties:
        shown_by_kind.setdefault(rt.tie.kind, set()).add(rt.far_entity.pk)
        ties_by_kind[rt.tie.kind] = ties_by_kind.get(rt.tie.kind, 0) + 1
    counts = dict(ties_by_kind)
    if kind_counts:
        counts.update(kind_counts)
    distinct = len({pk for pks in shown_by_kind.values() for pk in pks})
    busy = distinct > MAX_NEIGHBOURS or any(counts[k] > ties_by_kind.get(k, 0) for k in counts)
    grouped = {
        kind
        for kind in counts
        if busy
        and (
            len(shown_by_kind.get(kind, ())) > INDIVIDUAL_PER_KIND
            or counts[kind] > ties_by_kind.get(kind, 0)
        )
    }

    def family_node(path: list[Entity]) -> _Node:
        parent = root
        for depth, member in enumerate(path[1:], start=1):
            key = f"e{member.pk}"
            if key not in nodes:
                nodes[key] = _Node(key, member.name, member.kind, member.get_absolute_url(), depth)
                parent.children.append(nodes[key])
            parent = nodes[key]
        return parent

    for rt in ties:
        if rt.tie.kind in grouped:
            continue
        near = family_node(rt.near_path if rollup else [entity])
        other = rt.far_entity
        key = f"e{other.pk}"
        if key not in nodes:
            nodes[key] = _Node(key, other.name, other.kind, other.get_absolute_url(), -1)
            near.children.append(nodes[key])
        edge = edges.setdefault((near.key, key), _Edge(near.key, key))
        edge.kinds.add(rt.tie.get_kind_display().lower())
        edge.statuses.add(rt.tie.status)
        edge.count += 1
    order = {k: i for i, k in enumerate(TieKind.values)}
    for kind in sorted(grouped, key=lambda k: order.get(k, 99)):
        n = counts[kind]
        label = f"{TieKind(kind).label}: {n:,} tie{'s' if n != 1 else ''}"
        node = _Node(f"k{kind}", label, "group", _kind_link(base, kind, rollup), -1)
        root.children.append(node)
        nodes[node.key] = node

    leaves: list[_Node] = []

    def collect(node: _Node) -> None:
        for child in node.children:
            if child.depth < 0 or not child.children:
                leaves.append(child)
            else:
                collect(child)

    collect(root)
    family_depth = max((n.depth for n in nodes.values()), default=0)
    # Each ring leaves room for a wrapped name between a member and the ends of its ties.
    outer = max(260.0, len(leaves) * 200 / (2 * math.pi), FAMILY_RING * (family_depth + 1))
    ring = outer / (family_depth + 1)
    for i, leaf in enumerate(leaves):
        leaf.angle = 2 * math.pi * i / max(len(leaves), 1) - math.pi / 2
        if len(leaves) == 2:
            leaf.angle += math.pi / 2  # side by side, not above and below
        radius = outer if leaf.depth < 0 else ring * leaf.depth
        leaf.x, leaf.y = radius * math.cos(leaf.angle), SQUASH * radius * math.sin(leaf.angle)

    def place(node: _Node) -> list[float]:
        if node.depth < 0 or not node.children:
            return [node.angle]
        angles = [a for child in node.children for a in place(child)]
        if node is not root:
            node.angle = sum(angles) / len(angles)
            node.x = ring * node.depth * math.cos(node.angle)
            node.y = SQUASH * ring * node.depth * math.sin(node.angle)
        return angles

    place(root)

    lines: list[str] = []
    labels: list[str] = []
    shapes: list[str] = []
    boxes: list[tuple[float, float, float, float]] = []

    def link(node: _Node) -> None:
        for child in node.children:
            if child.depth > 0:
                lines.append(
                    f'<line x1="{node.x:.1f}" y1="{node.y:.1f}" x2="{child.x:.1f}" '
                    f'y2="{child.y:.1f}" stroke="{FAMILY_STROKE}" stroke-width="4">'
                    f"<title>{escape(child.label)} is part of the family of "
                    f"{escape(node.label)}</title></line>"
                )
                link(child)
            elif child.kind == "group":
                lines.append(
                    f'<line x1="{node.x:.1f}" y1="{node.y:.1f}" x2="{child.x:.1f}" '
                    f'y2="{child.y:.1f}" stroke="#6b7280" stroke-width="6" '
                    f'stroke-opacity="0.5"/>'
                )

    link(root)
    for edge in edges.values():
        a, b = nodes[edge.near], nodes[edge.far]
        colour, dash, status = _stroke(edge.statuses)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        kinds = ", ".join(sorted(edge.kinds))
        statuses = ", ".join(sorted(TieStatus(s).label.lower() for s in edge.statuses))
        lines.append(
            f'<line x1="{a.x:.1f}" y1="{a.y:.1f}" x2="{b.x:.1f}" y2="{b.y:.1f}" '
            f'stroke="{colour}" stroke-width="2.5"{dash_attr} class="tie status-{status}">'
            f"<title>{escape(a.label)} — {escape(kinds)} ({escape(statuses)}) — "
            f"{escape(b.label)}</title></line>"
        )
        if len(leaves) <= LABELLED_NEIGHBOURS:
            # Nearer the far end than the middle, away from the crowded centre.
            mx, my = a.x + (b.x - a.x) * 0.62, a.y + (b.y - a.y) * 0.62
            labels.append(
                f'<text x="{mx:.1f}" y="{my - 4:.1f}" font-size="{EDGE_SIZE}" '
                f'text-anchor="middle" fill="#374151" stroke="#ffffff" stroke-width="3" '
                f'paint-order="stroke">{escape(kinds)}</text>'
            )

    for node in nodes.values():
        if node is root:
            continue
        fill = NODE_FILL.get(node.kind, NODE_FILL["organization"])
        cos, sin = math.cos(node.angle), math.sin(node.angle)
        anchor = "start" if cos > 0.3 else "end" if cos < -0.3 else "middle"
        name_lines = wrap_name(node.label)
        gap = 20 if node.depth > 0 else 18
        tx = node.x + gap * cos
        ty = node.y + gap * sin + NAME_SIZE * 0.35
        if anchor == "middle":
            ty = node.y + 28 if sin > 0 else node.y - 24 - NAME_SIZE * 1.2 * (len(name_lines) - 1)
        elif sin < 0:
            ty -= NAME_SIZE * 1.2 * (len(name_lines) - 1)
        shape = (
            f'<rect x="{node.x - 13:.1f}" y="{node.y - 13:.1f}" width="26" height="26" '
            f'rx="3" fill="{fill}" stroke="#1f2937" stroke-width="1.5"/>'
            if node.kind == "group"
            else f'<circle cx="{node.x:.1f}" cy="{node.y:.1f}" r="{15 if node.depth > 0 else 12}" '
            f'fill="{fill}" stroke="#1f2937" stroke-width="1.5"/>'
        )
        shapes.append(
            f'<a href={quoteattr(node.href)} class="node kind-{node.kind}">{shape}'
            f"{_text(tx, ty, name_lines, NAME_SIZE, anchor)}</a>"
        )
        boxes.append(_text_box(tx, ty, name_lines, NAME_SIZE, anchor))
        boxes.append((node.x - 16, node.y - 16, node.x + 16, node.y + 16))

    root_lines = wrap_name(entity.name, WRAP + 6)
    shapes.append(
        f'<circle cx="0" cy="0" r="20" fill="#111827"/>'
        f"{_text(0, 46, root_lines, ROOT_SIZE, 'middle', bold=True)}"
    )
    boxes.append(_text_box(0, 46, root_lines, ROOT_SIZE, "middle"))
    boxes.append((-20, -20, 20, 20))
    if not nodes.keys() - {root.key}:
        empty = ["No ties recorded yet"]
        labels.append(
            f'<text x="0" y="-40" font-size="{NAME_SIZE}" text-anchor="middle" '
            f'fill="#4b5563">{escape(empty[0])}</text>'
        )
        boxes.append(_text_box(0, -40, empty, NAME_SIZE, "middle"))

    left = min(b[0] for b in boxes) - MARGIN
    top = min(b[1] for b in boxes) - MARGIN
    width = max(b[2] for b in boxes) + MARGIN - left
    height = max(b[3] for b in boxes) + MARGIN - top
    view = f"{left:.0f} {top:.0f} {math.ceil(width)} {math.ceil(height)}"
    title = f"Ties of {entity.name}"
    return "".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{view}" role="group" '
            f'aria-labelledby="tiemap-title" class="tiemap" data-viewbox="{view}">',
            f'<title id="tiemap-title">{escape(title)}</title>',
            f'<rect x="{left:.0f}" y="{top:.0f}" width="{math.ceil(width)}" '
            f'height="{math.ceil(height)}" fill="#fafaf9"/>',
            '<g class="viewport">',
            *lines,
            *labels,
            *shapes,
            "</g></svg>",
        ]
    )
