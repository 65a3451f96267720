"""The browse pages (``/entities/``, ``/sources/``), the site's icon, and watching an entity in one step."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from receipts.campaigns import queries as campaign_queries
from receipts.evidence.models import Entity, EntityKind, SourceKind
from receipts.watch import services as watch_services
from receipts.watch.models import Watchlist

from . import browse


def _query_without_page(request: HttpRequest) -> str:
    """The filters of this page, for the links to other pages of it."""
    kept = [(k, v) for k, v in request.GET.items() if k != "page" and v]
    return urlencode(kept)


@require_safe
def entity_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    if kind not in EntityKind.values:
        kind = ""
    tied_slug = request.GET.get("tied_to", "").strip()[:120]
    tied_to = Entity.objects.live().filter(slug=tied_slug).first() if tied_slug else None
    campaign_slug = request.GET.get("campaign", "").strip()[:120]
    campaign = campaign_queries.campaign_for(request.user, campaign_slug) if campaign_slug else None
    problems = []
    if tied_slug and tied_to is None:
        problems.append(f"No entity has the address “{tied_slug}”: the list is not filtered by it.")
    if campaign_slug and campaign is None:
        problems.append(
            f"No campaign has the address “{campaign_slug}”: the list is not filtered by it."
        )
    found = browse.browse_entities(kind=kind, tied_to=tied_to, campaign=campaign)
    page = Paginator(found, browse.ENTITIES_PER_PAGE).get_page(request.GET.get("page"))
    counts = browse.tie_counts([e.pk for e in page.object_list])
    rows = [(e, counts.get(e.pk, 0)) for e in page.object_list]
    context = {
        "page_obj": page,
        "rows": rows,
        "kinds": EntityKind.choices,
        "kind": kind,
        "tied_to": tied_to,
        "tied_slug": tied_slug,
        "campaign": campaign,
        "campaign_slug": campaign_slug,
        "campaigns": list(campaign_queries.access.visible_campaigns(request.user).order_by("name")),
        "problems": problems,
        "filters": _query_without_page(request),
    }
    return render(request, "web/entity_list.html", context, status=400 if problems else 200)


@require_safe
def source_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    if kind not in SourceKind.values:
        kind = ""
    contains = request.GET.get("contains", "").strip()[:200]
    found = browse.browse_sources(kind=kind, contains=contains)
    page = Paginator(found, browse.SOURCES_PER_PAGE).get_page(request.GET.get("page"))
    counts = browse.citation_counts([s.pk for s in page.object_list])
    context = {
        "page_obj": page,
        "rows": [(s, counts.get(s.pk, 0)) for s in page.object_list],
        "kinds": SourceKind.choices,
        "kind": kind,
        "contains": contains,
        "filters": _query_without_page(request),
    }
    return render(request, "web/source_list.html", context)


@require_safe
def favicon(request: HttpRequest) -> FileResponse:
    """``/favicon.ico``, which browsers ask for whatever the page links."""
    path = finders.find("web/favicon.ico")
    if not path:
        raise Http404("no icon")
    response = FileResponse(open(path, "rb"), content_type="image/vnd.microsoft.icon")  # noqa: SIM115 - FileResponse closes it
    response["Cache-Control"] = "public, max-age=86400"
    return response


@login_required
@require_POST
def watch_entity(request: HttpRequest, slug: str) -> HttpResponse:
    """Watch the entity: the user's watchlist that already holds it, or a new one for it."""
    entity = get_object_or_404(Entity.objects.live(), slug=slug)
    existing = Watchlist.objects.filter(owner=request.user, entities=entity).first()
    if existing is not None:
        messages.info(request, f"Your watchlist {existing.name} already watches {entity.name}.")
        return redirect("watchlist", pk=existing.pk)
    watchlist = watch_services.create_watchlist(
        entity.name[:200], owner=request.user, entities=[entity]
    )
    messages.success(
        request,
        f"Now watching {entity.name} and its "
        f"{'components' if entity.kind == 'agency' else 'subsidiaries'}. "
        "Add a feed, an email digest or a webhook below to hear of changes.",
    )
    return redirect("watchlist", pk=watchlist.pk)
