"""The editors' page of subscriptions: list them with their last success and errors, add one."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from receipts.web.editor import editor_required

from .forms import SubscriptionForm
from .models import Subscription
from .subscriptions import subscribe
from .tasks import schedule_runs
from .usaspending_api import FetchError, resolve_agency


@editor_required
def subscriptions(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            agency = resolve_agency(form.cleaned_data["agency"])
        except FetchError as exc:
            form.add_error("agency", str(exc))
        else:
            subscription, created = subscribe(
                agency, form.cleaned_data["every"], since=form.cleaned_data["since"]
            )
            schedule_runs()
            messages.success(
                request,
                f"{'Subscribed to' if created else 'Updated the subscription to'} "
                f"{subscription.agency_name}; the first run is due now.",
            )
            return redirect("fetch-subscriptions")
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "fetch/subscriptions.html",
        {"subscriptions": Subscription.objects.all(), "form": form},
        status=status,
    )


@editor_required
@require_POST
def subscription_remove(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(Subscription, pk=pk)
    subscription.delete()
    messages.success(request, f"Removed the subscription to {subscription.agency_name}.")
    return redirect("fetch-subscriptions")
