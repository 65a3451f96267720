"""How much a family's ties add up to, per kind and currency, on a named basis.

Two bases answer "how much did this family get from ICE?". ``dated`` (the
default) counts a member's dealings only while the family owned it: an action
of a contract tie built from USAspending records counts when the parent its
own row reports (``recipient_parent_uei``, DUNS or name, as of its action
date) is the family or one of its members, and any other tie counts when its
member was in the family on the tie's start date, by the ownership ties'
dates. ``current`` counts today's members (active ownership) with their whole
history. Either way a tie's share is read from the stored records, never
estimated, so the totals are exact to the cent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, models
from django.db.models import Q

from receipts.contracts.models import ContractAward, ContractTransaction
from receipts.evidence import vocabulary
from receipts.evidence.bulk import quote_name
from receipts.evidence.models import Entity, EntityKind, IdentifierScheme, Tie, TieKind, TieStatus
from receipts.evidence.queries import RolledTie, family_paths, rollup_ties
from receipts.ingest.models import NameOnlyRecipient
from receipts.ingest.resolution import (
    RecipientRecord,
    _clean_duns,
    _clean_uei,
    _holders,
    _survivors,
    name_key,
    names_itself,
    parse_name,
)
from receipts.ingest.usaspending.ties import CONTRACT_PREFIX, OWNS_PREFIX

_CHUNK = 500


MembersBasis = models.TextChoices("MembersBasis", vocabulary.MEMBERS_BASES)


BASIS_TEXT = {
    MembersBasis.DATED: "members dated, each member's dealings counted only while the family "
    "owned it, as the records' own parent fields (and the ownership ties' dates) date it",
    MembersBasis.CURRENT: "members current, today's members counted with their whole history",
}
OWN_TIES_TEXT = "the entity's own ties only (no rollup, so no family members)"


@dataclass(frozen=True)
class TotalLine:
    """The sum of the counted amounts of one kind of tie in one currency."""

    kind: str
    currency: str
    amount: Decimal
    tie_count: int
    # The top component of the counterpart's tree the ties reach (ICE under DHS), if asked.
    component: Entity | None = None


@dataclass
class FamilyTies:
    """The ties that count for a family on a basis, each with the amount it counts for."""

    entity: Entity
    to: Entity | None
    rollup: bool
    members: str
    ties: list[RolledTie]
    counted: dict[int, Decimal | None]
    totals: list[TotalLine]
    by_component: list[TotalLine] = field(default_factory=list)

    @property
    def basis_text(self) -> str:
        return BASIS_TEXT[MembersBasis(self.members)] if self.rollup else OWN_TIES_TEXT


def family_ties(
    entity: Entity,
    *,
    rollup: bool,
    to: Entity | None = None,
    kinds: Iterable[str] | None = None,
    members: str = MembersBasis.DATED,
    citations_limit: int | None = None,
    defer_citations: bool = False,
) -> FamilyTies:
    """The ties of ``entity`` (with ``rollup``, of its family) and their totals on ``members``.

    The ties listed are the ones that count on the basis: with ``dated``,
    those of former members for the time they were members, and not those of
    today's members from before they joined.
    """
    members = MembersBasis(members)
    dated = rollup and members == MembersBasis.DATED
    family = family_paths(entity.pk, include_ended=True) if dated else None
    rolled = rollup_ties(
        entity,
        rollup=rollup,
        to=to,
        kinds=kinds,
        family=family,
        citations_limit=citations_limit,
        defer_citations=defer_citations,
    )
    if dated:
        assert family is not None
        counted = _dated_shares(entity.pk, family, rolled)
        rolled = [rt for rt in rolled if rt.tie.pk in counted]
    else:
        counted = {rt.tie.pk: rt.tie.amount for rt in rolled}
    ties = FamilyTies(
        entity=entity,
        to=to,
        rollup=rollup,
        members=str(members),
        ties=rolled,
        counted={rt.tie.pk: counted[rt.tie.pk] for rt in rolled},
        totals=_sum_lines(rolled, counted, by_component=False),
    )
    if rollup and to is not None and any(len(rt.far_path) > 1 for rt in rolled):
        ties.by_component = _sum_lines(rolled, counted, by_component=True)
    return ties


def _sum_lines(
    rolled: list[RolledTie], counted: dict[int, Decimal | None], *, by_component: bool
) -> list[TotalLine]:
    sums: dict[tuple[int, str, str], Decimal] = defaultdict(Decimal)
    counts: dict[tuple[int, str, str], int] = defaultdict(int)
    components: dict[int, Entity] = {}
    for rt in rolled:
        amount = counted.get(rt.tie.pk)
        if amount is None:
            continue  # a tie without an amount has no currency to add up in
        component_id = 0
        if by_component:
            # far_path runs from the tie's far end up to the asked-for counterpart.
            component = rt.far_path[-2] if len(rt.far_path) > 1 else rt.far_path[-1]
            components[component.pk] = component
            component_id = component.pk
        key = (component_id, rt.tie.kind, rt.tie.currency)
        sums[key] += amount
        counts[key] += 1
    lines = [
        TotalLine(
            kind=kind,
            currency=currency,
            amount=sums[(cid, kind, currency)],
            tie_count=counts[(cid, kind, currency)],
            component=components.get(cid),
        )
        for cid, kind, currency in sums
    ]
    order = {k: i for i, k in enumerate(TieKind.values)}
    lines.sort(
        key=lambda line: (
            line.component.name if line.component is not None else "",
            order.get(line.kind, 99),
            line.currency,
        )
    )
    return lines


# --- dated membership -------------------------------------------------------------------


@dataclass(frozen=True)
class _Edge:
    parent: int
    child: int
    status: str
    start: str
    end: str
    # Reported by USAspending records (the recipient's parent fields), so their own rows date it.
    from_records: bool

    def holds_on(self, day: str | None) -> bool:
        """Whether the tie held on ``day`` (a partial date counts from its first day).

        Without a day, whether it holds now. An ended tie with no end date
        held until a time nobody recorded, so no dated day is within it.
        """
        if day is None or not day:
            return self.status != TieStatus.ENDED
        if self.start and day[: len(self.start)] < self.start:
            return False
        if self.end:
            return day[: len(self.end)] <= self.end
        return self.status != TieStatus.ENDED


class _Membership:
    """Answers "was this entity in the family on that day?" through dated structural ties.

    ``report`` is the parent a record of the entity itself names (its id; the
    entity's own id when it names itself, 0 when it names one no entity
    holds, None when it names none): for ties the records reported, it
    decides alone which held on that record's day.
    """

    def __init__(self, root: int, edges: list[_Edge]) -> None:
        self.root = root
        self.into: dict[int, list[_Edge]] = defaultdict(list)
        for edge in edges:
            self.into[edge.child].append(edge)
        self._memo: dict[tuple[int, str | None, int | None], bool] = {}

    def holds(self, node: int, day: str | None, report: int | None = None) -> bool:
        return self._holds(node, day or None, report, 0)

    def _holds(self, node: int, day: str | None, report: int | None, depth: int) -> bool:
        if node == self.root:
            return True
        if depth >= settings.ROLLUP_MAX_DEPTH:
            return False  # a damaged graph: the walk that found the family stopped here too
        key = (node, day, report)
        if key in self._memo:
            return self._memo[key]
        found = False
        for edge in self.into.get(node, ()):
            if edge.from_records and report is not None:
                held = edge.parent == report
            else:
                held = edge.holds_on(day)
            if held and self._holds(edge.parent, day, None, depth + 1):
                found = True
                break
        self._memo[key] = found
        return found


def _structural_edges(family: dict[int, list[int]]) -> list[_Edge]:
    ids = sorted(family)
    edges: dict[int, _Edge] = {}
    for start in range(0, len(ids), _CHUNK * 4):
        chunk = ids[start : start + _CHUNK * 4]
        rows = Tie.objects.filter(kind__in=[TieKind.OWNS, TieKind.PART_OF]).filter(
            Q(subject_id__in=chunk) | Q(object_id__in=chunk)
        )
        for pk, kind, s, o, status, begin, end, ftm_id in rows.values_list(
            "pk", "kind", "subject_id", "object_id", "status", "start_date", "end_date", "ftm_id"
        ):
            parent, child = (s, o) if kind == TieKind.OWNS else (o, s)
            if parent in family and child in family:
                edges[pk] = _Edge(parent, child, status, begin, end, ftm_id.startswith(OWNS_PREFIX))
    return list(edges.values())


def _dated_shares(
    root: int, family: dict[int, list[int]], rolled: list[RolledTie]
) -> dict[int, Decimal | None]:
    """The amount each tie counts for on the dated basis; ties that do not count are absent."""
    edges = _structural_edges(family)
    membership = _Membership(root, edges)
    # Only dated, ended or record-reported ties make membership depend on the day; a
    # tree of undated active ties (an agency's components, a hand-made family) does not,
    # and a department's tens of thousands of ties then need no record read at all.
    varies = any(e.from_records or e.start or e.end or e.status == TieStatus.ENDED for e in edges)
    shares: dict[int, Decimal | None] = {}
    # Contract ties built from records are split by their records; (recipient, sub-agency)
    # names each, one tie per pair (see receipts.ingest.usaspending.ties).
    from_records: dict[tuple[int, int], RolledTie] = {}
    for rt in rolled:
        tie = rt.tie
        near = tie.subject_id if rt.near_is_subject else tie.object_id
        if (
            varies
            and near != root
            and tie.kind == TieKind.CONTRACT
            and tie.ftm_id.startswith(CONTRACT_PREFIX)
        ):
            from_records[(tie.subject_id, tie.object_id)] = rt
        elif membership.holds(near, tie.start_date or None):
            shares[tie.pk] = tie.amount
    cents: dict[int, int] = {}
    with_records: set[int] = set()
    for (rid, sid, day, report), amount in _record_groups(sorted(from_records)).items():
        rt = from_records[(rid, sid)]
        with_records.add(rt.tie.pk)
        if rt.near_is_subject:
            held = membership.holds(rid, day, report)
        else:
            held = membership.holds(sid, day)
        if held:
            cents[rt.tie.pk] = cents.get(rt.tie.pk, 0) + amount
    for rt in from_records.values():
        tie = rt.tie
        if tie.pk in cents:
            shares[tie.pk] = Decimal(cents[tie.pk]).scaleb(-2)
        elif tie.pk not in with_records:
            # Its records are not in this database (the tie came in a FollowTheMoney
            # file): dated like any other tie, by its start.
            near = tie.subject_id if rt.near_is_subject else tie.object_id
            if membership.holds(near, tie.start_date or None):
                shares[tie.pk] = tie.amount
    return shares


def _record_groups(pairs: list[tuple[int, int]]) -> dict[tuple[int, int, str, int | None], int]:
    """Cents of the stored records of these (recipient, sub-agency) pairs, by day and
    reported parent: the same records, counted the same way, as the pairs' contract ties.

    A transaction counts under its own recipient and its award's sub-agency; an
    award with no stored transaction counts its summary on its first day.
    """
    out: dict[tuple[int, int, str, int | None], int] = defaultdict(int)
    if not pairs:
        return out
    wanted = set(pairs)
    recipients = sorted({rid for rid, _sid in pairs})
    tx = quote_name(ContractTransaction._meta.db_table)
    aw = quote_name(ContractAward._meta.db_table)
    rows: list[tuple[int, int, str, str, str, str, str, str, int]] = []
    for start in range(0, len(recipients), _CHUNK):
        chunk = recipients[start : start + _CHUNK]
        marks = ", ".join(["%s"] * len(chunk))
        columns = "recipient_uei, recipient_duns, parent_uei, parent_duns, parent_name"
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT t.recipient_id, a.sub_agency_id,
                       t.recipient_uei, t.recipient_duns, t.parent_uei, t.parent_duns,
                       t.parent_name, t.action_date, SUM(t.obligation_cents)
                FROM {tx} t JOIN {aw} a ON a.award_key = t.award_key
                WHERE t.recipient_id IN ({marks}) AND a.sub_agency_id IS NOT NULL
                GROUP BY t.recipient_id, a.sub_agency_id, t.recipient_uei, t.recipient_duns,
                         t.parent_uei, t.parent_duns, t.parent_name, t.action_date
                UNION ALL
                SELECT a.recipient_id, a.sub_agency_id, {columns}, a.summary_base_date,
                       SUM(a.summary_obligated_cents)
                FROM {aw} a
                WHERE a.recipient_id IN ({marks}) AND a.sub_agency_id IS NOT NULL
                  AND a.summary_obligated_cents IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM {tx} t WHERE t.award_key = a.award_key)
                GROUP BY a.recipient_id, a.sub_agency_id, {columns}, a.summary_base_date
                """,  # noqa: S608 - table and column names from the models; values are parameters
                chunk + chunk,
            )
            rows.extend(row for row in cursor.fetchall() if (row[0], row[1]) in wanted)
    reports = _reported_parents({(r[0], *r[2:7]) for r in rows})
    for rid, sid, ruei, rduns, puei, pduns, pname, day, cents in rows:
        report = reports[(rid, ruei, rduns, puei, pduns, pname)]
        out[(rid, sid, day or "", report)] += int(cents)
    return out


def _reported_parents(
    records: set[tuple[int, str, str, str, str, str]],
) -> dict[tuple[int, str, str, str, str, str], int | None]:
    """The entity each record's parent fields name, read as the importer resolved them.

    A record is (recipient id, recipient UEI, DUNS, parent UEI, DUNS, name).
    The answer is the parent's entity id (after merges), the recipient's own
    id when the record names the recipient itself, 0 when no entity holds the
    parent named, and None when the record names no parent. The order is the
    resolver's: UEI, then DUNS, then (with neither) a name seen before.
    """
    uei_of = {r: _clean_uei(r[3]) for r in records}
    duns_of = {r: _clean_duns(r[4]) for r in records}
    uei_holder = _holders(IdentifierScheme.UEI, (v for v in uei_of.values() if v))
    duns_holder = _holders(IdentifierScheme.DUNS, (v for v in duns_of.values() if v))
    name_only = [r for r in records if not uei_of[r] and not duns_of[r] and r[5].strip()]
    own_names: dict[int, set[str]] = {
        pk: {name_key(n) for n in [name, *aliases]}
        for pk, name, aliases in Entity.objects.filter(
            pk__in={r[0] for r in name_only}
        ).values_list("pk", "name", "aliases")
    }
    keys = {r: parse_name(r[5]).key[:500] for r in name_only}
    remembered: dict[str, int] = {}
    wanted_keys = sorted(set(keys.values()))
    for start in range(0, len(wanted_keys), _CHUNK):
        remembered.update(
            NameOnlyRecipient.objects.filter(
                kind=EntityKind.COMPANY, name_key__in=wanted_keys[start : start + _CHUNK]
            ).values_list("name_key", "entity_id")
        )
    survivor = _survivors({*uei_holder.values(), *duns_holder.values(), *remembered.values()})

    out: dict[tuple[int, str, str, str, str, str], int | None] = {}
    for r in records:
        rid, ruei, rduns, puei, pduns, pname = r
        uei, duns = uei_of[r], duns_of[r]
        found: int | None
        if not uei and not duns and not pname.strip():
            found = None
        elif (uei and uei == _clean_uei(ruei)) or (duns and duns == _clean_duns(rduns)):
            found = rid
        elif uei and uei in uei_holder:
            found = survivor[uei_holder[uei]]
        elif duns and duns in duns_holder:
            found = survivor[duns_holder[duns]]
        elif uei or duns:
            found = 0
        elif names_itself(RecipientRecord(uei="", duns="", name=pname), own_names.get(rid, ())):
            found = rid
        else:
            held = remembered.get(keys[r])
            found = 0 if held is None else survivor[held]
        out[r] = found
    return out


def total_records(lines: list[TotalLine]) -> list[dict[str, object]]:
    """Total lines as plain values, for JSON and CSV."""
    return [
        {
            **({"component": line.component.name} if line.component is not None else {}),
            "kind": line.kind,
            "currency": line.currency or None,
            "amount": f"{line.amount:.2f}",
            "tie_count": line.tie_count,
        }
        for line in lines
    ]
