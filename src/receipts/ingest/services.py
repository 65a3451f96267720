"""Writes of the ingest app: entities in bulk for importers, reversible merges, review decisions.

Invariant: entities merge only by an editor's decision; each merge is an
EntityMerge row that records exactly which rows moved, and undoing it moves
exactly those rows back. Bulk writes keep the rules of
``evidence.services.save_entity``: clean names, unique slugs, one entity per
identifier, search text in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from receipts.contracts.models import ContractAward, ContractTransaction
from receipts.evidence.models import (
    STRUCTURAL_KINDS,
    Citation,
    Entity,
    EntityKind,
    Identifier,
    IdentifierScheme,
    Tie,
    TieKind,
)
from receipts.evidence.queries import descendant_ids
from receipts.evidence.services import (
    EvidenceError,
    _clean_aliases,
    _search_text,
    normalise_identifier,
    save_entity,
)

from .models import EntityMerge, ReviewItem

# Keep IN lists well under every backend's parameter limit.
_CHUNK = 1000
# Checked once per new entity: sets, not the enum's lists.
_KINDS = frozenset(EntityKind.values)
_SCHEMES = frozenset(IdentifierScheme.values)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _user(user: Any) -> Any:
    return user if getattr(user, "pk", None) is not None else None


# --- entities in bulk -------------------------------------------------------------------


@dataclass(frozen=True)
class NewEntity:
    """An entity for ``create_entities``: identifiers as (scheme, value) pairs."""

    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    identifiers: tuple[tuple[str, str], ...] = ()


def _search_text_with(entity: Entity, identifier_values: Iterable[str]) -> str:
    """``_search_text`` of the entity as if its identifiers were saved, without a query.

    Identifiers join the terms after the aliases, as ``_search_text`` adds them.
    """
    probe = Entity(
        name=entity.name, slug=entity.slug, aliases=[*entity.aliases, *identifier_values]
    )
    return _search_text(probe)


def _free_slugs(names: Sequence[str]) -> list[str]:
    """A unique slug for each name, like ``save_entity`` gives, in a few queries."""
    bases = [slugify(name)[:100] or "entity" for name in names]
    taken: set[str] = set()
    distinct = sorted(set(bases))
    for chunk in _chunks(distinct):
        taken.update(Entity.objects.filter(slug__in=chunk).values_list("slug", flat=True))
    for base in sorted(b for b in distinct if b in taken):
        taken.update(
            Entity.objects.filter(slug__startswith=f"{base}-").values_list("slug", flat=True)
        )
    slugs: list[str] = []
    next_suffix: dict[str, int] = {}
    for base in bases:
        slug = base
        n = next_suffix.get(base, 2)
        while slug in taken:
            slug = f"{base}-{n}"
            n += 1
        next_suffix[base] = n
        taken.add(slug)
        slugs.append(slug)
    return slugs


@transaction.atomic
def create_entities(specs: Sequence[NewEntity]) -> list[Entity]:
    """Create many entities with their identifiers at once, in the order given.

    Refuses the whole batch if an identifier is already held, or is given
    twice, as ``save_entity`` refuses one entity.
    """
    if not specs:
        return []
    wanted: dict[tuple[str, str], int] = {}
    entities: list[Entity] = []
    identifiers: list[list[tuple[str, str]]] = []
    for i, spec in enumerate(specs):
        name = " ".join(str(spec.name).split())
        if not name:
            raise EvidenceError("name", "an entity needs a name")
        if spec.kind not in _KINDS:
            raise EvidenceError(
                "kind", f"{spec.kind!r} is not one of {', '.join(EntityKind.values)}"
            )
        own: list[tuple[str, str]] = []
        for scheme, value in spec.identifiers:
            if scheme not in _SCHEMES:
                raise EvidenceError("identifier", f"scheme {scheme!r} is not a known scheme")
            pair = (scheme, normalise_identifier(scheme, value))
            if pair in wanted and wanted[pair] != i:
                raise EvidenceError(
                    "identifier", f"{scheme} {pair[1]} is given to two new entities"
                )
            if pair not in wanted:
                wanted[pair] = i
                own.append(pair)
        entities.append(
            Entity(name=name, kind=spec.kind, aliases=_clean_aliases(name, spec.aliases))
        )
        identifiers.append(own)
    by_scheme: dict[str, list[str]] = {}
    for scheme, value in wanted:
        by_scheme.setdefault(scheme, []).append(value)
    for scheme, values in by_scheme.items():
        for chunk in _chunks(sorted(values)):
            holder = (
                Identifier.objects.filter(scheme=scheme, value__in=chunk)
                .select_related("entity")
                .first()
            )
            if holder is not None:
                raise EvidenceError(
                    "identifier",
                    f"{scheme} {holder.value} already belongs to {holder.entity.name} "
                    f"({holder.entity.slug})",
                )
    for entity, slug, own in zip(
        entities, _free_slugs([e.name for e in entities]), identifiers, strict=True
    ):
        entity.slug = slug
        entity.search_text = _search_text_with(entity, [v for _s, v in sorted(own)])
    Entity.objects.bulk_create(entities, batch_size=500)
    Identifier.objects.bulk_create(
        [
            Identifier(entity=entity, scheme=scheme, value=value)
            for entity, own in zip(entities, identifiers, strict=True)
            for scheme, value in own
        ],
        batch_size=1000,
    )
    return entities


def _refresh_search_text(entities: Sequence[Entity]) -> None:
    ids = [e.pk for e in entities]
    values: dict[int, list[str]] = {}
    for chunk in _chunks(ids):
        rows = Identifier.objects.filter(entity_id__in=chunk).order_by("scheme", "value")
        for entity_id, value in rows.values_list("entity_id", "value"):
            values.setdefault(entity_id, []).append(value)
    now = timezone.now()
    for entity in entities:
        entity.search_text = _search_text_with(entity, values.get(entity.pk, []))
        entity.updated_at = now
    Entity.objects.bulk_update(entities, ["aliases", "search_text", "updated_at"], batch_size=500)


@transaction.atomic
def add_aliases_and_identifiers(
    *,
    aliases: Mapping[int, Iterable[str]],
    identifiers: Iterable[tuple[int, str, str]] = (),
) -> None:
    """Add names (kept alongside existing aliases) and identifiers to many entities.

    ``identifiers`` are (entity id, scheme, value); one already held by
    another entity is refused, as ``add_identifier`` refuses it.
    """
    new_identifiers: list[Identifier] = []
    touched: set[int] = set()
    pairs = [(eid, scheme, normalise_identifier(scheme, v)) for eid, scheme, v in identifiers]
    for scheme in sorted({s for _e, s, _v in pairs}):
        values = [v for _e, s, v in pairs if s == scheme]
        held: dict[str, int] = {}
        for chunk in _chunks(sorted(set(values))):
            held.update(
                Identifier.objects.filter(scheme=scheme, value__in=chunk).values_list(
                    "value", "entity_id"
                )
            )
        for entity_id, s, value in pairs:
            if s != scheme:
                continue
            if value in held and held[value] != entity_id:
                raise EvidenceError(
                    "identifier", f"{scheme} {value} already belongs to entity {held[value]}"
                )
            if value not in held:
                held[value] = entity_id
                new_identifiers.append(Identifier(entity_id=entity_id, scheme=scheme, value=value))
                touched.add(entity_id)
    Identifier.objects.bulk_create(new_identifiers, batch_size=1000)

    wanted = {eid: list(names) for eid, names in aliases.items()}
    # A re-import brings mostly known names: compare on plain rows, load only what changes.
    new_aliases: dict[int, list[str]] = {}
    ids = sorted(set(wanted) | touched)
    for chunk in _chunks(ids):
        rows = Entity.objects.filter(pk__in=chunk).values_list("pk", "name", "aliases")
        for pk, name, old in rows:
            merged = _clean_aliases(name, [*old, *wanted.get(pk, [])])
            if merged != old or pk in touched:
                new_aliases[pk] = merged
    changed: list[Entity] = []
    for chunk in _chunks(sorted(new_aliases)):
        for entity in Entity.objects.filter(pk__in=chunk):
            entity.aliases = new_aliases[entity.pk]
            changed.append(entity)
    _refresh_search_text(changed)


# --- merges -------------------------------------------------------------------------------

# Every reference to an entity that a merge moves, as "table.field" keys of
# EntityMerge.moved. References not listed stay: the merge log itself, the
# memo of name-only recipients (the resolver follows ``merged_into``) and
# ``merged_into`` (earlier merges into the dropped entity stay chained).
MOVED_FIELDS: tuple[tuple[str, type[models.Model], str], ...] = (
    ("tie.subject", Tie, "subject"),
    ("tie.object", Tie, "object"),
    ("identifier.entity", Identifier, "entity"),
    ("citation.entity", Citation, "entity"),
    ("contractaward.recipient", ContractAward, "recipient"),
    ("contractaward.sub_agency", ContractAward, "sub_agency"),
    ("contracttransaction.recipient", ContractTransaction, "recipient"),
    ("reviewitem.entity", ReviewItem, "entity"),
    ("reviewitem.candidate", ReviewItem, "candidate"),
)
# ReviewItems between the two entities, closed as merged by the merge.
_DECIDED = "reviewitem.decided"
_ALIASES = "aliases"


def _describe_tie(tie: Tie) -> str:
    return (
        f"tie {tie.pk} ({tie.subject.name} — {tie.get_kind_display().lower()} — {tie.object.name})"
    )


def _check_mergeable(keep: Entity, drop: Entity) -> None:
    """Refuse a merge that would leave a tie from an entity to itself, or a cycle."""
    if keep.pk == drop.pk:
        raise EvidenceError("merge", f"{keep.name} cannot be merged into itself")
    for entity in (keep, drop):
        if entity.merged_into_id is not None:
            raise EvidenceError(
                "merge", f"{entity.name} ({entity.slug}) is already merged into another entity"
            )
    between = (
        Tie.objects.filter(
            models.Q(subject=keep, object=drop) | models.Q(subject=drop, object=keep)
        )
        .select_related("subject", "object")
        .order_by("pk")
        .first()
    )
    if between is not None:
        raise EvidenceError(
            "merge",
            f"{_describe_tie(between)} would tie {keep.name} to itself; "
            "delete or change that tie first",
        )
    structural = (
        Tie.objects.filter(
            models.Q(subject=drop) | models.Q(object=drop), kind__in=STRUCTURAL_KINDS
        )
        .select_related("subject", "object")
        .order_by("pk")
    )
    for tie in structural:
        subject_id = keep.pk if tie.subject_id == drop.pk else tie.subject_id
        object_id = keep.pk if tie.object_id == drop.pk else tie.object_id
        parent, child = (
            (subject_id, object_id) if tie.kind == TieKind.OWNS else (object_id, subject_id)
        )
        if parent in descendant_ids(child, ignore_tie=tie.pk):
            raise EvidenceError(
                "merge",
                f"{_describe_tie(tie)} would make a cycle in ownership or part_of ties "
                f"once {drop.name} is merged into {keep.name}; end or change that tie first",
            )


def _move(model: type[models.Model], field: str, ids: Sequence[int], to: Entity) -> None:
    changes: dict[str, Any] = {field: to}
    if model is Tie:
        changes["updated_at"] = timezone.now()
    for chunk in _chunks(list(ids)):
        model.objects.filter(pk__in=chunk).update(**changes)  # type: ignore[attr-defined]


def _review_pair(a: Entity, b: Entity) -> models.Q:
    return models.Q(entity=a, candidate=b) | models.Q(entity=b, candidate=a)


def _return_records_by_identifier(keep: Entity, drop: Entity) -> None:
    """Award and transaction records that name the returning entity's UEI (or, without
    a UEI, its DUNS) go back to it, also those imported while the two were merged,
    which resolved to the survivor and are not in the merge's log."""
    identifiers = list(drop.identifiers.values_list("scheme", "value"))
    ueis = [v for scheme, v in identifiers if scheme == IdentifierScheme.UEI]
    duns = [v for scheme, v in identifiers if scheme == IdentifierScheme.DUNS]
    if not ueis and not duns:
        return
    names_drop = models.Q(recipient_uei__in=ueis) | models.Q(
        recipient_uei="", recipient_duns__in=duns
    )
    for model in (ContractAward, ContractTransaction):
        model.objects.filter(names_drop, recipient=keep).update(recipient=drop)


def _refresh_derived_ties(keep: Entity, drop: Entity) -> None:
    """Recompute the ties imported records give both entities, once the rows have moved.

    Without it a merge leaves two contract ties for one recipient and agency
    (the moved one under the other entity's id), and the next import would
    count the moved awards in both.
    """
    from receipts.ingest.usaspending.ties import refresh_entity_ties

    refresh_entity_ties([keep.pk, drop.pk])


@transaction.atomic
def merge_entities(
    keep: Entity, drop: Entity, *, decided_by: Any = None, reason: str = ""
) -> EntityMerge:
    """Merge ``drop`` into ``keep``: its ties, identifiers, citations, awards and review
    items move to ``keep``, its names become aliases of ``keep``, and it points to ``keep``.

    Refused when a tie joins the two (it would tie ``keep`` to itself) or a
    moved ownership or part_of tie would close a cycle. ``unmerge`` undoes it.
    """
    keep = Entity.objects.select_for_update().get(pk=keep.pk)
    drop = Entity.objects.select_for_update().get(pk=drop.pk)
    _check_mergeable(keep, drop)
    moved: dict[str, Any] = {}
    now = timezone.now()
    user = _user(decided_by)

    decided = list(
        ReviewItem.objects.filter(_review_pair(keep, drop), status=ReviewItem.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ReviewItem.objects.filter(pk__in=decided).update(
        status=ReviewItem.Status.MERGED, decided_at=now, decided_by=user
    )
    moved[_DECIDED] = decided

    for key, model, field in MOVED_FIELDS:
        qs = model.objects.filter(**{field: drop})  # type: ignore[attr-defined]
        if model is ReviewItem:
            # Items between the pair stay; so does one that would repeat an item of keep.
            other = "candidate" if field == "entity" else "entity"
            qs = qs.exclude(**{other: keep}).exclude(
                **{
                    f"{other}__in": ReviewItem.objects.filter(**{field: keep}).values(other),
                }
            )
        ids = sorted(qs.values_list("pk", flat=True))
        _move(model, field, ids, keep)
        moved[key] = ids

    known = {keep.name, *keep.aliases}
    added = [n for n in _clean_aliases(keep.name, [drop.name, *drop.aliases]) if n not in known]
    moved[_ALIASES] = added

    if keep.pk in descendant_ids(keep.pk):  # the checks above should make this unreachable
        raise EvidenceError("merge", f"merging {drop.name} into {keep.name} would make a cycle")

    save_entity(
        name=keep.name,
        kind=keep.kind,
        aliases=[*keep.aliases, *added],
        country=keep.country,
        summary=keep.summary,
        entity=keep,
    )
    drop.merged_into = keep
    drop.search_text = _search_text(drop)
    drop.save(update_fields=["merged_into", "search_text", "updated_at"])
    _refresh_derived_ties(keep, drop)
    return EntityMerge.objects.create(
        keep=keep, dropped=drop, moved=moved, reason=reason.strip()[:300], decided_by=user
    )


@transaction.atomic
def unmerge(merge: EntityMerge, *, decided_by: Any = None) -> EntityMerge:
    """Undo a merge: the rows it moved go back, the names it added go, the entity returns.

    Rows deleted or moved elsewhere since stay where they are. A merge whose
    surviving entity was itself merged later is undone after that merge.
    """
    merge = EntityMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise EvidenceError(
            NON_FIELD_ERRORS,
            f"merge {merge.pk}: already undone on {merge.undone_at:%Y-%m-%d %H:%M}",
        )
    keep = Entity.objects.select_for_update().get(pk=merge.keep_id)
    drop = Entity.objects.select_for_update().get(pk=merge.dropped_id)
    if keep.merged_into_id is not None:
        later = (
            EntityMerge.objects.filter(dropped=keep, undone_at__isnull=True).order_by("-pk").first()
        )
        raise EvidenceError(
            NON_FIELD_ERRORS,
            f"merge {merge.pk}: {keep.name} has since been merged into another entity; "
            f"undo merge {later.pk if later else '?'} first",
        )
    moved = merge.moved
    for key, model, field in MOVED_FIELDS:
        ids = moved.get(key, [])
        for chunk in _chunks(list(ids)):
            still = model.objects.filter(pk__in=chunk, **{field: keep})  # type: ignore[attr-defined]
            _move(model, field, list(still.values_list("pk", flat=True)), drop)
    ReviewItem.objects.filter(
        pk__in=moved.get(_DECIDED, []), status=ReviewItem.Status.MERGED
    ).update(status=ReviewItem.Status.PENDING, decided_at=None, decided_by=None)
    added = set(moved.get(_ALIASES, []))
    save_entity(
        name=keep.name,
        kind=keep.kind,
        aliases=[a for a in keep.aliases if a not in added],
        country=keep.country,
        summary=keep.summary,
        entity=keep,
    )
    drop.merged_into = None
    drop.search_text = _search_text(drop)
    drop.save(update_fields=["merged_into", "search_text", "updated_at"])
    _return_records_by_identifier(keep, drop)
    _refresh_derived_ties(keep, drop)
    merge.undone_at = timezone.now()
    merge.undone_by = _user(decided_by)
    merge.save(update_fields=["undone_at", "undone_by"])
    return merge


@transaction.atomic
def decide_review(item: ReviewItem, *, merge: bool, decided_by: Any) -> EntityMerge | None:
    """Close a review item: merge its new entity into the candidate, or keep them apart.

    Returns the merge, or None when the two are kept apart.
    """
    item = (
        ReviewItem.objects.select_for_update().select_related("entity", "candidate").get(pk=item.pk)
    )
    if item.status != ReviewItem.Status.PENDING:
        raise EvidenceError(
            NON_FIELD_ERRORS,
            f"review item {item.pk}: already decided ({item.get_status_display()})",
        )
    if merge:
        return merge_entities(
            item.candidate,
            item.entity,
            decided_by=decided_by,
            reason=f"review item {item.pk}: {item.reason}",
        )
    item.status = ReviewItem.Status.DISTINCT
    item.decided_at = timezone.now()
    item.decided_by = _user(decided_by)
    item.save(update_fields=["status", "decided_at", "decided_by"])
    return None
