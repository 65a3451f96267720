"""Reads of screening profiles, saved or built in.

A screen runs against a ``ProfileSpec``: a saved ``ScreeningProfile`` or the
built-in default, which works without any profile row. The default profile
is "DHS immigration enforcement" (slug ``dhs``): the U.S. Department of
Homeland Security with its components (ICE, CBP…), every non-structural tie
kind, and the statuses active, alleged and announced. Ended ties do not flag:
a holding is screened on what a company does now, and its ended ties are
history, shown on its entity page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.urls import reverse

from receipts.evidence.models import (
    STRUCTURAL_KINDS,
    Entity,
    EntityKind,
    Identifier,
    IdentifierScheme,
    TieKind,
    TieStatus,
)
from receipts.evidence.queries import surviving_entity

from .models import ScreeningProfile

DEFAULT_SLUG = "dhs"
DEFAULT_NAME = "DHS immigration enforcement"
DEFAULT_DESCRIPTION = (
    "Ties to the U.S. Department of Homeland Security and its components (ICE, CBP and the "
    "rest), of every kind but ownership and part_of, that are active, alleged or announced. "
    "Ended ties do not flag."
)
# How the default profile finds DHS: its federal agency code (set by USAspending
# imports), else its name or the alias the demo gives it.
DEFAULT_AGENCY_CODE = "070"
DEFAULT_AGENCY_NAMES = ("U.S. Department of Homeland Security", "Department of Homeland Security")
# Tie kinds a profile may count: everything but the structure rollups walk.
DEALING_KINDS: tuple[str, ...] = tuple(k for k in TieKind.values if k not in STRUCTURAL_KINDS)
DEFAULT_KINDS: tuple[str, ...] = DEALING_KINDS
DEFAULT_STATUSES: tuple[str, ...] = (TieStatus.ACTIVE, TieStatus.ANNOUNCED, TieStatus.ALLEGED)


class ProfileNotFound(LookupError):
    """No saved profile has the slug, and it is not the built-in default."""


class ProfileWithoutAgencies(LookupError):
    """The profile names no agency recorded in this database: nothing could ever flag."""


@dataclass(frozen=True)
class ProfileSpec:
    """What a screen counts: agencies (components included), tie kinds and statuses."""

    name: str
    slug: str
    agencies: tuple[Entity, ...]
    kinds: tuple[str, ...]
    statuses: tuple[str, ...]
    description: str = ""
    saved: bool = False
    listed: bool = True
    profile: ScreeningProfile | None = field(default=None, compare=False)

    @property
    def url(self) -> str:
        return reverse("screening-profile", args=[self.slug])

    @property
    def kind_labels(self) -> list[str]:
        """The kinds as people read them: "data sharing", "other dealings"."""
        return [TieKind(k).label.lower() for k in self.kinds]

    @property
    def ended_ties_flag(self) -> bool:
        return TieStatus.ENDED in self.statuses

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "slug": self.slug,
            "url": self.url,
            "saved": self.saved,
            "agencies": [{"name": a.name, "slug": a.slug} for a in self.agencies],
            "components_included": True,
            "kinds": list(self.kinds),
            "statuses": list(self.statuses),
            "ended_ties_flag": self.ended_ties_flag,
        }


def default_agencies() -> list[Entity]:
    """The entities the default profile means by DHS: by agency code, else by name."""
    by_code = Identifier.objects.filter(
        scheme=IdentifierScheme.AGENCY_CODE, value=DEFAULT_AGENCY_CODE
    ).values("entity_id")
    named = Q()
    for name in DEFAULT_AGENCY_NAMES:
        named |= Q(search_text__contains=f"\n{' '.join(name.lower().split())}\n")
    found = Entity.objects.filter(Q(pk__in=by_code) | named, kind=EntityKind.AGENCY)
    survivors: dict[int, Entity] = {}
    for entity in found.order_by("pk"):
        survivor = surviving_entity(entity)
        survivors.setdefault(survivor.pk, survivor)
    return list(survivors.values())


def _spec(profile: ScreeningProfile) -> ProfileSpec:
    agencies = {
        survivor.pk: survivor
        for survivor in (surviving_entity(a) for a in profile.agencies.order_by("name"))
    }
    return ProfileSpec(
        name=profile.name,
        slug=profile.slug,
        agencies=tuple(agencies.values()),
        kinds=tuple(profile.tie_kinds),
        statuses=tuple(profile.statuses),
        description=profile.description,
        saved=True,
        listed=profile.listed,
        profile=profile,
    )


def builtin_default() -> ProfileSpec:
    """The default profile as code, for a database with no profile row."""
    return ProfileSpec(
        name=DEFAULT_NAME,
        slug=DEFAULT_SLUG,
        agencies=tuple(default_agencies()),
        kinds=DEFAULT_KINDS,
        statuses=DEFAULT_STATUSES,
        description=DEFAULT_DESCRIPTION,
    )


def profile_spec(slug: str | None = None) -> ProfileSpec:
    """The profile to screen with: the saved one of this slug, else the built-in default.

    Without a slug, the saved ``dhs`` profile or the built-in default. Raises
    ProfileNotFound for another unknown slug and ProfileWithoutAgencies when
    none of the profile's agencies is recorded.
    """
    wanted = slug or DEFAULT_SLUG
    saved = ScreeningProfile.objects.filter(slug=wanted).first()
    if saved is not None:
        spec = _spec(saved)
    elif wanted == DEFAULT_SLUG:
        spec = builtin_default()
    else:
        known = sorted({DEFAULT_SLUG, *ScreeningProfile.objects.values_list("slug", flat=True)})
        raise ProfileNotFound(f"no screening profile {wanted!r}; profiles: {', '.join(known)}")
    if not spec.agencies:
        if saved is None:
            raise ProfileWithoutAgencies(
                f"profile {spec.slug!r} screens for the U.S. Department of Homeland Security, "
                "which is not recorded here: load the demo (receipts demo --no-serve) or import "
                "USAspending data first"
            )
        raise ProfileWithoutAgencies(f"profile {spec.slug!r} names no agency")
    return spec


def listed_profiles(extra: str | None = None) -> list[tuple[str, str]]:
    """(slug, name) of the profiles offered on the screening page, the default first.

    ``extra`` adds an unlisted profile asked for by its address.
    """
    rows: QuerySet[ScreeningProfile] = ScreeningProfile.objects.filter(
        Q(listed=True) | Q(slug=extra or "")
    )
    found = dict(rows.values_list("slug", "name"))
    default_name = found.pop(DEFAULT_SLUG, DEFAULT_NAME)
    return [(DEFAULT_SLUG, default_name), *sorted(found.items(), key=lambda kv: kv[1].lower())]


def can_change(profile: ScreeningProfile, user: object) -> bool:
    """Its creator and superusers may change a profile."""
    if not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    return profile.created_by_id is not None and profile.created_by_id == getattr(user, "pk", None)
