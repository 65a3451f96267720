"""Public pages: search, entities with their ties and receipts, sources and their archived copies."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from receipts.evidence import queries
from receipts.evidence.models import Citation, Entity, Source, Tie, TieKind
from receipts.evidence.services import EvidenceError, archive_path

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


@require_safe
def entity_page(request: HttpRequest, slug: str) -> HttpResponse:
    entity = get_object_or_404(Entity, slug=slug)
    rollup = request.GET.get("rollup") == "1"
    context = {
        "entity": entity,
        "rollup": rollup,
        "identifiers": entity.identifiers.all(),
        "parents": queries.parents_of(entity),
        "kinds": dict(TieKind.choices),
    }
    if rollup:
        shown = queries.rollup_ties(entity, rollup=True)
        context["rolled"] = shown
        context["family_size"] = len(queries.family_paths(entity.pk)) - 1
    else:
        context["grouped"] = queries.direct_ties(entity)
        shown = [rt for group in context["grouped"].values() for rt in group]
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
    citations = tie.citations.select_related("source")
    return render(request, "web/tie.html", {"tie": tie, "citations": citations})


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
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    response["ETag"] = f'"{source.archive_sha256}"'
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
