"""Every write to the evidence graph goes through these functions.

They are the one place the invariants are enforced, whatever the path in
(web form, admin, API, CLI, importer): a tie is saved only together with at
least one citation, ownership and part_of ties never form a cycle, partial
dates stay partial, and an identifier names one entity.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from receipts.private_files import open_private, private_dir
from receipts.refusals import Refusal

from . import bulk, signals
from .dates import parse_partial_date
from .models import (
    STRUCTURAL_KINDS,
    Citation,
    Entity,
    EntityKind,
    Identifier,
    IdentifierScheme,
    Source,
    SourceKind,
    Tie,
    TieKind,
    TieStatus,
)


class EvidenceError(Refusal):
    """A write that would break an invariant, keyed by the field it concerns."""


# Text no database here holds alike: PostgreSQL stores neither a NUL character nor
# a lone surrogate (SQLite would), so every write path refuses both on both.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_PROBLEM = "may not hold a NUL character or a lone surrogate"
# The largest value a BigIntegerField holds on every supported database.
MAX_BIG_INTEGER = 2**63 - 1


def _check_model(instance: models.Model) -> None:
    """Refuse what the model refuses (lengths, choices, partial dates) and unstorable text.

    Forms and the API check the same before they call a service; the command
    line and importers reach the services directly, so the services check
    again, for every path in. Related rows and uniqueness are checked by the
    callers (they come from the database, or are looked up by name), so this
    asks the database nothing.
    """
    problems: dict[str, list[str]] = {}
    for field in instance._meta.concrete_fields:
        value = getattr(instance, field.attname)
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and UNSTORABLE.search(text) for text in texts):
            problems[field.name] = [UNSTORABLE_PROBLEM]
    related = [f.name for f in instance._meta.concrete_fields if f.is_relation]
    try:
        instance.full_clean(exclude=related, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            problems.setdefault(name, messages)
    if problems:
        raise EvidenceError(problems)


def _check_text(value: str, field: str, max_length: int | None) -> str:
    if UNSTORABLE.search(value):
        raise EvidenceError(field, f"{UNSTORABLE_PROBLEM}")
    if max_length is not None and len(value) > max_length:
        raise EvidenceError(
            field, f"{len(value):,} characters where at most {max_length:,} are kept"
        )
    return value


@dataclass(frozen=True)
class CitationInput:
    """What a new citation needs: the source and, ideally, the words that back the claim."""

    source: Source
    quote: str = ""
    locator: str = ""


@functools.cache
def _choice_values(choices: type) -> frozenset[str]:
    return frozenset(choices.values)  # type: ignore[attr-defined]


def _check_choice(value: str, choices: type, field: str) -> str:
    if value not in _choice_values(choices):
        allowed = ", ".join(choices.values)
        raise EvidenceError(field, f"{value!r} is not one of {allowed}")
    return value


def normalise_identifier(scheme: str, value: str) -> str:
    """Canonical form of an identifier value, so one company has one UEI row."""
    text = _check_text(
        str(value).strip(), "identifier", Identifier._meta.get_field("value").max_length
    )
    if scheme == IdentifierScheme.DUNS:
        digits = re.sub(r"\D", "", text)
        if not digits:
            raise EvidenceError("identifier", f"DUNS {value!r} has no digits")
        # USAspending drops leading zeros from DUNS; they are 9 digits.
        return digits.zfill(9)
    if scheme in (
        IdentifierScheme.UEI,
        IdentifierScheme.CAGE,
        IdentifierScheme.LEI,
        IdentifierScheme.TICKER,
        IdentifierScheme.ISIN,
        IdentifierScheme.CUSIP,
    ):
        return text.upper()
    if scheme == IdentifierScheme.CIK:
        return text.lstrip("0") or "0"
    return text


def entity_search_text(entity: Entity) -> str:
    """Newline-framed, lower-cased names, aliases, slug and identifiers.

    Framing each term with newlines lets one LIKE query find exact terms
    (``%\\namazon\\n%``) as well as partial ones, on SQLite and PostgreSQL.
    """
    terms = [entity.name, entity.slug, *entity.aliases]
    if entity.pk is not None:
        terms.extend(entity.identifiers.values_list("value", flat=True))
    seen: list[str] = []
    for term in terms:
        t = " ".join(str(term).lower().split())
        if t and t not in seen:
            seen.append(t)
    return "\n" + "\n".join(seen) + "\n"


def _unique_slug(name: str, exclude_pk: int | None = None) -> str:
    base = slugify(name)[:100] or "entity"
    slug = base
    n = 2
    while Entity.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


def clean_aliases(name: str, aliases: Iterable[str]) -> list[str]:
    longest = Entity._meta.get_field("name").max_length
    out: list[str] = []
    for alias in aliases:
        a = _check_text(" ".join(str(alias).split()), "aliases", longest)
        if a and a != name and a not in out:
            out.append(a)
    return out


@transaction.atomic
def save_entity(
    *,
    name: str,
    kind: str,
    aliases: Iterable[str] = (),
    identifiers: Mapping[str, str | Sequence[str]] | None = None,
    country: str = "",
    summary: str = "",
    slug: str | None = None,
    ftm_id: str | None = None,
    entity: Entity | None = None,
) -> Entity:
    """Create an entity, or update it when ``entity`` or a known ``ftm_id`` is given.

    Saving the same ``ftm_id`` twice updates one row: imports and the demo are
    idempotent through it. Identifiers already held by another entity are
    refused rather than silently moved (merges are an editor's decision).
    """
    name = " ".join(str(name).split())
    if not name:
        raise EvidenceError("name", "an entity needs a name")
    _check_choice(kind, EntityKind, "kind")
    country = country.strip().lower()
    if country and not re.fullmatch(r"[a-z]{2}", country):
        raise EvidenceError("country", f"{country!r} is not a two-letter ISO code")
    if entity is None and ftm_id:
        entity = Entity.objects.filter(ftm_id=ftm_id).first()
    if entity is None:
        entity = Entity(ftm_id=ftm_id) if ftm_id else Entity()
    entity.name = name
    entity.kind = kind
    entity.aliases = clean_aliases(name, aliases)
    entity.country = country
    entity.summary = summary.strip()
    if slug:
        slug = slugify(slug)[:120]
        if not slug:
            raise EvidenceError("slug", "use letters, digits and hyphens")
        if Entity.objects.filter(slug=slug).exclude(pk=entity.pk).exists():
            raise EvidenceError("slug", f"{slug!r} is already used by another entity")
        entity.slug = slug
    elif not entity.slug:
        entity.slug = _unique_slug(name, exclude_pk=entity.pk)
    entity.search_text = entity_search_text(entity)
    _check_model(entity)
    entity.save()
    if identifiers is not None:
        set_identifiers(entity, identifiers)
    return entity


@transaction.atomic
def set_identifiers(entity: Entity, identifiers: Mapping[str, str | Sequence[str]]) -> None:
    """Make the entity's identifiers of the given schemes exactly these values."""
    for scheme, values in identifiers.items():
        _check_choice(scheme, IdentifierScheme, "identifier scheme")
        if isinstance(values, str):
            values = [values]
        wanted = {normalise_identifier(scheme, v) for v in values if str(v).strip()}
        for value in wanted:
            holder = (
                Identifier.objects.filter(scheme=scheme, value=value)
                .exclude(entity=entity)
                .select_related("entity")
                .first()
            )
            if holder is not None:
                raise EvidenceError(
                    "identifier",
                    f"{scheme} {value} already belongs to {holder.entity.name} "
                    f"({holder.entity.slug})",
                )
        entity.identifiers.filter(scheme=scheme).exclude(value__in=wanted).delete()
        existing = set(entity.identifiers.filter(scheme=scheme).values_list("value", flat=True))
        Identifier.objects.bulk_create(
            [Identifier(entity=entity, scheme=scheme, value=v) for v in sorted(wanted - existing)]
        )
    entity.search_text = entity_search_text(entity)
    entity.save(update_fields=["search_text", "updated_at"])


@transaction.atomic
def add_identifier(entity: Entity, scheme: str, value: str) -> Identifier:
    _check_choice(scheme, IdentifierScheme, "identifier scheme")
    value = normalise_identifier(scheme, value)
    holder = Identifier.objects.filter(scheme=scheme, value=value).select_related("entity").first()
    if holder is not None:
        if holder.entity_id == entity.pk:
            return holder
        raise EvidenceError(
            "identifier",
            f"{scheme} {value} already belongs to {holder.entity.name} ({holder.entity.slug})",
        )
    identifier = Identifier.objects.create(entity=entity, scheme=scheme, value=value)
    entity.search_text = entity_search_text(entity)
    entity.save(update_fields=["search_text", "updated_at"])
    return identifier


@transaction.atomic
def save_source(
    *,
    kind: str,
    title: str,
    publisher: str = "",
    url: str = "",
    published: str | None = "",
    retrieved: str | None = "",
    ftm_id: str | None = None,
    source: Source | None = None,
) -> Source:
    """Create a source, or update it when ``source`` or a known ``ftm_id`` is given."""
    title = " ".join(str(title).split())
    if not title:
        raise EvidenceError("title", "a source needs a title")
    _check_choice(kind, SourceKind, "kind")
    if source is None and ftm_id:
        source = Source.objects.filter(ftm_id=ftm_id).first()
    if source is None:
        source = Source(ftm_id=ftm_id) if ftm_id else Source()
    source.kind = kind
    source.title = title
    source.publisher = publisher.strip()
    source.url = url.strip()
    source.published = parse_partial_date(published, "published")
    source.retrieved = parse_partial_date(retrieved, "retrieved")
    _check_model(source)
    source.save()
    return source


def archive_path(sha256: str) -> Path:
    """Where the archived copy with this fingerprint lives (content-addressed)."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise EvidenceError("archive", f"{sha256!r} is not a SHA-256 hex digest")
    return Path(settings.ARCHIVE_DIR) / sha256[:2] / sha256[2:4] / sha256


ARCHIVE_MEDIA_TYPES = {
    "application/pdf": ".pdf",
    "text/html": ".html",
    "text/csv": ".csv",
    "text/plain": ".txt",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
}


def sniff_media_type(head: bytes, filename: str) -> str:
    """The media type of an archived file, from its first bytes, then its name.

    Served copies keep this type with ``nosniff``, so a file claimed to be an
    image cannot be served as HTML.
    """
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    lowered = head[:1024].lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or filename.lower().endswith(
        (".html", ".htm")
    ):
        return "text/html"
    if filename.lower().endswith(".csv"):
        return "text/csv"
    if filename.lower().endswith(".txt"):
        return "text/plain"
    raise EvidenceError(
        "archive", f"{filename!r} is not a PDF, HTML page, image (PNG, JPEG, GIF, WebP) or CSV file"
    )


def attach_archive(source: Source, stream: IO[bytes], filename: str) -> Source:
    """Store the file behind a source under its SHA-256 and record the fingerprint.

    The file is written to a temporary name and renamed into place, so a
    crash never leaves a half-written copy under a valid fingerprint.
    """
    limit = settings.ARCHIVE_MAX_BYTES
    archive_dir = private_dir(Path(settings.ARCHIVE_DIR))
    digest = hashlib.sha256()
    size = 0
    head = b""
    tmp = archive_dir / f".incoming-{source.pk}-{id(stream)}"
    try:
        with open_private(tmp, "wb") as out:
            while chunk := stream.read(1024 * 1024):
                if len(head) < 2048:
                    head += chunk[: 2048 - len(head)]
                size += len(chunk)
                if size > limit:
                    raise EvidenceError(
                        "archive", f"{filename!r} is larger than the limit of {limit} bytes"
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise EvidenceError("archive", f"{filename!r} is empty")
        media_type = sniff_media_type(head, filename)
        sha = digest.hexdigest()
        final = archive_path(sha)
        private_dir(final.parent)
        if final.exists():
            tmp.unlink()
        else:
            tmp.replace(final)
    finally:
        if tmp.exists():
            tmp.unlink()
    source.archive_sha256 = sha
    source.archive_media_type = media_type
    source.archive_filename = Path(filename).name[:255]
    source.archive_size = size
    source.save(
        update_fields=["archive_sha256", "archive_media_type", "archive_filename", "archive_size"]
    )
    return source


def record_archive_fingerprint(
    source: Source, *, sha256: str, media_type: str, filename: str = "", size: int | None = None
) -> Source:
    """Record the fingerprint of an archived copy without reading it, as imports do.

    The copy itself may live in another archive; ``receipts check`` reports it
    as missing here until it is attached. The media type must be one that is
    served safely, as for ``attach_archive``.
    """
    sha256 = sha256.strip().lower()
    archive_path(sha256)  # refuses anything but a SHA-256 hex digest
    if media_type not in ARCHIVE_MEDIA_TYPES:
        allowed = ", ".join(ARCHIVE_MEDIA_TYPES)
        raise EvidenceError("archive", f"media type {media_type!r} is not one of {allowed}")
    if size is not None and size < 0:
        raise EvidenceError("archive", f"size {size} is negative")
    if size is not None and size > MAX_BIG_INTEGER:
        raise EvidenceError("archive", f"size {size} is more than {MAX_BIG_INTEGER} bytes")
    source.archive_sha256 = sha256
    source.archive_media_type = media_type
    source.archive_filename = Path(filename).name[:255] if filename else ""
    source.archive_size = size
    source.save(
        update_fields=["archive_sha256", "archive_media_type", "archive_filename", "archive_size"]
    )
    return source


def _structural_edge(subject: Entity, obj: Entity, kind: str) -> tuple[int, int] | None:
    """(parent, child) for a tie that builds a family or tree, else None."""
    if kind == TieKind.OWNS:
        return subject.pk, obj.pk
    if kind == TieKind.PART_OF:
        return obj.pk, subject.pk
    return None


def _would_cycle(parent_id: int, child_id: int, ignore_tie: int | None = None) -> bool:
    """True when ``parent`` already sits below ``child`` in families or trees."""
    from .queries import descendant_ids

    return parent_id in descendant_ids(child_id, ignore_tie=ignore_tie)


def _parse_amount(amount: Any) -> Decimal | None:
    if amount is None or amount == "":
        return None
    try:
        value = Decimal(str(amount))
    except InvalidOperation as exc:
        raise EvidenceError("amount", f"{amount!r} is not a number") from exc
    if not value.is_finite():
        raise EvidenceError("amount", f"{amount!r} is not a finite number")
    return value


def validate_tie(
    subject: Entity,
    object: Entity,  # noqa: A002
    kind: str,
    *,
    status: str,
    start_date: str | None = "",
    end_date: str | None = "",
    amount: Any = None,
    currency: str = "",
    tie: Tie | None = None,
    has_citation: bool,
) -> None:
    """Raise EvidenceError if these values may not be saved as (or onto) ``tie``.

    Forms call it to show a refusal next to the field before saving; the
    saving functions run the same checks again inside their transaction.
    """
    start = parse_partial_date(start_date, "start_date")
    end = parse_partial_date(end_date, "end_date")
    if tie is None and not has_citation:
        raise EvidenceError(
            "citation",
            f"the tie {subject.name} — {kind} — {object.name} has no citation; "
            "every tie needs a source",
        )
    if tie is not None and (status != tie.status or end != tie.end_date) and not has_citation:
        raise EvidenceError(
            "citation",
            "changing a tie's status or end date needs a citation to the source that reports it",
        )
    _validate_tie_fields(
        subject,
        object,
        kind,
        status,
        start,
        end,
        (currency or "").strip().upper(),
        _parse_amount(amount),
        tie.pk if tie is not None else None,
    )


def _validate_tie_fields(
    subject: Entity,
    obj: Entity,
    kind: str,
    status: str,
    start_date: str,
    end_date: str,
    currency: str,
    amount: Decimal | None,
    ignore_tie: int | None,
) -> None:
    _check_choice(kind, TieKind, "kind")
    _check_choice(status, TieStatus, "status")
    if subject.pk == obj.pk:
        raise EvidenceError("object", f"a tie cannot connect {subject.name} to itself")
    if start_date and end_date and end_date < start_date[: len(end_date)]:
        raise EvidenceError("end_date", f"{end_date} is before start_date {start_date}")
    if currency and not re.fullmatch(r"[A-Z]{3}", currency):
        raise EvidenceError("currency", f"{currency!r} is not a three-letter ISO code")
    if amount is not None and not currency:
        raise EvidenceError("currency", "an amount needs a currency")
    edge = _structural_edge(subject, obj, kind)
    if edge is not None and _would_cycle(*edge, ignore_tie=ignore_tie):
        raise EvidenceError(
            "kind",
            f"{subject.name} {kind} {obj.name} would make a cycle in ownership or part_of ties",
        )


@transaction.atomic
def record_tie(
    subject: Entity,
    object: Entity,  # noqa: A002 - the domain's word for the other end of a tie
    kind: str,
    *,
    citations: Sequence[CitationInput],
    status: str = TieStatus.ACTIVE,
    start_date: str | None = "",
    end_date: str | None = "",
    amount: Any = None,
    currency: str = "",
    summary: str = "",
    ftm_id: str | None = None,
    created_by: Any = None,
) -> Tie:
    """Save a new tie together with its citations; refuse a tie without one.

    With a known ``ftm_id`` the existing tie is updated instead, and citations
    not yet on it are added: re-running an import adds nothing twice.
    """
    if not citations:
        raise EvidenceError(
            "citation",
            f"the tie {subject.name} — {kind} — {object.name} has no citation; "
            "every tie needs a source",
        )
    for c in citations:
        if c.source is None or c.source.pk is None:
            raise EvidenceError("citation", "the cited source does not exist")
    start = parse_partial_date(start_date, "start_date")
    end = parse_partial_date(end_date, "end_date")
    value = _parse_amount(amount)
    currency = (currency or "").strip().upper()
    existing = Tie.objects.filter(ftm_id=ftm_id).first() if ftm_id else None
    _validate_tie_fields(
        subject,
        object,
        kind,
        status,
        start,
        end,
        currency,
        value,
        existing.pk if existing else None,
    )
    was_status = existing.status if existing else None
    tie = existing or (Tie(ftm_id=ftm_id) if ftm_id else Tie())
    tie.subject = subject
    tie.object = object
    tie.kind = kind
    tie.status = status
    tie.start_date = start
    tie.end_date = end
    tie.amount = value
    tie.currency = currency
    tie.summary = summary.strip()
    _check_model(tie)
    tie.save()
    cited = [_add_citation(tie, c, created_by) for c in citations]
    # Change events (receipts.watch): a new tie, or a known one that ended.
    ended = was_status is not None and was_status != TieStatus.ENDED and status == TieStatus.ENDED
    if existing is None or ended:
        signals.ties_changed.send(
            sender=Tie,
            added=[tie.pk] if existing is None else [],
            ended=[tie.pk] if ended else [],
            citations={tie.pk: cited[-1].pk if ended else cited[0].pk},
        )
    return tie


def _add_citation(tie: Tie, c: CitationInput, created_by: Any = None) -> Citation:
    found = Citation.objects.filter(
        tie=tie, source=c.source, quote=c.quote.strip(), locator=c.locator.strip()
    ).first()
    if found is not None:
        return found
    citation = Citation(
        tie=tie,
        source=c.source,
        quote=c.quote.strip(),
        locator=c.locator.strip(),
        created_by=created_by if getattr(created_by, "pk", None) else None,
    )
    _check_model(citation)
    citation.save()
    return citation


@transaction.atomic
def update_tie(
    tie: Tie,
    *,
    citation: CitationInput | None = None,
    created_by: Any = None,
    **changes: Any,
) -> Tie:
    """Change a tie's fields; ending a tie or changing its status needs a citation.

    The reason: "this tie ended" is itself a claim, and a demand can be marked
    met on the strength of it.
    """
    allowed = {
        "subject",
        "object",
        "kind",
        "status",
        "start_date",
        "end_date",
        "amount",
        "currency",
        "summary",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise EvidenceError(sorted(unknown)[0], "not a field of a tie")
    subject = changes.get("subject", tie.subject)
    obj = changes.get("object", tie.object)
    kind = changes.get("kind", tie.kind)
    status = changes.get("status", tie.status)
    start = parse_partial_date(changes.get("start_date", tie.start_date), "start_date")
    end = parse_partial_date(changes.get("end_date", tie.end_date), "end_date")
    value = _parse_amount(changes.get("amount", tie.amount))
    currency = (changes.get("currency", tie.currency) or "").strip().upper()
    if (status != tie.status or end != tie.end_date) and citation is None:
        raise EvidenceError(
            "citation",
            "changing a tie's status or end date needs a citation to the source that reports it",
        )
    _validate_tie_fields(subject, obj, kind, status, start, end, currency, value, tie.pk)
    was_status = tie.status
    tie.subject, tie.object, tie.kind, tie.status = subject, obj, kind, status
    tie.start_date, tie.end_date, tie.amount, tie.currency = start, end, value, currency
    tie.summary = str(changes.get("summary", tie.summary)).strip()
    _check_model(tie)
    tie.save()
    cited = _add_citation(tie, citation, created_by) if citation is not None else None
    if was_status != TieStatus.ENDED and status == TieStatus.ENDED:
        # Change event (receipts.watch), with the citation that reports the end.
        signals.ties_changed.send(
            sender=Tie,
            added=[],
            ended=[tie.pk],
            citations={tie.pk: cited.pk} if cited is not None else {},
        )
    return tie


def end_tie(
    tie: Tie, *, citation: CitationInput, end_date: str = "", created_by: Any = None
) -> Tie:
    """Mark a tie as ended, on the strength of a cited source."""
    return update_tie(
        tie,
        status=TieStatus.ENDED,
        end_date=end_date or tie.end_date,
        citation=citation,
        created_by=created_by,
    )


@transaction.atomic
def cite_tie(tie: Tie, citation: CitationInput, created_by: Any = None) -> Citation:
    """Add one more citation to an existing tie."""
    return _add_citation(tie, citation, created_by)


@transaction.atomic
def cite_tie_bulk(tie: Tie, items: Sequence[tuple[int, str, str]]) -> int:
    """Add many citations at once as (source id, quote, locator); returns how many were new.

    For importers citing thousands of records: one query for what exists,
    one bulk insert for the rest.
    """
    existing = set(tie.citations.values_list("source_id", "quote", "locator"))
    fresh: list[Citation] = []
    for source_id, quote, locator in items:
        key = (source_id, quote.strip(), locator.strip())
        if key not in existing:
            existing.add(key)
            fresh.append(Citation(tie=tie, source_id=source_id, quote=key[1], locator=key[2]))
    Citation.objects.bulk_create(fresh, batch_size=2000)
    return len(fresh)


@transaction.atomic
def remove_tie_citations(tie: Tie, source_ids: Iterable[int]) -> int:
    """Remove the tie's citations of these sources, unless that would leave it uncited."""
    ids = list(source_ids)
    if not ids:
        return 0
    remaining = tie.citations.exclude(source_id__in=ids).count()
    if remaining == 0:
        raise EvidenceError(
            "citation", f"removing them would leave the tie {tie} without a citation"
        )
    deleted, _ = tie.citations.filter(source_id__in=ids).delete()
    return deleted


@dataclass
class TieSpec:
    """A non-structural tie for ``record_ties_bulk``, with its citations as
    (source id, quote, locator). Saved under its FtM id, so repeating it updates."""

    subject_id: int
    object_id: int
    kind: str
    ftm_id: str
    citations: list[tuple[int, str, str]]
    status: str = TieStatus.ACTIVE
    start_date: str = ""
    end_date: str = ""
    amount: Decimal | None = None
    currency: str = ""
    summary: str = ""


@transaction.atomic
def record_ties_bulk(
    specs: Sequence[TieSpec],
    *,
    prune_source_kind: str | None = None,
    keep_status: bool = True,
    _structural_checked: bool = False,
) -> dict[str, int]:
    """Create or update many contract-like ties at once; returns tie ids by FtM id.

    The same rules as ``record_tie``: every tie needs a citation, dates stay
    partial, an amount needs a currency. Ownership and part_of ties are refused
    here because they need the one-by-one cycle check. With ``keep_status``,
    a status an editor set on an existing tie is left alone. With
    ``prune_source_kind``, citations of that kind of source that a spec no
    longer lists are removed (an award that left the tie); others stay.
    """
    for spec in specs:
        if spec.kind in STRUCTURAL_KINDS and not _structural_checked:
            raise EvidenceError(
                "kind", f"{spec.kind} ties go through record_structural_ties_bulk (cycle check)"
            )
        _check_choice(spec.kind, TieKind, "kind")
        _check_choice(spec.status, TieStatus, "status")
        if not spec.citations:
            raise EvidenceError(
                "citation", f"the tie {spec.ftm_id} has no citation; every tie needs a source"
            )
        if spec.subject_id == spec.object_id:
            raise EvidenceError("object", f"the tie {spec.ftm_id} connects an entity to itself")
        spec.start_date = parse_partial_date(spec.start_date, "start_date")
        spec.end_date = parse_partial_date(spec.end_date, "end_date")
        if spec.amount is not None and not spec.currency:
            raise EvidenceError(
                "currency", f"the tie {spec.ftm_id} has an amount without a currency"
            )
    ids: dict[str, int] = {}
    fields = [
        "subject_id",
        "object_id",
        "kind",
        "start_date",
        "end_date",
        "amount",
        "currency",
        "summary",
    ]
    for start in range(0, len(specs), 1000):
        chunk = specs[start : start + 1000]
        existing = {t.ftm_id: t for t in Tie.objects.filter(ftm_id__in=[s.ftm_id for s in chunk])}
        fresh: list[TieSpec] = []
        changed: list[Tie] = []
        ended: list[int] = []
        for spec in chunk:
            tie = existing.get(spec.ftm_id)
            if tie is None:
                fresh.append(spec)
                continue
            if not keep_status:
                if spec.status == TieStatus.ENDED and tie.status != TieStatus.ENDED:
                    ended.append(tie.pk)
                tie.status = spec.status
            for f in fields:
                setattr(tie, f, getattr(spec, f))
            changed.append(tie)
        now = timezone.now()
        bulk.insert_rows(
            Tie,
            ["ftm_id", "status", *fields, "created_at", "updated_at"],
            [[t.ftm_id, t.status, *(getattr(t, f) for f in fields), now, now] for t in fresh],
        )
        Tie.objects.bulk_update(changed, [*fields, "status"], batch_size=1000)
        ids.update(bulk.select_in(Tie, ["ftm_id", "id"], "ftm_id", [s.ftm_id for s in chunk]))
        tie_ids = [ids[s.ftm_id] for s in chunk]
        have = set(
            bulk.select_in(Citation, ["tie_id", "source_id", "quote", "locator"], "tie_id", tie_ids)
        )
        new_citations: list[list[Any]] = []
        wanted_sources: dict[int, set[int]] = {}
        for spec in chunk:
            tie_id = ids[spec.ftm_id]
            wanted_sources[tie_id] = {c[0] for c in spec.citations}
            # In content order, not the order the caller's query happened to return: the
            # first citation of a tie (by id) is the receipt its change event quotes, and
            # an import stores the same rows whichever database and process ran it.
            for source_id, quote, locator in sorted(
                spec.citations, key=lambda c: (c[2], c[1], c[0])
            ):
                key = (tie_id, source_id, quote.strip(), locator.strip())
                if key not in have:
                    have.add(key)
                    new_citations.append([tie_id, source_id, key[2], key[3], now])
        bulk.insert_rows(
            Citation, ["tie_id", "source_id", "quote", "locator", "created_at"], new_citations
        )
        if prune_source_kind is not None and existing:
            # Only ties that existed can cite what a spec no longer lists.
            stale = [
                pk
                for pk, tie_id, source_id in Citation.objects.filter(
                    tie_id__in=[t.pk for t in existing.values()], source__kind=prune_source_kind
                ).values_list("pk", "tie_id", "source_id")
                if source_id not in wanted_sources[tie_id]
            ]
            for i in range(0, len(stale), 1000):
                Citation.objects.filter(pk__in=stale[i : i + 1000]).delete()
        if fresh or ended:
            # Change events (receipts.watch) for new ties and ties that ended.
            signals.ties_changed.send(
                sender=Tie, added=[ids[t.ftm_id] for t in fresh], ended=ended, citations={}
            )
    return ids


@transaction.atomic
def record_structural_ties_bulk(
    specs: Sequence[TieSpec], *, keep_status: bool = False, prune_source_kind: str | None = None
) -> tuple[dict[str, int], list[tuple[TieSpec, str]]]:
    """Ownership and part_of ties in bulk: returns (ids by FtM id, refused specs with why).

    The cycle check runs in memory over every ownership and part_of tie in the
    database (of any status), adding each accepted tie to the graph before the
    next is checked, so a batch cannot close a cycle with itself either. A
    spec that would close one is refused, not saved, and the rest go on.
    ``prune_source_kind`` is as for ``record_ties_bulk``.
    """
    children: dict[int, set[int]] = {}
    for kind, subject_id, object_id in Tie.objects.filter(
        kind__in=list(STRUCTURAL_KINDS)
    ).values_list("kind", "subject_id", "object_id"):
        parent, child = (subject_id, object_id) if kind == TieKind.OWNS else (object_id, subject_id)
        children.setdefault(parent, set()).add(child)

    def reaches(start: int, target: int) -> bool:
        stack, seen = [start], {start}
        while stack:
            node = stack.pop()
            if node == target:
                return True
            for nxt in children.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    accepted: list[TieSpec] = []
    refused: list[tuple[TieSpec, str]] = []
    for spec in specs:
        if spec.kind not in STRUCTURAL_KINDS:
            raise EvidenceError("kind", f"{spec.kind} is not an ownership or part_of tie")
        parent, child = (
            (spec.subject_id, spec.object_id)
            if spec.kind == TieKind.OWNS
            else (spec.object_id, spec.subject_id)
        )
        if parent == child:
            refused.append((spec, "object: a tie cannot connect an entity to itself"))
            continue
        if child not in children.get(parent, set()) and reaches(child, parent):
            refused.append((spec, "kind: it would make a cycle in ownership or part_of ties"))
            continue
        children.setdefault(parent, set()).add(child)
        accepted.append(spec)
    ids = record_ties_bulk(
        accepted,
        keep_status=keep_status,
        prune_source_kind=prune_source_kind,
        _structural_checked=True,
    )
    return ids, refused


@dataclass(frozen=True)
class RecordSource:
    """A dataset record (one award, one filing) to keep as a Source, keyed by its FtM id."""

    ftm_id: str
    title: str
    url: str = ""
    publisher: str = ""
    published: str = ""
    retrieved: str = ""
    kind: str = SourceKind.DATASET_ROW


def save_record_sources(records: Sequence[RecordSource]) -> dict[str, int]:
    """Create or update many record sources at once; returns their ids by FtM id.

    The same checks as ``save_source`` (kind, title, partial dates), done in
    bulk because an import cites one record per award.
    """
    ids: dict[str, int] = {}
    fields = ["kind", "title", "url", "publisher", "published", "retrieved"]
    for start in range(0, len(records), 1000):
        chunk = records[start : start + 1000]
        for r in chunk:
            _check_choice(r.kind, SourceKind, "kind")
            if not r.title.strip():
                raise EvidenceError("title", f"the record {r.ftm_id} has no title")
            parse_partial_date(r.published, "published")
            parse_partial_date(r.retrieved, "retrieved")
        # Rows as tuples, not model instances: an import cites a record per award.
        existing = {
            row[0]: row
            for row in bulk.select_in(
                Source, ["ftm_id", "id", *fields], "ftm_id", [r.ftm_id for r in chunk]
            )
        }
        fresh, changed = [], []
        for r in chunk:
            values = tuple(getattr(r, f) for f in fields)
            found = existing.get(r.ftm_id)
            if found is None:
                fresh.append([r.ftm_id, *values])
            elif found[2:] != values:
                changed.append(
                    Source(pk=found[1], ftm_id=r.ftm_id, **dict(zip(fields, values, strict=True)))
                )
        with transaction.atomic():
            now = timezone.now()
            bulk.insert_rows(
                Source, ["ftm_id", *fields, "created_at"], [[*row, now] for row in fresh]
            )
            Source.objects.bulk_update(changed, fields, batch_size=1000)
        ids.update((row[0], row[1]) for row in existing.values())
        if fresh:
            ids.update(bulk.select_in(Source, ["ftm_id", "id"], "ftm_id", [r[0] for r in fresh]))
    return ids


@transaction.atomic
def remove_citation(citation: Citation) -> None:
    """Remove a citation, unless it is the last one backing its tie."""
    if citation.tie_id is not None:
        others = Citation.objects.filter(tie_id=citation.tie_id).exclude(pk=citation.pk)
        if not others.exists():
            raise EvidenceError(
                "citation",
                f"it is the only citation of the tie {citation.tie}; add another "
                "before removing it, or delete the tie",
            )
    citation.delete()


@transaction.atomic
def delete_tie(tie: Tie) -> None:
    tie.delete()


@transaction.atomic
def delete_entity(entity: Entity) -> None:
    """Delete an entity that no tie refers to."""
    count = Tie.objects.filter(subject=entity).count() + Tie.objects.filter(object=entity).count()
    if count:
        raise EvidenceError("entity", f"{entity.name} still has {count} ties; delete them first")
    entity.delete()


@transaction.atomic
def delete_source(source: Source) -> None:
    """Delete a source that nothing cites."""
    count = source.citations.count()
    if count:
        raise EvidenceError(
            "source", f"{source.title} is cited {count} times; it cannot be deleted"
        )
    source.delete()
