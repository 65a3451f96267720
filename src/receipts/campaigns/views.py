"""Public campaign pages: the list, a campaign with its receipts, and its printable brief.

A private campaign answers 404 to anyone who is not a member, exactly as a
slug that does not exist, so its existence never leaks.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from . import access, queries, share
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
    from receipts.outreach.models import SignupForm

    short_path = reverse("campaign-short", args=[share.short_code(campaign)])
    context = {
        "view": view,
        "campaign": campaign,
        "can_edit": can_edit,
        # Open forms lead the page: the call to action comes before the evidence.
        "signup_forms": list(
            SignupForm.objects.filter(campaign=campaign, is_open=True).select_related("campaign")
        ),
        "short_path": short_path,
        "short_url": request.build_absolute_uri(short_path),
        "page_url": request.build_absolute_uri(campaign.get_absolute_url()),
        "card_url": request.build_absolute_uri(reverse("campaign-card", args=[campaign.slug])),
        "contract_ends": coming_contract_ends([rt.tie for rt in view.target_ties]),
    }
    return render(request, "campaigns/campaign.html", context)


def _tally(campaign: Campaign) -> str:
    counted = queries.with_demand_counts(Campaign.objects.filter(pk=campaign.pk)).get()
    met, total = counted.demands_met, counted.demands_total  # type: ignore[attr-defined]
    return f"{met} of {total} demand{'s' if total != 1 else ''} met"


@require_safe
def campaign_card(request: HttpRequest, slug: str) -> HttpResponse:
    """The picture link previews show (Open Graph and Twitter card image)."""
    campaign = visible_campaign(request, slug)
    short_url = request.build_absolute_uri(
        reverse("campaign-short", args=[share.short_code(campaign)])
    )
    short_url = short_url.split("://", 1)[-1]
    png = share.card_png(campaign, _tally(campaign), short_url)
    response = HttpResponse(png, content_type="image/png")
    # A private campaign's card is the members' business only.
    response["Cache-Control"] = "public, max-age=300" if campaign.is_public else "private, no-store"
    return response


@require_safe
def campaign_short(request: HttpRequest, code: str) -> HttpResponse:
    """``/c/<code>``: to the campaign page, for whoever may see it; "not found" otherwise."""
    pk = share.campaign_id_of(code)
    campaign = Campaign.objects.filter(pk=pk).first() if pk is not None else None
    if campaign is None or not access.can_view(request.user, campaign):
        raise Http404("no such campaign")
    return HttpResponseRedirect(campaign.get_absolute_url())


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
