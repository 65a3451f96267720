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

from receipts.evidence import bulk, services
from receipts.evidence.bulk import quote_name
from receipts.evidence.models import Entity, SourceKind, Tie, TieKind, TieStatus
from receipts.ingest.models import ContractAward, ContractTotals, ContractTransaction

_CHUNK = 500


@dataclass
class TieCounts:
    created: int = 0
    updated: int = 0
    removed: int = 0
    ownership: int = 0
    problems: list[str] = field(default_factory=list)


def contract_tie_id(recipient: Entity, agency: Entity) -> str:
    return f"usaspending-contract-{recipient.ftm_id}-{agency.ftm_id}"


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


def _pair_totals(recipient_ids: list[int]) -> dict[tuple[int, int], _PairTotals]:
    aw, tx = (
        quote_name(ContractAward._meta.db_table),
        quote_name(ContractTransaction._meta.db_table),
    )
    marks = ", ".join(["%s"] * len(recipient_ids))
    totals: dict[tuple[int, int], _PairTotals] = defaultdict(_PairTotals)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT a.recipient_id, a.sub_agency_id, a.award_key, a.source_id,
                   a.summary_obligated_cents, a.summary_base_date, a.summary_latest_date,
                   t.n, t.cents, t.first_date, t.last_date
            FROM {aw} a LEFT JOIN (
                SELECT award_key, COUNT(*) AS n, SUM(obligation_cents) AS cents,
                       MIN(action_date) AS first_date, MAX(action_date) AS last_date
                FROM {tx}
                WHERE award_key IN (SELECT award_key FROM {aw} WHERE recipient_id IN ({marks}))
                GROUP BY award_key
            ) t ON t.award_key = a.award_key
            WHERE a.recipient_id IN ({marks}) AND a.sub_agency_id IS NOT NULL
            """,  # noqa: S608 - table names from the models
            recipient_ids + recipient_ids,
        )
        for (
            rid,
            sid,
            key,
            source_id,
            s_cents,
            s_base,
            s_latest,
            n,
            cents,
            first,
            last,
        ) in cursor.fetchall():
            if n:
                amount, first_date, last_date = int(cents), first, last
            elif s_cents is not None:
                amount, first_date, last_date, n = int(s_cents), s_base, s_latest or s_base, 0
                totals[(rid, sid)].by_fy[fiscal_year_of(s_base)] += amount
            else:
                continue  # every transaction of it was deleted and no summary is stored
            p = totals[(rid, sid)]
            p.cents += amount
            p.awards += 1
            p.transactions += int(n)
            p.first = min(p.first or first_date, first_date)
            p.last = max(p.last, last_date)
            if source_id is not None:
                p.citations.append((source_id, "", key))
        cursor.execute(
            f"""
            SELECT a.recipient_id, a.sub_agency_id, t.fiscal_year, SUM(t.obligation_cents)
            FROM {tx} t JOIN {aw} a ON a.award_key = t.award_key
            WHERE a.recipient_id IN ({marks}) AND a.sub_agency_id IS NOT NULL
            GROUP BY a.recipient_id, a.sub_agency_id, t.fiscal_year
            """,  # noqa: S608
            recipient_ids,
        )
        for rid, sid, fy, cents in cursor.fetchall():
            if (rid, sid) in totals:
                totals[(rid, sid)].by_fy[int(fy)] += int(cents)
    return totals


def recompute_contract_ties(pairs: Iterable[tuple[int, int]], counts: TieCounts) -> None:
    """Make the contract tie of each (recipient, sub-agency) pair match the stored records."""
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
        gone: list[str] = []
        for rid in chunk:
            for sid in by_recipient[rid]:
                ftm_id = contract_tie_id(entities[rid], entities[sid])
                t = totals.get((rid, sid))
                if t is None or not t.citations:
                    gone.append(ftm_id)
                    continue
                specs.append(
                    services.TieSpec(
                        subject_id=rid,
                        object_id=sid,
                        kind=TieKind.CONTRACT,
                        ftm_id=ftm_id,
                        citations=t.citations,
                        status=TieStatus.ACTIVE,
                        start_date=t.first,
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
            before = {
                k for (k,) in bulk.select_in(Tie, ["ftm_id"], "ftm_id", [s.ftm_id for s in specs])
            }
            ids = services.record_ties_bulk(specs, prune_source_kind=SourceKind.DATASET_ROW)
            counts.created += len(set(ids) - before)
            counts.updated += len(before)
            ContractTotals.objects.filter(tie_id__in=list(ids.values())).delete()
            bulk.insert_rows(
                ContractTotals,
                [
                    "tie_id",
                    "obligated_cents",
                    "award_count",
                    "transaction_count",
                    "first_action_date",
                    "last_action_date",
                    "by_fiscal_year",
                ],
                [
                    [
                        ids[s.ftm_id],
                        t.cents,
                        t.awards,
                        t.transactions,
                        t.first,
                        t.last,
                        {str(fy): c for fy, c in sorted(t.by_fy.items())},
                    ]
                    for s in specs
                    for t in [totals[(s.subject_id, s.object_id)]]
                ],
            )
            for tie in Tie.objects.filter(ftm_id__in=gone):
                services.delete_tie(tie)
                counts.removed += 1


def _parent_observations(
    recipient_ids: list[int],
) -> list[tuple[int, str, str, str, str, str, int | None]]:
    """(recipient, parent UEI, DUNS, name, first seen, last seen, a citing source) from stored records."""
    aw, tx = (
        quote_name(ContractAward._meta.db_table),
        quote_name(ContractTransaction._meta.db_table),
    )
    marks = ", ".join(["%s"] * len(recipient_ids))
    has_parent = "(x.parent_uei <> '' OR x.parent_duns <> '' OR x.parent_name <> '')"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT a.recipient_id, x.parent_uei, x.parent_duns, x.parent_name,
                   MIN(x.action_date), MAX(x.action_date), MIN(a.source_id)
            FROM {tx} x JOIN {aw} a ON a.award_key = x.award_key
            WHERE a.recipient_id IN ({marks}) AND {has_parent}
            GROUP BY a.recipient_id, x.parent_uei, x.parent_duns, x.parent_name
            UNION ALL
            SELECT x.recipient_id, x.parent_uei, x.parent_duns, x.parent_name,
                   MIN(x.summary_base_date),
                   MAX(CASE WHEN x.summary_latest_date <> '' THEN x.summary_latest_date ELSE x.summary_base_date END),
                   MIN(x.source_id)
            FROM {aw} x
            WHERE x.recipient_id IN ({marks}) AND x.summary_obligated_cents IS NOT NULL AND {has_parent}
            GROUP BY x.recipient_id, x.parent_uei, x.parent_duns, x.parent_name
            """,  # noqa: S608 - table names from the models
            recipient_ids + recipient_ids,
        )
        return [tuple(row) for row in cursor.fetchall()]  # type: ignore[misc]


def record_reported_parents(
    recipient_ids: Iterable[int], resolver: object, counts: TieCounts
) -> None:
    """Ownership ties from the parents recipients report, dated by when each was seen.

    The parent seen last is the current owner (active, from when it was first
    seen); a parent the records stopped naming is an ended owner, ending when
    it was last seen. A recipient named as its own parent owns itself: that
    ends earlier parents without adding a tie.
    """
    from receipts.ingest.resolution import RecipientRecord

    ids = sorted(set(recipient_ids))
    for start in range(0, len(ids), _CHUNK * 4):
        rows = _parent_observations(ids[start : start + _CHUNK * 4])
        records = {RecipientRecord(uei=r[1], duns=r[2], name=r[3]) for r in rows}
        parents = resolver.resolve_many(records)  # type: ignore[attr-defined]
        # recipient -> parent -> [first seen, last seen, citing source]
        seen: dict[int, dict[int, list[Any]]] = defaultdict(dict)
        for rid, uei, duns, name, first, last, source_id in rows:
            if not first or source_id is None:
                continue
            parent = parents[RecipientRecord(uei=uei, duns=duns, name=name)]
            obs = seen[rid].setdefault(parent.pk, [first, last, source_id])
            obs[0], obs[1] = min(obs[0], first), max(obs[1], last)
        entities = Entity.objects.only("pk", "name", "ftm_id").in_bulk(
            list(seen) + [p for per in seen.values() for p in per]
        )
        specs: list[services.TieSpec] = []
        for rid, per in seen.items():
            child = entities[rid]
            current = max(per.items(), key=lambda item: (item[1][1], item[1][0]))[0]
            for parent_id, (first, last, source_id) in per.items():
                if parent_id == rid:
                    continue
                parent = entities[parent_id]
                active = parent_id == current
                specs.append(
                    services.TieSpec(
                        subject_id=parent_id,
                        object_id=rid,
                        kind=TieKind.OWNS,
                        ftm_id=f"usaspending-owns-{parent.ftm_id}-{child.ftm_id}",
                        citations=[(source_id, "", "recipient_parent_uei / recipient_parent_name")],
                        status=TieStatus.ACTIVE if active else TieStatus.ENDED,
                        start_date=str(first),
                        end_date="" if active else str(last),
                        summary=f"Reported as {child.name}'s ultimate parent in USAspending "
                        f"records from {first} to {last}.",
                    )
                )
        _ids, refused = services.record_structural_ties_bulk(specs)
        counts.ownership += len(specs) - len(refused)
        for spec, why in refused:
            counts.problems.append(
                f"ownership of {entities[spec.object_id].name} by {entities[spec.subject_id].name}: {why}"
            )
