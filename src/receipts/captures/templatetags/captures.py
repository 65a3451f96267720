"""Template tags that put captures and quote checks on the source and tie pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from receipts.evidence.models import Citation, Source

from ..models import Capture, SourceCheck
from ..queries import check_quote, text_diff

register = template.Library()


@register.inclusion_tag("captures/_source_captures.html", takes_context=True)
def source_captures(context: dict[str, Any], source: Source) -> dict[str, Any]:
    """A source's captures, newest first, each with the text diff from the one before it."""
    captures = list(Capture.objects.filter(source=source).order_by("-captured_at", "-id"))
    rows = []
    for index, capture in enumerate(captures):
        older = captures[index + 1] if index + 1 < len(captures) else None
        diff = text_diff(older, capture) if older is not None else []
        rows.append({"capture": capture, "older": older, "diff": diff})
    checks = list(SourceCheck.objects.filter(source=source)[:10])
    return {
        "source": source,
        "rows": rows,
        "checks": checks,
        "user": context.get("user"),
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def quote_status(context: dict[str, Any], citation: Citation) -> str:
    """Whether the citation's quote is in a capture of its source; nothing without either."""
    cache = context.render_context.setdefault("capture_texts", {})  # type: ignore[attr-defined]
    if not citation.quote:
        return ""
    if citation.source_id not in cache:
        cache[citation.source_id] = list(
            Capture.objects.filter(source_id=citation.source_id).only(
                "id", "captured_at", "text", "source_id"
            )
        )
    result = check_quote(citation.quote, cache[citation.source_id])
    if not result.checked:
        return ""
    if result.found_in is not None:
        return format_html(
            '<span class="quote-check found">quote found in the capture of {}</span>',
            f"{result.found_in.captured_at:%Y-%m-%d %H:%M} UTC",
        )
    return format_html(
        '<span class="quote-check missing">{}</span>', "quote not found in any capture"
    )
