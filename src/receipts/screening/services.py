"""Writes of screening: profiles, the one place a profile's rules are checked, and the
count of anonymous screenings per client.

A profile names at least one agency (live, not merged away), at least one
tie kind among the non-structural ones, and at least one status. Messages
start with the field they concern ("agencies: ..."), as the evidence services'
do, so forms can put them beside the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from receipts.evidence.models import Entity, EntityKind, TieStatus
from receipts.evidence.services import EvidenceError
from receipts.outreach.ratelimit import take_place

from .models import ScreeningProfile
from .queries import (
    DEALING_KINDS,
    DEFAULT_DESCRIPTION,
    DEFAULT_KINDS,
    DEFAULT_NAME,
    DEFAULT_SLUG,
    DEFAULT_STATUSES,
    default_agencies,
)


class ProfileError(EvidenceError):
    """A profile that breaks a rule, keyed by the field it concerns."""


def _choices(values: Iterable[str], allowed: Sequence[str], field: str) -> list[str]:
    chosen = list(dict.fromkeys(str(v) for v in values))
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise ProfileError(field, f"{', '.join(map(repr, unknown))} not among {', '.join(allowed)}")
    if not chosen:
        raise ProfileError(field, "choose at least one")
    # Stored in the order of the choices, so equal profiles store equal lists.
    return [v for v in allowed if v in chosen]


@dataclass(frozen=True)
class CheckedProfile:
    """A profile's fields as they will be stored."""

    name: str
    slug: str
    tie_kinds: list[str]
    statuses: list[str]


def check_profile(
    *,
    name: str,
    agencies: Sequence[Entity],
    tie_kinds: Iterable[str],
    statuses: Iterable[str],
    slug: str | None = None,
    profile: ScreeningProfile | None = None,
) -> CheckedProfile:
    """Refuse a profile that breaks a rule; return its fields as they will be stored.

    Without a slug a new profile gets one made from its name (made unique);
    a slug given must not be another profile's.
    """
    name = " ".join(str(name).split())
    if not name:
        raise ProfileError("name", "a profile needs a name")
    if not agencies:
        raise ProfileError("agencies", "name at least one agency")
    for agency in agencies:
        if agency.kind != EntityKind.AGENCY:
            raise ProfileError("agencies", f"{agency.name} is a {agency.kind}, not an agency")
        if agency.merged_into_id is not None:
            raise ProfileError("agencies", f"{agency.name} was merged into another entity")
    kinds = _choices(tie_kinds, DEALING_KINDS, "tie_kinds")
    chosen_statuses = _choices(statuses, TieStatus.values, "statuses")
    pk = profile.pk if profile is not None else None
    current = profile.slug if profile is not None else ""
    wanted = slugify(slug or "") or current or slugify(name)[:70] or "profile"
    taken = ScreeningProfile.objects.exclude(pk=pk)
    if not slug and pk is None:
        base, n = wanted, 2
        while taken.filter(slug=wanted).exists():
            wanted = f"{base}-{n}"
            n += 1
    elif taken.filter(slug=wanted).exists():
        raise ProfileError("slug", f"{wanted!r} is already used by another profile")
    return CheckedProfile(name, wanted, kinds, chosen_statuses)


@transaction.atomic
def save_profile(
    *,
    name: str,
    agencies: Sequence[Entity],
    tie_kinds: Iterable[str],
    statuses: Iterable[str],
    slug: str | None = None,
    description: str = "",
    listed: bool = True,
    created_by: Any = None,
    profile: ScreeningProfile | None = None,
) -> ScreeningProfile:
    """Create a profile, or change ``profile``, after ``check_profile``."""
    checked = check_profile(
        name=name,
        agencies=agencies,
        tie_kinds=tie_kinds,
        statuses=statuses,
        slug=slug,
        profile=profile,
    )
    if profile is None:
        profile = ScreeningProfile(created_by=created_by)
    profile.slug = checked.slug
    profile.name = checked.name
    profile.description = description.strip()
    profile.tie_kinds = checked.tie_kinds
    profile.statuses = checked.statuses
    profile.listed = listed
    profile.save()
    profile.agencies.set(list(agencies))
    return profile


def ensure_default_profile() -> ScreeningProfile | None:
    """Save the default profile (slug ``dhs``) with its default rules; None without DHS.

    Saving again puts back the default name, agencies, kinds and statuses,
    so loading the demo twice leaves one profile as the demo defines it.
    """
    agencies = default_agencies()
    if not agencies:
        return None
    return save_profile(
        name=DEFAULT_NAME,
        slug=DEFAULT_SLUG,
        agencies=agencies,
        tie_kinds=DEFAULT_KINDS,
        statuses=DEFAULT_STATUSES,
        description=DEFAULT_DESCRIPTION,
        listed=True,
        profile=ScreeningProfile.objects.filter(slug=DEFAULT_SLUG).first(),
    )


class ScreeningThrottled(Exception):
    """Too many anonymous screenings from one client; nothing was screened."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many screenings from this connection; try again in {retry_after} s")
        self.retry_after = retry_after


@transaction.atomic
def take_anonymous_screening(client_key: str, now: datetime | None = None) -> None:
    """Count one anonymous screening for the client, or raise ``ScreeningThrottled``.

    The counts live in the rate-limit buckets the sign-up forms use
    (``receipts.outreach.ratelimit``), so they hold across server processes.
    """
    wait = take_place(
        client_key,
        "screen",
        settings.SCREEN_RATE_PER_MINUTE,
        settings.SCREEN_RATE_PER_DAY,
        now or timezone.now(),
    )
    if wait is not None:
        raise ScreeningThrottled(wait)
