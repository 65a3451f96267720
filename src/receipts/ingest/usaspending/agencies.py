"""Awarding agencies as entities: department > sub-agency > office, matched on codes.

A code names one agency whatever the case or form of its name in a file; the
first time a code is seen, an existing agency with the same name (the demo's
ICE, an editor's DHS) takes the code rather than a duplicate being made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from receipts.evidence import services
from receipts.evidence.ftm_ids import ftm_id_for
from receipts.evidence.models import Entity, EntityKind, Identifier, IdentifierScheme, Source, Tie

from .formats import KNOWN_AGENCIES


@dataclass(frozen=True)
class AgencyPath:
    agency_code: str
    agency_name: str
    sub_code: str
    sub_name: str
    office_code: str
    office_name: str


def _name_key(name: str) -> str:
    text = re.sub(r"[^a-z0-9 ]", " ", name.lower())
    text = re.sub(r"\b(u s|us|the)\b", " ", text)
    return " ".join(text.split())


def _title(name: str) -> str:
    """Files shout agency names in capitals; show them in title case."""
    if name.isupper():
        small = {"of", "and", "the", "for", "on", "in", "at", "to"}
        words = name.lower().split()
        name = " ".join(w if (i and w in small) else w.capitalize() for i, w in enumerate(words))
        name = re.sub(r"\bU\.s\.", "U.S.", name)
    return name


class AgencyResolver:
    """Finds or creates agency entities by code, and records their part_of ties."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.by_code: dict[str, Entity] = {}
        self.created = 0

    def _entity(self, code: str, file_name: str) -> Entity:
        if code in self.by_code:
            return self.by_code[code]
        ident = (
            Identifier.objects.filter(scheme=IdentifierScheme.AGENCY_CODE, value=code)
            .select_related("entity")
            .first()
        )
        if ident is not None:
            entity = ident.entity
            while entity.merged_into_id is not None:
                entity = Entity.objects.get(pk=entity.merged_into_id)
        else:
            known = KNOWN_AGENCIES.get(code)
            name = known.name if known else _title(file_name or f"Agency {code}")
            aliases = list(known.aliases) if known else []
            if file_name and _name_key(file_name) != _name_key(name):
                aliases.append(_title(file_name))
            wanted = {_name_key(n) for n in [name, *aliases, file_name] if n}
            entity = next(
                (
                    e
                    for e in Entity.objects.live()
                    .filter(kind=EntityKind.AGENCY)
                    .exclude(identifiers__scheme=IdentifierScheme.AGENCY_CODE)
                    .only("pk", "name", "aliases")
                    if {_name_key(n) for n in [e.name, *e.aliases]} & wanted
                ),
                None,
            )
            if entity is None:
                entity = services.save_entity(name=name, kind=EntityKind.AGENCY, aliases=aliases)
                self.created += 1
            services.add_identifier(entity, IdentifierScheme.AGENCY_CODE, code)
        self.by_code[code] = entity
        return entity

    def _part_of(self, child: Entity, parent: Entity, child_code: str, parent_code: str) -> None:
        if Tie.objects.filter(subject=child, object=parent, kind="part_of").exists():
            tie = Tie.objects.filter(subject=child, object=parent, kind="part_of").first()
            assert tie is not None
            services.cite_tie_bulk(
                tie, [(self.source.pk, "", f"agency code {child_code} under {parent_code}")]
            )
            return
        services.record_tie(
            child,
            parent,
            "part_of",
            citations=[
                services.CitationInput(
                    self.source, locator=f"agency code {child_code} under {parent_code}"
                )
            ],
            ftm_id=ftm_id_for(f"usaspending-part-of-{child_code}-{parent_code}"),
        )

    def resolve(self, path: AgencyPath) -> tuple[Entity, Entity | None]:
        """The sub-agency (object of contract ties) and the office, creating what is missing."""
        top = self._entity(path.agency_code, path.agency_name)
        sub = (
            self._entity(path.sub_code, path.sub_name) if path.sub_code != path.agency_code else top
        )
        if sub.pk != top.pk:
            self._part_of(sub, top, path.sub_code, path.agency_code)
        office = None
        if path.office_code:
            office = self._entity(path.office_code, path.office_name)
            if office.pk != sub.pk:
                self._part_of(office, sub, path.office_code, path.sub_code)
        return sub, office
