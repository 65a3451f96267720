"""Reads of the ingest app: the review queue and the merge log.

An item whose entities have since been merged away is no longer pending in
any useful sense: the queue leaves it out until the merge is undone.
"""

from __future__ import annotations

from django.db.models import QuerySet

from receipts.evidence.models import live_through

from .models import EntityMerge, ReviewItem


def pending_review_items() -> QuerySet[ReviewItem]:
    """Pending items, best score first, whose two entities both still stand."""
    return (
        ReviewItem.objects.filter(
            live_through("entity", "candidate"),
            status=ReviewItem.Status.PENDING,
        )
        .select_related("entity", "candidate")
        .order_by("-score", "id")
    )


def merge_log() -> QuerySet[EntityMerge]:
    """Every merge, newest first, undone ones included."""
    return EntityMerge.objects.select_related(
        "keep", "dropped", "decided_by", "undone_by"
    ).order_by("-merged_at", "-id")
