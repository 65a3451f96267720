"""Editor pages for the review queue: merge look-alike entities or keep them apart, undo merges.

Views only parse the request and call ``ingest.merges``; every decision is
a POST with a CSRF token, and a refusal comes back as a message, not a crash.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from receipts.ingest import merges, queries
from receipts.ingest.models import EntityMerge, ReviewItem

from .editor import editor_required

ITEMS_PER_PAGE = 50
MERGES_SHOWN = 50


@editor_required
def review_page(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(queries.pending_review_items(), ITEMS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "page": page,
        "pending_count": paginator.count,
        "merges": queries.merge_log()[:MERGES_SHOWN],
    }
    return render(request, "web/review.html", context)


@require_POST
@editor_required
def review_decide(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ReviewItem.objects.select_related("entity", "candidate"), pk=pk)
    action = request.POST.get("action", "")
    if action not in ("merge", "distinct"):
        messages.error(request, "Choose Merge or Keep apart.")
        return redirect("review")
    try:
        merge = merges.decide_review(item, merge=action == "merge", decided_by=request.user)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        if merge is not None:
            messages.success(request, f"Merged {merge.dropped.name} into {merge.keep.name}.")
        else:
            messages.success(request, f"Kept {item.entity.name} and {item.candidate.name} apart.")
    return redirect("review")


@require_POST
@editor_required
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    merge = get_object_or_404(EntityMerge.objects.select_related("keep", "dropped"), pk=pk)
    try:
        merges.unmerge(merge, decided_by=request.user)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(
            request, f"Undid the merge of {merge.dropped.name} into {merge.keep.name}."
        )
    return redirect("review")
