"""The evidence graph: entities, the ties between them, and the sources behind them.

Invariant: every Tie has at least one Citation to a Source. Models do not
enforce it alone (a tie and its citation are two rows); every write goes
through ``services.record_tie``, which creates both in one transaction.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.urls import reverse

from . import vocabulary
from .dates import validate_partial_date

# The longest summary or quote kept: a few pages of text. Forms, the API, the
# command line and imports refuse a longer one alike (the services check it).
LONG_TEXT_MAX_LENGTH = 10_000


def _long_text(**kwargs: object) -> models.TextField:
    """A TextField that refuses more than LONG_TEXT_MAX_LENGTH characters on validation.

    A validator, not max_length: the column stays as it is, so the migration
    changes no table (SQLite would rebuild one for a new max_length).
    """
    return models.TextField(
        validators=[MaxLengthValidator(LONG_TEXT_MAX_LENGTH)],
        **kwargs,  # type: ignore[arg-type]
    )


def _new_ftm_id(prefix: str) -> str:
    return f"receipts-{prefix}-{uuid.uuid4().hex}"


def new_entity_ftm_id() -> str:
    return _new_ftm_id("entity")


def new_tie_ftm_id() -> str:
    return _new_ftm_id("tie")


def new_source_ftm_id() -> str:
    return _new_ftm_id("source")


EntityKind = models.TextChoices("EntityKind", vocabulary.ENTITY_KINDS)


class EntityQuerySet(models.QuerySet["Entity"]):
    def live(self) -> EntityQuerySet:
        """Entities that stand on their own: not merged into another."""
        return self.filter(merged_into__isnull=True)


def live_through(*relations: str) -> models.Q:
    """The condition that the entity each relation leads to is live, for querying
    another model: ``Tie.objects.filter(live_through("subject", "object"))``."""
    return models.Q(**{f"{relation}__merged_into__isnull": True for relation in relations})


class Entity(models.Model):
    """A company, agency, organisation or product that ties connect."""

    slug = models.SlugField(max_length=120, unique=True, help_text="Used in the entity's address.")
    kind = models.CharField(max_length=20, choices=EntityKind.choices)
    name = models.CharField(max_length=300)
    aliases = models.JSONField(
        default=list, blank=True, help_text="Other names: abbreviations, former names, spellings."
    )
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code.")
    summary = _long_text(blank=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_entities",
        help_text="Set when an editor merged this entity into another; undoing the merge clears it.",
    )
    search_text = models.TextField(
        blank=True,
        editable=False,
        help_text="Lower-cased names, aliases and identifiers, kept by the services for search.",
    )
    ftm_id = models.CharField(
        max_length=200,
        unique=True,
        default=new_entity_ftm_id,
        editable=False,
        verbose_name="FollowTheMoney id",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EntityQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "entities"
        ordering = ["name"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("entity", args=[self.slug])


class IdentifierScheme(models.TextChoices):
    UEI = "uei", "UEI (SAM.gov Unique Entity ID)"
    DUNS = "duns", "DUNS number"
    CAGE = "cage", "CAGE code"
    LEI = "lei", "LEI"
    CIK = "cik", "SEC CIK"
    TICKER = "ticker", "Stock ticker"
    ISIN = "isin", "ISIN"
    CUSIP = "cusip", "CUSIP"
    AGENCY_CODE = "agency_code", "US federal agency code"
    WEBSITE = "website", "Website"


class Identifier(models.Model):
    """A strong identifier of an entity. One value of a scheme names one entity."""

    entity = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="identifiers")
    scheme = models.CharField(max_length=20, choices=IdentifierScheme.choices)
    value = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scheme", "value"], name="identifier_unique_value")
        ]
        ordering = ["scheme", "value"]

    def __str__(self) -> str:
        return f"{self.get_scheme_display()}: {self.value}"


SourceKind = models.TextChoices("SourceKind", vocabulary.SOURCE_KINDS)


class Source(models.Model):
    """A document that backs claims: a record, a report, a statement."""

    kind = models.CharField(max_length=30, choices=SourceKind.choices)
    title = models.CharField(max_length=500)
    publisher = models.CharField(max_length=300, blank=True)
    url = models.URLField(max_length=2000, blank=True, verbose_name="URL")
    published = models.CharField(
        max_length=10,
        blank=True,
        validators=[validate_partial_date],
        help_text="Publication date: YYYY, YYYY-MM or YYYY-MM-DD.",
    )
    retrieved = models.CharField(
        max_length=10,
        blank=True,
        validators=[validate_partial_date],
        help_text="When the source was read or fetched.",
    )
    archive_sha256 = models.CharField(
        max_length=64,
        blank=True,
        verbose_name="archive SHA-256",
        help_text="Fingerprint of the archived copy, if one is stored.",
    )
    archive_media_type = models.CharField(max_length=100, blank=True)
    archive_filename = models.CharField(max_length=255, blank=True)
    archive_size = models.PositiveBigIntegerField(null=True, blank=True)
    ftm_id = models.CharField(
        max_length=200,
        unique=True,
        default=new_source_ftm_id,
        editable=False,
        verbose_name="FollowTheMoney id",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-published", "title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("source", args=[self.pk])


TieKind = models.TextChoices("TieKind", vocabulary.TIE_KINDS)


# Ties that build corporate families (owner -> asset) and agency trees
# (component -> parent). Rollups walk these and nothing else.
STRUCTURAL_KINDS = (TieKind.OWNS, TieKind.PART_OF)


TieStatus = models.TextChoices("TieStatus", vocabulary.TIE_STATUSES)


class Tie(models.Model):
    """A claim that two entities are connected, backed by one or more citations.

    Direction: ``owns`` goes owner -> asset, ``part_of`` component -> parent,
    ``member_of`` member -> organisation, ``contract`` supplier -> agency.
    """

    # No single-column indexes on the ends: the (subject, object) and (object,
    # subject) indexes below serve every lookup by one end and also answer
    # "ties between these two sets" from the index alone.
    subject = models.ForeignKey(
        Entity, on_delete=models.PROTECT, related_name="ties_out", db_index=False
    )
    object = models.ForeignKey(
        Entity, on_delete=models.PROTECT, related_name="ties_in", db_index=False
    )
    kind = models.CharField(max_length=20, choices=TieKind.choices)
    status = models.CharField(max_length=20, choices=TieStatus.choices, default=TieStatus.ACTIVE)
    start_date = models.CharField(
        max_length=10,
        blank=True,
        validators=[validate_partial_date],
        help_text="YYYY, YYYY-MM or YYYY-MM-DD.",
    )
    end_date = models.CharField(
        max_length=10,
        blank=True,
        validators=[validate_partial_date],
        help_text="YYYY, YYYY-MM or YYYY-MM-DD.",
    )
    amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    summary = _long_text(blank=True)
    ftm_id = models.CharField(
        max_length=200,
        unique=True,
        default=new_tie_ftm_id,
        editable=False,
        verbose_name="FollowTheMoney id",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["subject", "kind"]),
            models.Index(fields=["object", "kind"]),
            # A rollup to a tree asks for ties with one end among a family and the
            # other among the tree. Without statistics SQLite may walk every tie of
            # the larger side (a department's tens of thousands); with both ends in
            # one index it rejects those rows without reading the table.
            models.Index(fields=["subject", "object"]),
            models.Index(fields=["object", "subject"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(subject=models.F("object")), name="tie_not_to_itself"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} — {self.get_kind_display().lower()} — {self.object}"

    def get_absolute_url(self) -> str:
        return reverse("tie", args=[self.pk])


class Citation(models.Model):
    """A pointer from a claim (a tie or an entity fact) to the source behind it."""

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="citations")
    tie = models.ForeignKey(
        Tie, on_delete=models.CASCADE, related_name="citations", null=True, blank=True
    )
    entity = models.ForeignKey(
        Entity,
        on_delete=models.CASCADE,
        related_name="citations",
        null=True,
        blank=True,
        help_text="Set when the citation backs a fact about an entity rather than a tie.",
    )
    quote = _long_text(blank=True, help_text="The words in the source that back the claim.")
    locator = models.CharField(
        max_length=500, blank=True, help_text="Where in the source: page, paragraph, record key."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(tie__isnull=False) | models.Q(entity__isnull=False),
                name="citation_backs_something",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} ({self.locator or self.quote[:40]})"
