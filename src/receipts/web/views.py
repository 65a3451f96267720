"""Public pages: search, entities with their ties and receipts, sources and their archived copies."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from receipts.evidence import queries
from receipts.evidence.models import Citation, Entity, Source, Tie, TieKind
from receipts.evidence.services import EvidenceError, archive_path
from receipts.ingest.models import ContractTotals

from .charts import obligations_chart_svg
from .tiemap import tie_map_svg


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:200]
    results = queries.search_entities(q) if q else []
    context = {
        "q": q,
        "results": results,
        "counts": {
            "entities": Entity.objects.count(),
            "ties": Tie.objects.count(),
            "sources": Source.objects.count(),
        },
        "recent": Entity.objects.order_by("-updated_at")[:12] if not q else [],
    }
    return render(request, "web/home.html", context)


# Receipts listed under each tie on entity pages; the tie page lists them all.
RECEIPTS_SHOWN = 5


def _attach_contract_totals(ties: list[Tie]) -> dict[int, int]:
    """Set ``tie.totals`` on contract ties and sum their obligations by fiscal year."""
    ids = [t.pk for t in ties if t.kind == TieKind.CONTRACT]
    totals = {t.tie_id: t for t in ContractTotals.objects.filter(tie_id__in=ids)} if ids else {}
    by_fy: dict[int, int] = {}
    for tie in ties:
        tie.totals = totals.get(tie.pk)  # type: ignore[attr-defined]
        if tie.totals is not None:  # type: ignore[attr-defined]
            for fy, cents in tie.totals.by_fiscal_year.items():  # type: ignore[attr-defined]
                by_fy[int(fy)] = by_fy.get(int(fy), 0) + int(cents)
    return by_fy


@require_safe
def entity_page(request: HttpRequest, slug: str) -> HttpResponse:
    entity = get_object_or_404(Entity, slug=slug)
    if entity.merged_into_id is not None:
        survivor = queries.surviving_entity(entity)
        query = request.META.get("QUERY_STRING", "")
        return redirect(survivor.get_absolute_url() + (f"?{query}" if query else ""))
    rollup = request.GET.get("rollup") == "1"
    context = {
        "entity": entity,
        "rollup": rollup,
        "identifiers": entity.identifiers.all(),
        "parents": queries.parents_of(entity),
        "kinds": dict(TieKind.choices),
    }
    if rollup:
        family = queries.family_paths(entity.pk)
        shown = queries.rollup_ties(
            entity, rollup=True, citations_limit=RECEIPTS_SHOWN, family=family
        )
        context["rolled"] = shown
        context["family_size"] = len(family) - 1
    else:
        context["grouped"] = queries.direct_ties(entity, citations_limit=RECEIPTS_SHOWN)
        shown = [rt for group in context["grouped"].values() for rt in group]
    by_fy = _attach_contract_totals([rt.tie for rt in shown])
    if by_fy:
        context["obligations_chart"] = mark_safe(  # noqa: S308 - built with escaping
            obligations_chart_svg(by_fy, f"Contract obligations by fiscal year: {entity.name}")
        )
        context["obligations"] = sorted(by_fy.items())
    # Drawn inline (not as <img>) so the neighbours in the picture are links.
    context["tiemap"] = mark_safe(tie_map_svg(entity, shown))  # noqa: S308 - built with escaping
    return render(request, "web/entity.html", context)


@require_safe
def entity_map(request: HttpRequest, slug: str) -> HttpResponse:
    entity = get_object_or_404(Entity, slug=slug)
    svg = tie_map_svg(entity, queries.rollup_ties(entity))
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def tie_page(request: HttpRequest, pk: int) -> HttpResponse:
    tie = get_object_or_404(Tie.objects.select_related("subject", "object"), pk=pk)
    paginator = Paginator(tie.citations.select_related("source").order_by("id"), 100)
    page = paginator.get_page(request.GET.get("page"))
    context: dict[str, object] = {"tie": tie, "citations": page, "page": page}
    by_fy = _attach_contract_totals([tie])
    if by_fy:
        context["obligations_chart"] = mark_safe(  # noqa: S308 - built with escaping
            obligations_chart_svg(by_fy, f"Obligations by fiscal year: {tie}")
        )
        context["obligations"] = sorted(by_fy.items())
    return render(request, "web/tie.html", context)


@require_safe
def source_page(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    citations = (
        Citation.objects.filter(source=source)
        .select_related("tie__subject", "tie__object", "entity")
        .order_by("id")
    )
    return render(request, "web/source.html", {"source": source, "citations": citations})


@require_safe
def source_archive(request: HttpRequest, pk: int, sha256: str) -> FileResponse:
    source = get_object_or_404(Source, pk=pk, archive_sha256=sha256)
    try:
        path = archive_path(source.archive_sha256)
    except EvidenceError as exc:
        raise Http404("no archived copy") from exc
    if not path.exists():
        raise Http404("the archived copy is missing from the archive folder")
    # HTML is served as an attachment: an archived page must never run as
    # part of this site, whatever it contains.
    as_attachment = source.archive_media_type == "text/html"
    response = FileResponse(
        path.open("rb"),
        content_type=source.archive_media_type,
        as_attachment=as_attachment,
        filename=source.archive_filename or source.archive_sha256,
    )
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )
    response["ETag"] = f'"{source.archive_sha256}"'
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
