"""The record of a tie as every reader gets it: the API, ``receipts ties --format json`` and the pages.

``load_receipts`` reads what a list of ties shows besides the ties themselves
(their citations with sources, how many there are, and a contract tie's
totals) in a fixed number of queries whatever the number of ties;
``tie_record`` turns one tie so loaded into a JSON-ready dict, the shape the
API documents as ``TieOut``. Partial dates stay the strings they are stored
as and amounts travel as decimal strings, so nothing is rounded on the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from receipts.contracts.models import ContractTotals
from receipts.contracts.queries import totals_by_tie

from .models import Citation, Entity, Tie, TieKind
from .queries import RolledTie, prefetch_first_citations


def attach_contract_totals(ties: Sequence[Tie]) -> None:
    """Set ``tie.totals`` on each tie: its contract totals, or None where it has none
    (one query per 2,000 contract ties)."""
    totals = totals_by_tie([t.pk for t in ties if t.kind == TieKind.CONTRACT])
    for tie in ties:
        tie.totals = totals.get(tie.pk)  # type: ignore[attr-defined]


def load_receipts(ties: Sequence[Tie], citations_limit: int | None) -> None:
    """Load each tie's first ``citations_limit`` citations (all with None) with their
    sources, ``citation_count`` (how many it has in all) and ``totals``."""
    prefetch_first_citations(list(ties), citations_limit, counts=True)
    attach_contract_totals(ties)


def _cents(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def entity_ref(entity: Entity) -> dict[str, str]:
    return {"slug": entity.slug, "name": entity.name}


def citation_record(citation: Citation) -> dict[str, Any]:
    source = citation.source
    return {
        "id": citation.pk,
        "source_id": source.pk,
        "title": source.title,
        "publisher": source.publisher,
        "published": source.published or None,
        "url": source.url or None,
        "archive_sha256": source.archive_sha256 or None,
        "quote": citation.quote,
        "locator": citation.locator,
    }


def contract_totals_record(totals: ContractTotals | None) -> dict[str, Any] | None:
    if totals is None:
        return None
    return {
        "obligated": _cents(totals.obligated_cents),
        "award_count": totals.award_count,
        "transaction_count": totals.transaction_count,
        "first_action_date": totals.first_action_date,
        "last_action_date": totals.last_action_date,
        "by_fiscal_year": {fy: _cents(c) for fy, c in sorted(totals.by_fiscal_year.items())},
    }


def tie_record(rolled: RolledTie, counted: Decimal | None = None) -> dict[str, Any]:
    """A tie as reached from an entity, loaded with ``load_receipts``.

    ``counted`` is the part of its amount that counts in a list's totals
    (``receipts.ingest.family_totals``); None outside a list or without an amount.
    """
    tie = rolled.tie
    citations = tie.citations.all()
    return {
        "id": tie.pk,
        "subject": entity_ref(tie.subject),
        "object": entity_ref(tie.object),
        "kind": tie.kind,
        "status": tie.status,
        "start_date": tie.start_date or None,
        "end_date": tie.end_date or None,
        "amount": None if tie.amount is None else str(tie.amount),
        "currency": tie.currency or None,
        "summary": tie.summary,
        "path": rolled.path_text(),
        "near_path": [e.slug for e in rolled.near_path],
        "far_path": [e.slug for e in rolled.far_path],
        "citations": [citation_record(c) for c in citations],
        "citation_count": getattr(tie, "citation_count", None) or len(citations),
        "contract_totals": contract_totals_record(tie.totals),  # type: ignore[attr-defined]
        "page": tie.get_absolute_url(),
        "counted_amount": None if counted is None else f"{counted:.2f}",
    }


def lone_tie_record(tie: Tie) -> dict[str, Any]:
    """A tie on its own, seen from its subject, with every citation (prefetched or read here)."""
    attach_contract_totals([tie])
    return tie_record(RolledTie(tie=tie, near_path=[tie.subject]))
