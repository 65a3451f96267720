"""Watchlist pages for logged-in users (each manages their own) and the secret-address Atom feed."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from receipts import refusals

from . import queries, services
from .feeds import watchlist_feed
from .forms import EmailForm, EndingWarningsForm, EntityForm, WatchlistForm, WebhookForm
from .models import Channel, Watchlist


def _form_error(form: Any, exc: ValidationError) -> None:
    """Put a service's refusal on the field it names, else above the form."""
    refusals.add_to_form(form, exc)


def _own(request: HttpRequest, pk: int) -> Watchlist:
    """The user's own watchlist; anyone else's is not found."""
    return get_object_or_404(Watchlist, pk=pk, owner=request.user)


@login_required
def watchlists(request: HttpRequest) -> HttpResponse:
    form = WatchlistForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            watchlist = services.create_watchlist(
                form.cleaned_data["name"],
                owner=request.user,
                entities=form.cleaned_data["entities"],
            )
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Made the watchlist {watchlist.name}.")
            return redirect("watchlist", pk=watchlist.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "watch/watchlists.html",
        {"watchlists": queries.watchlists_of(request.user), "form": form},
        status=status,
    )


def _page(
    request: HttpRequest, watchlist: Watchlist, status: int = 200, **forms: Any
) -> HttpResponse:
    channels = list(watchlist.channels.all())
    context = {
        "watchlist": watchlist,
        "feed_url": request.build_absolute_uri(
            reverse("watchlist-feed", args=[watchlist.feed_token])
        ),
        # The delivery log: the last ten sends of each channel.
        "channels": [(c, list(c.deliveries.order_by("-created_at", "-id")[:10])) for c in channels],
        "events": queries.recent_events(watchlist, 20),
        "entity_form": forms.get("entity_form") or EntityForm(),
        "webhook_form": forms.get("webhook_form") or WebhookForm(),
        "email_form": forms.get("email_form") or EmailForm(),
        "ending_form": forms.get("ending_form")
        or EndingWarningsForm(
            initial={"days": ", ".join(str(d) for d in watchlist.ending_warning_days or [])}
        ),
    }
    return render(request, "watch/watchlist.html", context, status=status)


@login_required
def watchlist_page(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, _own(request, pk))


@login_required
@require_POST
def watchlist_entities(request: HttpRequest, pk: int) -> HttpResponse:
    watchlist = _own(request, pk)
    form = EntityForm(request.POST)
    if not form.is_valid():
        return _page(request, watchlist, 400, entity_form=form)
    for entity in form.cleaned_data["entities"]:
        services.watch_entity(watchlist, entity)
    return redirect("watchlist", pk=watchlist.pk)


@login_required
@require_POST
def watchlist_unwatch(request: HttpRequest, pk: int, entity_pk: int) -> HttpResponse:
    watchlist = _own(request, pk)
    entity = get_object_or_404(watchlist.entities, pk=entity_pk)
    services.unwatch_entity(watchlist, entity)
    return redirect("watchlist", pk=watchlist.pk)


@login_required
@require_POST
def watchlist_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    watchlist = _own(request, pk)
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            services.add_webhook(watchlist, form.cleaned_data["url"], form.cleaned_data["secret"])
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Added the webhook; its secret is shown with it.")
            return redirect("watchlist", pk=watchlist.pk)
    return _page(request, watchlist, 400, webhook_form=form)


@login_required
@require_POST
def watchlist_ending_warnings(request: HttpRequest, pk: int) -> HttpResponse:
    """How many days before a watched contract ends the watchlist is warned."""
    watchlist = _own(request, pk)
    form = EndingWarningsForm(request.POST)
    if form.is_valid():
        try:
            services.set_ending_warning_days(watchlist, form.cleaned_data["days"])
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Saved when this watchlist hears of contracts ending.")
            return redirect("watchlist", pk=watchlist.pk)
    return _page(request, watchlist, 400, ending_form=form)


@login_required
@require_POST
def watchlist_email(request: HttpRequest, pk: int) -> HttpResponse:
    watchlist = _own(request, pk)
    form = EmailForm(request.POST)
    if form.is_valid():
        try:
            services.add_email_digest(watchlist, form.cleaned_data["recipients"])
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            return redirect("watchlist", pk=watchlist.pk)
    return _page(request, watchlist, 400, email_form=form)


@login_required
@require_POST
def channel_remove(request: HttpRequest, pk: int, channel_pk: int) -> HttpResponse:
    watchlist = _own(request, pk)
    services.remove_channel(get_object_or_404(Channel, pk=channel_pk, watchlist=watchlist))
    return redirect("watchlist", pk=watchlist.pk)


@login_required
@require_POST
def watchlist_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    watchlist = services.rotate_feed_token(_own(request, pk))
    messages.success(request, "The feed has a new address; the old one no longer works.")
    return redirect("watchlist", pk=watchlist.pk)


@login_required
@require_POST
def watchlist_delete(request: HttpRequest, pk: int) -> HttpResponse:
    watchlist = _own(request, pk)
    services.delete_watchlist(watchlist)
    messages.success(request, f"Deleted the watchlist {watchlist.name}.")
    return redirect("watchlists")


@require_GET
def feed(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    """The Atom feed; the token in the address is the only key, so no login is asked."""
    watchlist = Watchlist.objects.filter(feed_token=token).select_related("owner").first()
    if watchlist is None:
        raise Http404("No such feed")
    atom = watchlist_feed(
        watchlist,
        absolute=request.build_absolute_uri,
        feed_path=request.path,
        page_path=reverse("watchlist", args=[watchlist.pk]),
    )
    response = HttpResponse(atom.writeString("utf-8"), content_type=atom.content_type)
    # The address is a secret: keep it out of shared caches and search engines.
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
