"""Login throttling with django-axes: the page a locked-out login gets, and how long it waits.

django-axes counts wrong passwords in the database, per username and per
client address separately (``AXES_LOCKOUT_PARAMETERS``); once either count
reaches ``AXES_FAILURE_LIMIT`` within ``AXES_COOLOFF_TIME``, no password, not
even the right one, is checked for that username or from that address until
the cool-off since the last counted failure has passed. Attempts made while
locked out are not counted, so the wait the page names is the wait there is.
Behind reverse proxies (``settings.LOGIN_PROXY_COUNT``) the client address is
the one the outermost trusted proxy added to ``X-Forwarded-For``; anything a
client wrote further left is ignored.
"""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

LOGIN_TEMPLATE = "registration/login.html"
# The length of django-axes' username column.
USERNAME_STORED = 255


def counted_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The username failures are counted under (django-axes' ``AXES_USERNAME_CALLABLE``).

    Django's login form checks no length before it authenticates, so the name
    is cut to what the table holds: PostgreSQL refuses a longer one, and the
    login would fail with a server error instead of the form's.
    """
    username = credentials.get("username") if credentials else request.POST.get("username")
    if username is None:
        return None
    return str(username).replace("\x00", "0x00")[:USERNAME_STORED]


def client_address(request: HttpRequest) -> str | None:
    """The address logins are counted under (django-axes' ``AXES_CLIENT_IP_CALLABLE``)."""
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.LOGIN_PROXY_COUNT
    if proxies <= 0:
        return remote
    # Each proxy appends the address it was sent the request from: the entry
    # ``proxies`` from the right is the one the outermost proxy wrote.
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:
        return remote


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
