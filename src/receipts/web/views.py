"""Public pages: search, entities with their ties and receipts, sources and their archived copies."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from receipts.contracts.queries import obligations_by_fiscal_year
from receipts.evidence import queries, records
from receipts.evidence.models import Citation, Entity, Source, Tie, TieKind
from receipts.evidence.services import EvidenceError, archive_path
from receipts.ingest.family_totals import MembersBasis, family_ties

from . import browse, search
from .charts import obligations_chart_svg
from .tiemap import tie_map_svg


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:200]
    context: dict[str, object] = {"q": q}
    if q:
        context["results"] = search.search(request.user, q)
    else:
        context["counts"] = {
            "entities": Entity.objects.live().count(),
            "ties": Tie.objects.count(),
            "sources": Source.objects.count(),
        }
        context["campaigns"] = browse.featured_campaigns()
        context["most_tied"] = browse.most_tied_entities()
    return render(request, "web/home.html", context)


# Receipts listed under each tie on entity pages; the tie page lists them all.
RECEIPTS_SHOWN = 5


# An agency's page after a large import has thousands of contract ties: each
# kind lists its first TIES_PER_GROUP (contracts largest first), and the rest
# are pages of TIES_PER_PAGE under ?kind=... The chart and counts cover all.
TIES_PER_GROUP = 50
TIES_PER_PAGE = 100


@dataclass(frozen=True)
class UnchartedContracts:
    """Contract ties listed on a page that the chart cannot count: no yearly records."""

    with_amount: int
    # Sum of their amounts per currency, as entered.
    amounts: list[tuple[str, Decimal]]
    without_amount: int


def _uncharted_contracts(ids: list[int], recorded: set[int]) -> UnchartedContracts | None:
    """Contract ties without yearly records: their amounts, entered by hand, are said apart."""
    missing = [pk for pk in ids if pk not in recorded]
    if not missing:
        return None
    sums: dict[str, Decimal] = {}
    with_amount = 0
    for start in range(0, len(missing), 2000):
        for currency, amount in Tie.objects.filter(
            pk__in=missing[start : start + 2000], amount__isnull=False
        ).values_list("currency", "amount"):
            with_amount += 1
            key = currency or "USD"
            sums[key] = sums.get(key, Decimal(0)) + amount
    return UnchartedContracts(with_amount, sorted(sums.items()), len(missing) - with_amount)


def _tie_groups(ties: list[queries.ListedTie]) -> dict[str, list[queries.ListedTie]]:
    """Ties by kind in the order of the kinds; contracts largest amount first."""
    grouped: dict[str, list[queries.ListedTie]] = {}
    for t in ties:
        grouped.setdefault(t.kind, []).append(t)
    if TieKind.CONTRACT in grouped:
        # Stable sort: equal amounts keep the listing's order.
        grouped[TieKind.CONTRACT].sort(key=lambda t: (t.amount is None, -(t.amount or 0)))
    order = {k: i for i, k in enumerate(TieKind.values)}
    return dict(sorted(grouped.items(), key=lambda kv: order.get(kv[0], 99)))


@require_safe
def entity_page(request: HttpRequest, slug: str) -> HttpResponse:
    entity = get_object_or_404(Entity, slug=slug)
    if entity.merged_into_id is not None:
        survivor = queries.surviving_entity(entity)
        query = request.META.get("QUERY_STRING", "")
        return redirect(survivor.get_absolute_url() + (f"?{query}" if query else ""))
    rollup = request.GET.get("rollup") == "1"
    only_kind = request.GET.get("kind", "")
    if only_kind and only_kind not in TieKind.values:
        only_kind = ""
    parents = queries.parents_of(entity)
    context = {
        "entity": entity,
        "rollup": rollup,
        "identifiers": entity.identifiers.all(),
        "parents": parents,
        "only_kind": only_kind,
        "campaigns_targeting": browse.campaigns_targeting(request.user, entity, parents),
        "last_changed": browse.data_last_changed(entity),
    }
    from receipts.fetch.queries import usaspending_freshness

    context["usaspending_as_of"] = usaspending_freshness(entity)
    family = queries.family_paths(entity.pk) if rollup else None
    if family is not None:
        context["family_size"] = len(family) - 1
    # Which ties to list comes from light rows of all of them; only the listed
    # ones are then loaded, with their paths, receipts and totals.
    listing = queries.tie_listing(entity, rollup=rollup, family=family)
    contract_ids = [t.pk for t in listing if t.kind == TieKind.CONTRACT]
    by_fy, recorded = obligations_by_fiscal_year(contract_ids)
    groups = _tie_groups(listing)
    context["tie_count"] = len(listing)
    if only_kind:
        page = Paginator(groups.get(only_kind, []), TIES_PER_PAGE).get_page(request.GET.get("page"))
        context["page_obj"] = page
        context["only_kind_label"] = TieKind(only_kind).label
        chosen = [(only_kind, list(page.object_list), page.paginator.count)]
    else:
        chosen = [(kind, rows[:TIES_PER_GROUP], len(rows)) for kind, rows in groups.items()]
    wanted = [t.pk for _kind, rows, _n in chosen for t in rows]
    loaded = {
        rt.tie.pk: rt
        for rt in queries.rollup_ties(
            entity,
            rollup=rollup,
            family=family,
            citations_limit=RECEIPTS_SHOWN,
            defer_citations=True,
            tie_ids=wanted,
        )
    }
    context["groups"] = [
        (kind, TieKind(kind).label, [loaded[t.pk] for t in rows if t.pk in loaded], total)
        for kind, rows, total in chosen
    ]
    shown = [rt for _kind, _label, rts, _n in context["groups"] for rt in rts]
    listed = [rt.tie for rt in shown]
    records.load_receipts(listed, RECEIPTS_SHOWN)
    if by_fy:
        context["obligations_chart"] = mark_safe(  # noqa: S308 - built with escaping
            obligations_chart_svg(by_fy, f"Contract obligations by fiscal year: {entity.name}")
        )
        context["obligations"] = sorted(by_fy.items())
    context["uncharted"] = _uncharted_contracts(contract_ids, recorded)
    # Drawn inline (not as <img>) so the neighbours in the picture are links.
    kind_counts = {kind: len(rows) for kind, rows in groups.items()}
    context["tiemap"] = mark_safe(  # noqa: S308 - built with escaping
        tie_map_svg(entity, shown, rollup=rollup, kind_counts=kind_counts)
    )
    if rollup:
        context.update(_family_totals_context(request, entity))
    return render(request, "web/entity.html", context)


def _family_totals_context(request: HttpRequest, entity: Entity) -> dict[str, object]:
    """The family's totals on the basis asked for (``members``), optionally to one
    counterpart (``to``, a slug) with its components."""
    members = request.GET.get("members", MembersBasis.DATED)
    if members not in MembersBasis.values:
        members = MembersBasis.DATED
    to_slug = request.GET.get("to", "").strip()[:120]
    to = Entity.objects.live().filter(slug=to_slug).first() if to_slug else None
    family = family_ties(entity, rollup=True, to=to, members=members, defer_citations=True)
    return {
        "totals": family.totals,
        "totals_by_component": family.by_component,
        "totals_basis": family.basis_text,
        "members": members,
        "totals_to": to,
        "totals_to_slug": to_slug,
        "totals_to_missing": bool(to_slug) and to is None,
    }


@require_safe
def entity_map(request: HttpRequest, slug: str) -> HttpResponse:
    entity = get_object_or_404(Entity, slug=slug)
    rollup = request.GET.get("rollup") == "1"
    svg = tie_map_svg(entity, queries.rollup_ties(entity, rollup=rollup), rollup=rollup)
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def tie_page(request: HttpRequest, pk: int) -> HttpResponse:
    tie = get_object_or_404(Tie.objects.select_related("subject", "object"), pk=pk)
    paginator = Paginator(tie.citations.select_related("source").order_by("id"), 100)
    page = paginator.get_page(request.GET.get("page"))
    context: dict[str, object] = {"tie": tie, "citations": page, "page": page}
    records.attach_contract_totals([tie])
    by_fy = (
        {int(fy): int(c) for fy, c in tie.totals.by_fiscal_year.items()}  # type: ignore[attr-defined]
        if tie.totals is not None  # type: ignore[attr-defined]
        else {}
    )
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
