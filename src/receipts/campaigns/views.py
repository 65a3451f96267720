"""Public campaign pages: the list, a campaign with its receipts, and its printable brief.

A private campaign answers 404 to anyone who is not a member, exactly as a
slug that does not exist, so its existence never leaks.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from . import access, queries
from .forms import ConfirmMetForm
from .models import Campaign, Demand


def visible_campaign(request: HttpRequest, slug: str) -> Campaign:
    campaign = queries.campaign_for(request.user, slug)
    if campaign is None:
        raise Http404("no such campaign")
    return campaign


@require_safe
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = list(
        queries.with_demand_counts(access.visible_campaigns(request.user)).order_by("name")
    )
    for c in campaigns:
        met, total = c.demands_met, c.demands_total  # type: ignore[attr-defined]
        c.tally = f"{met} of {total} demand{'s' if total != 1 else ''} met"  # type: ignore[attr-defined]
    return render(
        request,
        "campaigns/list.html",
        {"campaigns": campaigns, "can_create": access.can_create_campaigns(request.user)},
    )


@require_safe
def campaign_page(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = visible_campaign(request, slug)
    view = queries.campaign_view(campaign)
    can_edit = access.can_edit(request.user, campaign)
    if can_edit:
        for demand in view.demands:
            if demand.suggests_met:  # type: ignore[attr-defined]
                demand.confirm_form = ConfirmMetForm(  # type: ignore[attr-defined]
                    initial={"date": _suggested_date(demand)}, auto_id=f"demand-{demand.pk}-%s"
                )
    from receipts.fetch.queries import coming_contract_ends

    ends = coming_contract_ends([rt.tie for rt in view.target_ties])
    return render(
        request,
        "campaigns/campaign.html",
        {"view": view, "campaign": campaign, "can_edit": can_edit, "contract_ends": ends},
    )


def _suggested_date(demand: Demand) -> str:
    found = queries.met_evidence(demand)
    return found[1] if found is not None else ""


@require_safe
def campaign_brief(request: HttpRequest, slug: str) -> HttpResponse:
    campaign = visible_campaign(request, slug)
    view = queries.campaign_view(campaign, citations_limit=None)
    # Each tie once: those linked to a demand are listed under it.
    linked = {t.pk for d in view.demands for t in d.linked_ties}  # type: ignore[attr-defined]
    other_ties = [rt for rt in view.target_ties if rt.tie.pk not in linked]
    context = {"view": view, "campaign": campaign, "other_ties": other_ties}
    return render(request, "campaigns/brief.html", context)
