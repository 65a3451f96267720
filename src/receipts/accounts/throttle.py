"""Login throttling with django-axes: the page a locked-out login gets, and how long it waits.

django-axes counts wrong passwords in the database, per username and per
client address separately (``AXES_LOCKOUT_PARAMETERS``); once either count
reaches ``AXES_FAILURE_LIMIT`` within ``AXES_COOLOFF_TIME``, no password, not
even the right one, is checked for that username or from that address until
the cool-off since the last counted failure has passed. Attempts made while
locked out are not counted, so the wait the page names is the wait there is.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

LOGIN_TEMPLATE = "registration/login.html"


def locked_until(request: HttpRequest, credentials: dict[str, Any] | None) -> datetime | None:
    """When the latest failure that counts towards this request's lockout stops counting."""
    cool_off = get_cool_off(request)
    if cool_off is None:
        return None
    handler = AxesProxyHandler.get_implementation()
    latest = [
        attempts.aggregate(latest=Max("attempt_time"))["latest"]
        for attempts in handler.get_user_attempts(request, credentials)
    ]
    found = [t for t in latest if t is not None]
    return max(found) + cool_off if found else None


def minutes_left(until: datetime | None, now: datetime | None = None) -> int:
    """Whole minutes until ``until``, rounded up, at least one."""
    if until is None:
        return 1
    seconds = (until - (now or timezone.now())).total_seconds()
    return max(1, math.ceil(seconds / 60))


def lockout_message(minutes: int) -> str:
    unit = "minute" if minutes == 1 else "minutes"
    return (
        "Too many failed logins for this account or from this address. "
        f"No password is checked for the next {minutes} {unit}: try again after that."
    )


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The login page again, saying how long to wait (django-axes' ``AXES_LOCKOUT_CALLABLE``)."""
    until = locked_until(request, credentials)
    minutes = minutes_left(until)
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form = AuthenticationForm(request, initial={"username": username})
    response = render(
        request,
        LOGIN_TEMPLATE,
        {
            "form": form,
            "next": request.POST.get("next") or request.GET.get("next", ""),
            "locked_out": lockout_message(minutes),
        },
        status=429,
    )
    response["Retry-After"] = str(minutes * 60)
    response["Cache-Control"] = "no-store"
    return response
