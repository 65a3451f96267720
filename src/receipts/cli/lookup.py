"""Names given on the command line, resolved to the records they mean.

A name that matches nothing, or more than one record, is an error with exit code 2.
"""

from __future__ import annotations

from typing import Any

from receipts.cli.errors import NameError_


def entity_named(name: str) -> Any:
    """The one entity a name, alias, identifier or slug given on the command line means."""
    from receipts.evidence.queries import NameAmbiguous, NameNotFound, resolve_entity

    try:
        return resolve_entity(name)
    except (NameNotFound, NameAmbiguous) as exc:
        raise NameError_(str(exc)) from exc


def campaign_by_slug(slug: str) -> Any:
    """The campaign of this slug, or an error naming the slug."""
    from receipts.campaigns.models import Campaign

    found = Campaign.objects.filter(slug=slug).first()
    if found is None:
        raise NameError_(f"no campaign has the slug {slug!r}")
    return found


def source_named(ref: str) -> Any:
    """The source of this id or exact title, or an error naming what was given."""
    from receipts.evidence.models import Source

    if ref.isdigit():
        found = Source.objects.filter(pk=int(ref)).first()
    else:
        matches = list(Source.objects.filter(title__iexact=ref)[:2])
        if len(matches) > 1:
            raise NameError_(f"source {ref!r} is ambiguous: give its id")
        found = matches[0] if matches else None
    if found is None:
        raise NameError_(f"no source matches {ref!r} (give its id or exact title)")
    return found
