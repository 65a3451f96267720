"""A canonical dump of what an import leaves for a reader to see, to compare two databases.

Everything a page, an export or the review queue shows is in it: entities
with their names, aliases and identifiers, ties with their dates, amounts
and citations, awards, transactions and contract totals, record sources and
the review queue. Left out: primary keys, random FtM ids, creation and change
timestamps, change events, import runs and the source that stands for one
run's files (which runs mentioned an agency code is the history of the
imports, not a fact of the records). Entities are named by their
identifiers, or by kind and name when they have none; lists are sorted.
"""

from __future__ import annotations

from typing import Any

from receipts.contracts.models import ContractAward, ContractTotals, ContractTransaction
from receipts.evidence.models import Citation, Entity, Identifier, Source, Tie
from receipts.ingest.models import NameOnlyRecipient, ReviewItem

RUN_SOURCE_PREFIX = "usaspending-download-"


def _labels() -> dict[int, str]:
    idents: dict[int, list[str]] = {}
    for entity_id, scheme, value in Identifier.objects.values_list("entity_id", "scheme", "value"):
        idents.setdefault(entity_id, []).append(f"{scheme}:{value}")
    return {
        pk: f"{kind}[{','.join(sorted(idents[pk]))}]" if pk in idents else f"{kind}:{name}"
        for pk, kind, name in Entity.objects.values_list("pk", "kind", "name")
    }


def _source_label(source: Source | None) -> str:
    return "" if source is None else source.ftm_id or f"{source.title} ({source.url})"


def canonical_dump() -> dict[str, list[Any]]:
    """Everything user-visible that the Receipts database holds, sorted, without keys."""
    label = _labels()
    sources = {s.pk: s for s in Source.objects.all()}
    run_sources = {pk for pk, s in sources.items() if s.ftm_id.startswith(RUN_SOURCE_PREFIX)}

    def cites(**where: Any) -> list[tuple[str, str, str]]:
        return sorted(
            (_source_label(sources[source_id]), quote, locator)
            for source_id, quote, locator in Citation.objects.filter(**where).values_list(
                "source_id", "quote", "locator"
            )
            if source_id not in run_sources
        )

    entities = sorted(
        (
            label[e.pk],
            e.kind,
            e.name,
            tuple(sorted(e.aliases)),
            e.country,
            e.summary,
            label.get(e.merged_into_id, ""),
            tuple(cites(entity_id=e.pk)),
        )
        for e in Entity.objects.all()
    )
    ties = sorted(
        (
            label[t.subject_id],
            t.kind,
            label[t.object_id],
            t.status,
            t.start_date,
            t.end_date,
            str(t.amount),
            t.currency,
            t.summary,
            tuple(cites(tie_id=t.pk)),
        )
        for t in Tie.objects.all()
    )
    record_sources = sorted(
        (s.ftm_id, s.kind, s.title, s.publisher, s.url, s.published, s.retrieved)
        for pk, s in sources.items()
        if pk not in run_sources
    )
    award_fields = [
        f.attname
        for f in ContractAward._meta.concrete_fields
        if f.attname not in ("id", "recipient_id", "sub_agency_id", "source_id")
    ]
    awards = sorted(
        (
            *(getattr(a, f) for f in award_fields),
            label.get(a.recipient_id, ""),
            label.get(a.sub_agency_id, ""),
            _source_label(sources.get(a.source_id)),
        )
        for a in ContractAward.objects.all()
    )
    tx_fields = [
        f.attname
        for f in ContractTransaction._meta.concrete_fields
        if f.attname not in ("id", "recipient_id")
    ]
    transactions = sorted(
        (*(getattr(t, f) for f in tx_fields), label.get(t.recipient_id, ""))
        for t in ContractTransaction.objects.all()
    )
    totals = sorted(
        (
            label[c.tie.subject_id],
            label[c.tie.object_id],
            c.obligated_cents,
            c.award_count,
            c.transaction_count,
            c.first_action_date,
            c.last_action_date,
            tuple(sorted(c.by_fiscal_year.items())),
        )
        for c in ContractTotals.objects.select_related("tie")
    )
    review = sorted(
        (label[r.entity_id], label[r.candidate_id], round(r.score, 3), r.reason, r.status)
        for r in ReviewItem.objects.all()
    )
    name_only = sorted(
        (n.kind, n.name_key, label[n.entity_id]) for n in NameOnlyRecipient.objects.all()
    )
    return {
        "entities": entities,
        "ties": ties,
        "sources": record_sources,
        "awards": awards,
        "transactions": transactions,
        "contract_totals": totals,
        "review_queue": review,
        "name_only_recipients": name_only,
    }


def differences(a: dict[str, list[Any]], b: dict[str, list[Any]], limit: int = 12) -> list[str]:
    """Lines naming what one dump holds and the other does not, section by section."""
    out: list[str] = []
    for section in a:
        left, right = set(a[section]), set(b[section])
        out += [f"{section}: only in the first: {x}" for x in sorted(left - right, key=str)]
        out += [f"{section}: only in the second: {x}" for x in sorted(right - left, key=str)]
    return out[:limit] + ([f"... {len(out) - limit} more"] if len(out) > limit else [])
