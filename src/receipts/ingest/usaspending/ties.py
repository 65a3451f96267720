"""Ties derived from stored contract records: recipient x sub-agency contracts, and
the ownership that recipients report.

Totals are always recomputed from every stored award and transaction of a
pair, never added to what a tie held, so overlapping or repeated imports
cannot count anything twice. An award counts its transactions'
``federal_action_obligation`` when any are stored, and its summary's
``total_obligated_amount`` only when none are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from receipts.contracts.models import ContractAward, ContractTotals, ContractTransaction
from receipts.evidence import bulk, services
from receipts.evidence.bulk import quote_name
from receipts.evidence.ftm_ids import ftm_id_for
from receipts.evidence.models import Entity, SourceKind, Tie, TieKind, TieStatus
from receipts.evidence.signals import ties_removing

_CHUNK = 500


@dataclass
class TieCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    # Ownership ties recorded (the sum of created, updated, unchanged and ended), and how.
    ownership: int = 0
    ownership_created: int = 0
    ownership_updated: int = 0
    ownership_unchanged: int = 0
    ownership_ended: int = 0
    ownership_removed: int = 0
    # Contract ties the periods of performance ended, or reopened (receipts.contracts.periods).
    ended: int = 0
    reopened: int = 0
    problems: list[str] = field(default_factory=list)


CONTRACT_PREFIX = "usaspending-contract-"
OWNS_PREFIX = "usaspending-owns-"


def contract_tie_id(recipient: Entity, agency: Entity) -> str:
    return ftm_id_for(f"{CONTRACT_PREFIX}{recipient.ftm_id}-{agency.ftm_id}")


def award_source_id(award_key: str) -> str:
    """The FtM id of the source that cites one award (its key as FollowTheMoney keeps it)."""
    return ftm_id_for(f"usaspending-award-{award_key}")


def _one_tie_per_pair(
    kind: str,
    prefix: str,
    column: str,
    ids: list[int],
    canonical: dict[tuple[int, int], str],
    *,
    complete: bool = False,
) -> int:
    """Leave at most one derived tie per (subject, object) pair, under its canonical id.

    A merge moves the ties of the merged entity, so a pair may hold a second
    derived tie under the other entity's id; it would count twice once the
    pair is recomputed. The first such tie is renamed to the canonical id when
    none holds it (so watchers see no "new" tie), the rest are deleted. Pairs
    in ``canonical`` with an empty id keep no derived tie at all. ``column``
    (subject or object) selects the ties by ``ids``; pairs not in ``canonical``
    are left alone, or deleted when ``canonical`` is ``complete`` for those
    ids. Returns how many were deleted.
    """
    by_pair: dict[tuple[int, int], list[tuple[int, str]]] = defaultdict(list)
    for pk, ftm_id, subject_id, object_id in Tie.objects.filter(
        **{f"{column}_id__in": ids}, kind=kind, ftm_id__startswith=prefix
    ).values_list("pk", "ftm_id", "subject_id", "object_id"):
        by_pair[(subject_id, object_id)].append((pk, ftm_id))
    doomed: list[int] = []
    unsupported: list[int] = []  # no record behind them any more, unlike merge leftovers
    for pair, ties in by_pair.items():
        if pair not in canonical and not complete:
            continue  # a pair this call is not about
        wanted = canonical.get(pair, "")
        if not wanted:
            unsupported += [pk for pk, _ in ties]
            continue
        if all(ftm_id != wanted for _, ftm_id in ties):
            Tie.objects.filter(pk=ties[0][0]).update(ftm_id=wanted)
            ties = [(ties[0][0], wanted), *ties[1:]]
        doomed += [pk for pk, ftm_id in ties if ftm_id != wanted]
    if unsupported:
        # Watchers hear of it (receipts.watch) while the ties can still be read.
        ties_removing.send(sender=Tie, removed=unsupported)
    if doomed or unsupported:
        Tie.objects.filter(pk__in=doomed + unsupported).delete()
    return len(doomed) + len(unsupported)


def fiscal_year_of(date: str) -> int:
    year, month = int(date[:4]), int(date[5:7])
    return year + 1 if month >= 10 else year


@dataclass
class _PairTotals:
    cents: int = 0
    awards: int = 0
    transactions: int = 0
    first: str = ""
    last: str = ""
    by_fy: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    citations: list[tuple[int, str, str]] = field(default_factory=list)
    # Each award's current end of performance ('' when not on record), and the source of
    # the award that ends last.
    ends: list[str] = field(default_factory=list)
    last_end_source: int | None = None


def _pair_totals(recipient_ids: list[int]) -> dict[tuple[int, int], _PairTotals]:
    """Totals of every (recipient, sub-agency) pair of these recipients, from stored records.

    Transactions count for their own recipient (after a novation an award's
    earlier actions belong to the company that held it then), under their
    award's sub-agency; an award counts once for each recipient it has
    actions of. An award with no stored transaction counts its summary's
    total for the award's recipient, in the fiscal year of its first action.
    """
    aw, tx = (
        quote_name(ContractAward._meta.db_table),
        quote_name(ContractTransaction._meta.db_table),
    )
    marks = ", ".join(["%s"] * len(recipient_ids))
    totals: dict[tuple[int, int], _PairTotals] = defaultdict(_PairTotals)

    def add(rid: int, sid: int, key: str, source_id: int | None, n: int, cents: int,
            first: str, last: str, end: str) -> None:  # fmt: skip
        p = totals[(rid, sid)]
        if end and (not p.ends or end >= max(p.ends)):
            p.last_end_source = source_id
        p.ends.append(end or "")
        p.cents += cents
        p.awards += 1
        p.transactions += n
        p.first = min(p.first or first, first)
        p.last = max(p.last, last)
        if source_id is not None:
            p.citations.append((source_id, "", key))

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT t.recipient_id, a.sub_agency_id, a.award_key, a.source_id,
                   COUNT(*), SUM(t.obligation_cents), MIN(t.action_date), MAX(t.action_date),
                   a.current_end_date
            FROM {tx} t JOIN {aw} a ON a.award_key = t.award_key
            WHERE t.recipient_id IN ({marks}) AND a.sub_agency_id IS NOT NULL
            GROUP BY t.recipient_id, a.sub_agency_id, a.award_key, a.source_id, a.current_end_date
            """,  # noqa: S608 - table names from the models
            recipient_ids,
        )
        for rid, sid, key, source_id, n, cents, first, last, end in cursor.fetchall():
            add(rid, sid, key, source_id, int(n), int(cents), first, last, end)
        cursor.execute(
            f"""
            SELECT a.recipient_id, a.sub_agency_id, a.award_key, a.source_id,
                   a.summary_obligated_cents, a.summary_base_date, a.summary_latest_date,
                   a.current_end_date
            FROM {aw} a
            WHERE a.recipient_id IN ({marks}) AND a.sub_agency_id IS NOT NULL
              AND a.summary_obligated_cents IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM {tx} t WHERE t.award_key = a.award_key)
            """,  # noqa: S608
            recipient_ids,
        )
        for rid, sid, key, source_id, cents, base, latest, end in cursor.fetchall():
            add(rid, sid, key, source_id, 0, int(cents), base, latest or base, end)
            totals[(rid, sid)].by_fy[fiscal_year_of(base)] += int(cents)
        cursor.execute(
            f"""
            SELECT t.recipient_id, a.sub_agency_id, t.fiscal_year, SUM(t.obligation_cents)
            FROM {tx} t JOIN {aw} a ON a.award_key = t.award_key
            WHERE t.recipient_id IN ({marks}) AND a.sub_agency_id IS NOT NULL
            GROUP BY t.recipient_id, a.sub_agency_id, t.fiscal_year
            """,  # noqa: S608
            recipient_ids,
        )
        for rid, sid, fy, cents in cursor.fetchall():
            if (rid, sid) in totals:
                totals[(rid, sid)].by_fy[int(fy)] += int(cents)
    return totals


# ContractTotals' figures, in the order _PairTotals gives them (see ``recompute_contract_ties``).
_TOTALS_COLUMNS = (
    "obligated_cents",
    "award_count",
    "transaction_count",
    "first_action_date",
    "last_action_date",
    "by_fiscal_year",
)


def _by_fy(t: _PairTotals) -> dict[str, int]:
    return {str(fy): c for fy, c in sorted(t.by_fy.items())}


def recompute_contract_ties(
    pairs: Iterable[tuple[int, int]], counts: TieCounts, *, today: str = ""
) -> None:
    """Make the contract tie of each (recipient, sub-agency) pair match the stored records;
    a tie whose awards' periods of performance have all passed by ``today`` (default
    today) is ended as of the latest (receipts.contracts.periods)."""
    from receipts.contracts.periods import ended_on, follow_periods, today_iso

    today = today or today_iso()
    wanted = {p for p in pairs if p[0] is not None and p[1] is not None}
    by_recipient: dict[int, set[int]] = defaultdict(set)
    for rid, sid in wanted:
        by_recipient[rid].add(sid)
    recipient_ids = sorted(by_recipient)
    for start in range(0, len(recipient_ids), _CHUNK):
        chunk = recipient_ids[start : start + _CHUNK]
        totals = _pair_totals(chunk)
        entity_ids = set(chunk) | {sid for rid in chunk for sid in by_recipient[rid]}
        entities = Entity.objects.only("pk", "ftm_id").in_bulk(list(entity_ids))
        specs: list[services.TieSpec] = []
        for rid in chunk:
            for sid in by_recipient[rid]:
                ftm_id = contract_tie_id(entities[rid], entities[sid])
                t = totals.get((rid, sid))
                if t is None or not t.citations:
                    continue  # no record left: _one_tie_per_pair removes its tie below
                specs.append(
                    services.TieSpec(
                        subject_id=rid,
                        object_id=sid,
                        kind=TieKind.CONTRACT,
                        ftm_id=ftm_id,
                        citations=t.citations,
                        status=(
                            TieStatus.ENDED if ended_on(t.ends, today, t.last) else TieStatus.ACTIVE
                        ),
                        start_date=t.first,
                        end_date=ended_on(t.ends, today, t.last),
                        amount=Decimal(t.cents) / 100,
                        currency="USD",
                        summary=(
                            f"{t.awards} award{'s' if t.awards != 1 else ''}, {t.transactions} "
                            f"transaction{'s' if t.transactions != 1 else ''} in USAspending; "
                            f"last action {t.last}."
                        ),
                    )
                )
        with transaction.atomic():
            # One tie per pair: those a merge moved here are renamed or removed first, and
            # the tie of a pair no stored record supports any more goes (with an event).
            canonical = {(s.subject_id, s.object_id): s.ftm_id for s in specs}
            counts.removed += _one_tie_per_pair(
                TieKind.CONTRACT,
                CONTRACT_PREFIX,
                "subject",
                chunk,
                {
                    (rid, sid): canonical.get((rid, sid), "")
                    for rid in chunk
                    for sid in by_recipient[rid]
                },
            )
            before = {
                k for (k,) in bulk.select_in(Tie, ["ftm_id"], "ftm_id", [s.ftm_id for s in specs])
            }
            # What the existing ties said, to tell an update from a recomputation that
            # changed nothing (re-importing the same files).
            said = {
                ftm_id: rest
                for ftm_id, *rest in ContractTotals.objects.filter(
                    tie__ftm_id__in=sorted(before)
                ).values_list("tie__ftm_id", *_TOTALS_COLUMNS)
            }
            ids = services.record_ties_bulk(specs, prune_source_kind=SourceKind.DATASET_ROW)
            counts.created += len(set(ids) - before)
            ended, reopened = follow_periods(
                {
                    ids[s.ftm_id]: (
                        s.end_date,
                        any(e >= today for e in t.ends if e),
                        t.last_end_source,
                    )
                    for s in specs
                    if s.ftm_id in before
                    for t in [totals[(s.subject_id, s.object_id)]]
                }
            )
            counts.ended += ended
            counts.reopened += reopened
            # Totals are written only where they changed: a re-import writes none.
            rewritten = []
            for spec in specs:
                t = totals[(spec.subject_id, spec.object_id)]
                now = [t.cents, t.awards, t.transactions, t.first, t.last, _by_fy(t)]
                if said.get(spec.ftm_id) == now:
                    counts.unchanged += 1
                    continue
                if spec.ftm_id in before:
                    counts.updated += 1
                rewritten.append([ids[spec.ftm_id], *now])
            tie_ids = [row[0] for row in rewritten]
            for start in range(0, len(tie_ids), 900):
                ContractTotals.objects.filter(tie_id__in=tie_ids[start : start + 900]).delete()
            bulk.insert_rows(ContractTotals, ["tie_id", *_TOTALS_COLUMNS], rewritten)


def _parent_observations(
    recipient_ids: list[int],
) -> list[tuple[int, str, str, str, str, str, int | None, int]]:
    """(recipient, parent UEI, DUNS, name, first seen, last seen, the first award reporting it,
    names itself)
    from stored records.

    A transaction speaks for its own recipient only: after a novation an
    award's earlier actions name another company and that company's parent,
    which say nothing of the award's recipient now. An award summary speaks
    only for awards with no transactions stored (its parent is the latest
    one, and its dates span the whole award). A parent named by the
    recipient's own UEI or DUNS is the recipient itself, whatever entity
    that identifier would resolve to.
    """
    aw, tx = (
        quote_name(ContractAward._meta.db_table),
        quote_name(ContractTransaction._meta.db_table),
    )
    marks = ", ".join(["%s"] * len(recipient_ids))
    has_parent = "(x.parent_uei <> '' OR x.parent_duns <> '' OR x.parent_name <> '')"
    names_itself = (
        "MAX(CASE WHEN (x.parent_uei <> '' AND x.parent_uei = x.recipient_uei) "
        "OR (x.parent_duns <> '' AND x.parent_duns = x.recipient_duns) THEN 1 ELSE 0 END)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT x.recipient_id, x.parent_uei, x.parent_duns, x.parent_name,
                   MIN(x.action_date), MAX(x.action_date), MIN(a.award_key), {names_itself}
            FROM {tx} x JOIN {aw} a ON a.award_key = x.award_key
            WHERE x.recipient_id IN ({marks}) AND {has_parent}
            GROUP BY x.recipient_id, x.parent_uei, x.parent_duns, x.parent_name
            UNION ALL
            SELECT x.recipient_id, x.parent_uei, x.parent_duns, x.parent_name,
                   MIN(x.summary_base_date),
                   MAX(CASE WHEN x.summary_latest_date <> '' THEN x.summary_latest_date ELSE x.summary_base_date END),
                   MIN(x.award_key), {names_itself}
            FROM {aw} x
            WHERE x.recipient_id IN ({marks}) AND x.summary_obligated_cents IS NOT NULL AND {has_parent}
              AND NOT EXISTS (SELECT 1 FROM {tx} t WHERE t.award_key = x.award_key)
            GROUP BY x.recipient_id, x.parent_uei, x.parent_duns, x.parent_name
            """,  # noqa: S608 - table names from the models
            recipient_ids + recipient_ids,
        )
        return [tuple(row) for row in cursor.fetchall()]  # type: ignore[misc]


_OWNERSHIP_FIELDS = ("subject_id", "object_id", "status", "start_date", "end_date", "summary")


def _ownership_said(ftm_ids: list[str]) -> dict[str, tuple[Any, ...]]:
    """What the stored ownership ties of these ids say, before they are recorded again."""
    return {
        ftm_id: tuple(rest)
        for ftm_id, *rest in bulk.select_in(Tie, ["ftm_id", *_OWNERSHIP_FIELDS], "ftm_id", ftm_ids)
    }


def _count_ownership(
    recorded: list[services.TieSpec], said: dict[str, tuple[Any, ...]], counts: TieCounts
) -> None:
    """Count each recorded ownership tie as created, ended (an owner no longer
    reported), updated or unchanged, against what it said before."""
    for spec in recorded:
        before = said.get(spec.ftm_id)
        now = tuple(str(getattr(spec, f) or "") for f in _OWNERSHIP_FIELDS[2:])
        if before is None:
            counts.ownership_created += 1
        elif (before[0], before[1], *(str(v or "") for v in before[2:])) == (
            spec.subject_id,
            spec.object_id,
            *now,
        ):
            counts.ownership_unchanged += 1
        elif spec.status == TieStatus.ENDED and before[2] != TieStatus.ENDED:
            counts.ownership_ended += 1
        else:
            counts.ownership_updated += 1


def record_reported_parents(
    recipient_ids: Iterable[int], resolver: object, counts: TieCounts
) -> None:
    """Ownership ties from the parents recipients report, dated by when each was seen.

    The parent seen last is the current owner (active, from when it was first
    seen); a parent the records stopped naming is an ended owner, ending when
    it was last seen. A recipient named as its own parent owns itself: that
    ends earlier parents without adding a tie.
    """
    from receipts.ingest.resolution import RecipientRecord, name_key, names_itself

    ids = sorted(set(recipient_ids))
    for start in range(0, len(ids), _CHUNK * 4):
        rows = _parent_observations(ids[start : start + _CHUNK * 4])
        # A parent named only by a name the recipient itself goes by is the recipient.
        own_names = {
            pk: {name_key(n) for n in [name, *aliases]}
            for pk, name, aliases in Entity.objects.filter(
                pk__in={r[0] for r in rows if not r[1] and not r[2]}
            ).values_list("pk", "name", "aliases")
        }
        rows = [
            (*r[:7], 1)
            if names_itself(
                RecipientRecord(uei=r[1], duns=r[2], name=r[3]), own_names.get(r[0], ())
            )
            else r
            for r in rows
        ]
        records = {RecipientRecord(uei=r[1], duns=r[2], name=r[3]) for r in rows if not r[7]}
        parents = resolver.resolve_many(records)  # type: ignore[attr-defined]
        # recipient -> parent -> [first seen, last seen, citing source]
        seen: dict[int, dict[int, list[Any]]] = defaultdict(dict)
        # Each cites the record of the first award (by key) that reports it: the same
        # record whichever import stored it first.
        source_of = dict(
            bulk.select_in(
                ContractAward, ["award_key", "source_id"], "award_key", sorted({r[6] for r in rows})
            )
        )
        for rid, uei, duns, name, first, last, award_key, itself in rows:
            if not first or source_of.get(award_key) is None:
                continue
            parent_id = (
                rid if itself else parents[RecipientRecord(uei=uei, duns=duns, name=name)].pk
            )
            obs = seen[rid].setdefault(parent_id, [first, last, award_key])
            obs[0], obs[1], obs[2] = min(obs[0], first), max(obs[1], last), min(obs[2], award_key)
        entities = Entity.objects.only("pk", "name", "ftm_id").in_bulk(
            list(seen) + [p for per in seen.values() for p in per]
        )
        specs: list[services.TieSpec] = []
        for rid, per in seen.items():
            child = entities[rid]
            current = max(per.items(), key=lambda item: (item[1][1], item[1][0]))[0]
            for parent_id, (first, last, award_key) in per.items():
                if parent_id == rid:
                    continue
                parent = entities[parent_id]
                active = parent_id == current
                specs.append(
                    services.TieSpec(
                        subject_id=parent_id,
                        object_id=rid,
                        kind=TieKind.OWNS,
                        ftm_id=ftm_id_for(f"{OWNS_PREFIX}{parent.ftm_id}-{child.ftm_id}"),
                        citations=[
                            (
                                source_of[award_key],
                                "",
                                "recipient_parent_uei / recipient_parent_name",
                            )
                        ],
                        status=TieStatus.ACTIVE if active else TieStatus.ENDED,
                        start_date=str(first),
                        end_date="" if active else str(last),
                        summary=f"Reported as {child.name}'s ultimate parent in USAspending "
                        f"records from {first} to {last}.",
                    )
                )
        # The records are all there is to say of these recipients' parents: an
        # ownership no record reports any more (its transactions were deleted,
        # or a merge moved a second copy here) goes.
        with transaction.atomic():
            counts.ownership_removed += _one_tie_per_pair(
                TieKind.OWNS,
                OWNS_PREFIX,
                "object",
                ids[start : start + _CHUNK * 4],
                {(spec.subject_id, spec.object_id): spec.ftm_id for spec in specs},
                complete=True,
            )
        said = _ownership_said([s.ftm_id for s in specs])
        # The record each cites is the one the stored records give now: others go.
        _ids, refused = services.record_structural_ties_bulk(
            specs, prune_source_kind=SourceKind.DATASET_ROW
        )
        counts.ownership += len(specs) - len(refused)
        _count_ownership([s for s in specs if all(s is not r for r, _ in refused)], said, counts)
        for spec, why in refused:
            counts.problems.append(
                f"ownership of {entities[spec.object_id].name} by {entities[spec.subject_id].name}: {why}"
            )


def refresh_entity_ties(entity_ids: Iterable[int]) -> TieCounts:
    """Recompute the contract and ownership ties the stored records give these entities.

    For merges and their undoing: a merge moves award records and ties from
    one entity to the other, and this leaves one tie per recipient and
    sub-agency (and per owner), each with the totals of the records now
    behind it, so nothing counts twice.
    """
    from receipts.ingest.resolution import RecipientResolver

    ids = sorted(set(entity_ids))
    awards = ContractAward.objects.exclude(recipient=None).exclude(sub_agency=None)
    pairs = set(
        awards.filter(recipient_id__in=ids).values_list("recipient_id", "sub_agency_id")
    ) | set(awards.filter(sub_agency_id__in=ids).values_list("recipient_id", "sub_agency_id"))
    contract_ties = Tie.objects.filter(kind=TieKind.CONTRACT, ftm_id__startswith=CONTRACT_PREFIX)
    pairs |= set(contract_ties.filter(subject_id__in=ids).values_list("subject_id", "object_id"))
    pairs |= set(contract_ties.filter(object_id__in=ids).values_list("subject_id", "object_id"))
    children = set(
        Tie.objects.filter(
            kind=TieKind.OWNS, ftm_id__startswith=OWNS_PREFIX, subject_id__in=ids
        ).values_list("object_id", flat=True)
    )
    counts = TieCounts()
    recompute_contract_ties(pairs, counts)
    record_reported_parents(set(ids) | children, RecipientResolver(), counts)
    return counts
