"""Entities in bulk, for importers: many new entities with their identifiers at
once, and names and identifiers added to many existing ones.

Bulk writes keep the rules of ``services.save_entity``: clean names, unique
slugs, one entity per identifier, search text in step; they refuse a whole
batch where ``save_entity`` would refuse one entity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from .bulk import chunks
from .models import Entity, EntityKind, Identifier, IdentifierScheme
from .services import EvidenceError, clean_aliases, entity_search_text, normalise_identifier

# Keep IN lists well under every backend's parameter limit.
_CHUNK = 1000
# Checked once per new entity: sets, not the enum's lists.
_KINDS = frozenset(EntityKind.values)
_SCHEMES = frozenset(IdentifierScheme.values)


@dataclass(frozen=True)
class NewEntity:
    """An entity for ``create_entities``: identifiers as (scheme, value) pairs."""

    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    identifiers: tuple[tuple[str, str], ...] = ()


def _search_text_with(entity: Entity, identifier_values: Iterable[str]) -> str:
    """``entity_search_text`` of the entity as if its identifiers were saved, without a query.

    Identifiers join the terms after the aliases, as ``entity_search_text`` adds them.
    """
    probe = Entity(
        name=entity.name, slug=entity.slug, aliases=[*entity.aliases, *identifier_values]
    )
    return entity_search_text(probe)


def _free_slugs(names: Sequence[str]) -> list[str]:
    """A unique slug for each name, like ``save_entity`` gives, in a few queries."""
    bases = [slugify(name)[:100] or "entity" for name in names]
    taken: set[str] = set()
    distinct = sorted(set(bases))
    for chunk in chunks(distinct, _CHUNK):
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
            Entity(name=name, kind=spec.kind, aliases=clean_aliases(name, spec.aliases))
        )
        identifiers.append(own)
    by_scheme: dict[str, list[str]] = {}
    for scheme, value in wanted:
        by_scheme.setdefault(scheme, []).append(value)
    for scheme, values in by_scheme.items():
        for chunk in chunks(sorted(values), _CHUNK):
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
    for chunk in chunks(ids, _CHUNK):
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
        for chunk in chunks(sorted(set(values)), _CHUNK):
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
    for chunk in chunks(ids, _CHUNK):
        rows = Entity.objects.filter(pk__in=chunk).values_list("pk", "name", "aliases")
        for pk, name, old in rows:
            merged = clean_aliases(name, [*old, *wanted.get(pk, [])])
            if merged != old or pk in touched:
                new_aliases[pk] = merged
    changed: list[Entity] = []
    for chunk in chunks(sorted(new_aliases), _CHUNK):
        for entity in Entity.objects.filter(pk__in=chunk):
            entity.aliases = new_aliases[entity.pk]
            changed.append(entity)
    _refresh_search_text(changed)
