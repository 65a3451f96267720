"""Finding what an editor is about to enter twice, and sources by a few words.

A tie duplicates another when it joins the same subject and object with the
same kind and the same dates; a source duplicates another when it has the
same address (scheme, ``www.`` and a trailing slash aside) or the same title
(case and spacing aside). Editors are shown these before saving, never
stopped by them: two contracts can share every field a form asks for.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.db.models import Q

from .models import Entity, Source, Tie

SEARCH_LIMIT = 20


def duplicate_ties(
    subject: Entity,
    object: Entity,  # noqa: A002 - the domain's word for the other end of a tie
    kind: str,
    start_date: str,
    end_date: str,
    *,
    exclude_pk: int | None = None,
) -> list[Tie]:
    """Ties that say the same as the one described: same ends, kind and dates."""
    ties = Tie.objects.filter(
        subject=subject,
        object=object,
        kind=kind,
        start_date=start_date or "",
        end_date=end_date or "",
    ).select_related("subject", "object")
    if exclude_pk is not None:
        ties = ties.exclude(pk=exclude_pk)
    return list(ties.order_by("pk")[:10])


def url_key(url: str) -> str:
    """An address as compared for duplicates: no scheme, no ``www.``, no trailing slash."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{path}{query}"


def _title_key(title: str) -> str:
    return re.sub(r"\s+", " ", title).strip().casefold()


def duplicate_sources(title: str, url: str, *, exclude_pk: int | None = None) -> list[Source]:
    """Sources with the same address or the same title as the one described."""
    found: dict[int, Source] = {}
    wanted_title = _title_key(title)
    if wanted_title:
        first_word = wanted_title.split(" ")[0]
        for source in Source.objects.filter(title__icontains=first_word).order_by("pk")[:500]:
            if _title_key(source.title) == wanted_title:
                found[source.pk] = source
    wanted_url = url_key(url) if url else ""
    if wanted_url:
        host_and_path = wanted_url.split("?")[0]
        for source in Source.objects.filter(url__icontains=host_and_path).order_by("pk")[:500]:
            if url_key(source.url) == wanted_url:
                found[source.pk] = source
    found.pop(exclude_pk, None)  # type: ignore[arg-type]
    return sorted(found.values(), key=lambda s: s.pk)[:10]


def search_sources(text: str, limit: int = SEARCH_LIMIT) -> list[Source]:
    """Sources whose title, publisher or address hold every word typed, or the one numbered."""
    text = text.strip()[:200]
    if not text:
        return []
    number = re.fullmatch(r"#?(\d+)(?::.*)?", text, flags=re.DOTALL)
    if number:
        by_pk = list(Source.objects.filter(pk=int(number.group(1))))
        if by_pk:
            return by_pk
    query = Q()
    for word in text.split()[:8]:
        query &= Q(title__icontains=word) | Q(publisher__icontains=word) | Q(url__icontains=word)
    return list(Source.objects.filter(query).order_by("title", "pk")[:limit])


def source_choice_label(source: Source) -> str:
    """How a source reads in the search field: its number first, so the choice is exact."""
    details = ", ".join(p for p in (source.publisher, source.published) if p)
    return f"{source.pk}: {source.title}" + (f" ({details})" if details else "")
