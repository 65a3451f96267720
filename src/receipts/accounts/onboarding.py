"""Pages behind one-time links: accepting an invitation to a campaign, and a login link.

Opening a link changes nothing: a GET shows what the link does and a button,
and only the POST uses the link up, so a mail scanner that follows links
cannot spend them. A new account goes on to set up two-factor login.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from receipts.campaigns.models import Campaign, MemberRole

from . import links, queries
from .twofactor import url_with_next

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _unusable(request: HttpRequest) -> HttpResponse:
    return render(
        request, "accounts/link_unusable.html", {"message": links.LINK_UNUSABLE}, status=410
    )


def _after_joining(request: HttpRequest, campaign: Campaign, role: str) -> HttpResponse:
    """On to the campaign, through setting up two-factor login where the role needs it."""
    target = (
        reverse("campaign-manage", args=[campaign.slug])
        if role in (MemberRole.EDITOR, MemberRole.ORGANISER)
        else campaign.get_absolute_url()
    )
    if not queries.has_two_factor(request.user):
        return HttpResponseRedirect(url_with_next("two-factor-turn-on", target))
    return HttpResponseRedirect(target)


@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "HEAD", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    found = links.usable_invitation(token)
    if found is None:
        return _unusable(request)
    context = {"invitation": found, "role": MemberRole(found.role).label.lower()}
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                accepted = links.accept_invitation(token, request.user)
            except links.LinkError:
                return _unusable(request)
            messages.success(
                request,
                f"You now have the {context['role']} role in {accepted.campaign.name}.",
            )
            return _after_joining(request, accepted.campaign, accepted.role)
        return render(request, "accounts/invitation.html", context)
    form: UserCreationForm[Any] = UserCreationForm(
        request.POST if request.method == "POST" else None
    )
    if request.method == "POST" and form.is_valid():
        try:
            user, accepted = links.accept_invitation_as_new_user(
                token, form.cleaned_data["username"], form.cleaned_data["password1"]
            )
        except links.LinkError:
            return _unusable(request)
        login(request, user, backend=MODEL_BACKEND)
        messages.success(
            request,
            f"Welcome, {user.get_username()}: you have the {context['role']} role in "
            f"{accepted.campaign.name}. Set up two-factor login to finish.",
        )
        return _after_joining(request, accepted.campaign, accepted.role)
    context["form"] = form
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "accounts/invitation.html", context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def login_link(request: HttpRequest, token: str) -> HttpResponse:
    found = links.usable_login_link(token)
    if found is None:
        return _unusable(request)
    if request.method != "POST":
        return render(request, "accounts/login_link.html", {"link": found})
    try:
        used = links.use_login_link(token)
    except links.LinkError:
        return _unusable(request)
    login(request, used.user, backend=MODEL_BACKEND)
    messages.success(request, f"Logged in as {used.user.get_username()}.")
    return HttpResponseRedirect(used.next_path)
