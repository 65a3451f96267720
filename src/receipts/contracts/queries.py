"""Reads of the contract data: the totals behind contract ties, for the tie
record, the entity pages' chart and screening.

Each read takes tie ids and asks in chunks of 2,000, so a list of any length
stays within every database's limit on query parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

from receipts.evidence.bulk import chunks

from .models import ContractTotals

CHUNK = 2000


def totals_by_tie(tie_ids: Sequence[int]) -> dict[int, ContractTotals]:
    """The contract totals of these ties by tie id; a tie without totals is left out."""
    found: dict[int, ContractTotals] = {}
    for chunk in chunks(tie_ids, CHUNK):
        for totals in ContractTotals.objects.filter(tie_id__in=chunk):
            found[totals.tie_id] = totals
    return found


def obligated_cents_by_tie(tie_ids: Sequence[int]) -> dict[int, int]:
    """What was obligated under each of these ties, in cents; a tie without totals is left out."""
    found: dict[int, int] = {}
    for chunk in chunks(tie_ids, CHUNK):
        found.update(
            ContractTotals.objects.filter(tie_id__in=chunk).values_list("tie_id", "obligated_cents")
        )
    return found


def obligations_by_fiscal_year(tie_ids: Sequence[int]) -> tuple[dict[int, int], set[int]]:
    """Obligations of these contract ties summed by fiscal year (cents), and which
    ties have yearly records at all."""
    by_fy: dict[int, int] = {}
    recorded: set[int] = set()
    for chunk in chunks(tie_ids, CHUNK):
        for tie_id, by_year in ContractTotals.objects.filter(tie_id__in=chunk).values_list(
            "tie_id", "by_fiscal_year"
        ):
            recorded.add(tie_id)
            for fy, cents in by_year.items():
                by_fy[int(fy)] = by_fy.get(int(fy), 0) + int(cents)
    return by_fy, recorded
