"""Who may see supporter data: the campaign's organisers, by explicit membership, and no one else.

Staff and superusers act as organisers everywhere else in the campaigns, but
not here: supporter data opens only to a user who holds the organiser role in
the campaign itself, which its other members can see on the members page.
Anyone else signed in gets 403 saying they have no role on a public campaign
and 404 on a private one (whose existence stays hidden), viewers and editors
403, and the anonymous the login page.

``supporter_data_view`` is the one door to supporter pages, and the one place
where the staff two-factor check is to be added (``two_factor_check``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from receipts.campaigns.models import Campaign, CampaignMembership, MemberRole

View = Callable[..., HttpResponse]


def membership_role(user: Any, campaign: Campaign) -> str | None:
    """The user's own role in the campaign, ignoring staff status; None for non-members."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return (
        CampaignMembership.objects.filter(campaign=campaign, user=user)
        .values_list("role", flat=True)
        .first()
    )


def can_see_supporters(user: Any, campaign: Campaign) -> bool:
    return membership_role(user, campaign) == MemberRole.ORGANISER


def two_factor_check(request: HttpRequest) -> HttpResponse | None:
    """Organisers must have turned on two-factor login and given a code in this login.

    None lets the request through; otherwise the answer is a redirect to turn
    it on or to the code page. Every supporter-data page calls it after the
    role check and before the page reads any supporter data.
    """
    from receipts.accounts.twofactor import require_verified

    return require_verified(request)


def supporter_data_view(view: View) -> View:
    """Pass the campaign named by ``slug`` to ``view`` if the user is one of its organisers.

    The answer is never cached: ``Cache-Control: no-store`` keeps supporter
    data out of browser and proxy caches.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        campaign = Campaign.objects.filter(slug=slug).first()
        role = membership_role(request.user, campaign) if campaign is not None else None
        if campaign is None or (role is None and not campaign.is_public):
            raise Http404("no such campaign")
        if role is None:
            # A public campaign is no secret: say what is missing rather than "not found".
            raise PermissionDenied(
                f"You have no role in the campaign {campaign.name}. Its supporter data "
                "opens to its organisers only."
            )
        if role != MemberRole.ORGANISER:
            raise PermissionDenied("Supporter data needs the organiser role in the campaign.")
        refused = two_factor_check(request)
        if refused is not None:
            return refused
        response = view(request, campaign, *args, **kwargs)
        add_never_cache_headers(response)
        response["Cache-Control"] = "no-store, private, max-age=0"
        return response

    return wrapper
