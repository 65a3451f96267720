"""Merges of entities: reversible merges, their undoing, and review decisions.

Invariant: entities merge only by an editor's decision; each merge is an
EntityMerge row that records exactly which rows moved, and undoing it moves
exactly those rows back. A merge moves evidence (ties, identifiers,
citations), contract records and review items, and recomputes the ties
imports derive, so it lives here, beside the merge log and the review queue,
rather than in the evidence app those others build on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.db import models, transaction
from django.utils import timezone

from receipts.contracts.models import ContractAward, ContractTransaction
from receipts.evidence.bulk import chunks
from receipts.evidence.models import (
    STRUCTURAL_KINDS,
    Citation,
    Entity,
    Identifier,
    IdentifierScheme,
    Tie,
    TieKind,
)
from receipts.evidence.queries import descendant_ids
from receipts.evidence.services import (
    EvidenceError,
    clean_aliases,
    entity_search_text,
    save_entity,
)

from .models import EntityMerge, ReviewItem

# Keep IN lists well under every backend's parameter limit.
_CHUNK = 1000


def _user(user: Any) -> Any:
    return user if getattr(user, "pk", None) is not None else None


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
    for chunk in chunks(list(ids), _CHUNK):
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
    added = [n for n in clean_aliases(keep.name, [drop.name, *drop.aliases]) if n not in known]
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
    drop.search_text = entity_search_text(drop)
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
        for chunk in chunks(list(ids), _CHUNK):
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
    drop.search_text = entity_search_text(drop)
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
