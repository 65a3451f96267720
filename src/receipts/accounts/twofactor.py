"""Two-factor checks for views in any app: who must have it on, and whether this login is verified.

Wrap a view in ``two_factor_required`` (or call ``require_verified`` and
return its response when it gives one). Staff, superusers and campaign
organisers without two-factor login are sent to turn it on; anyone whose
two-factor login is on but whose login has not given a code yet is sent to the
code page. Both come back to the page they asked for afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_otp import login as otp_login
from django_otp.models import Device

from . import queries

View = Callable[..., HttpResponse]

MUST_TURN_ON = "Organisers must turn on two-factor login."


def is_verified(request: HttpRequest) -> bool:
    """True when this login has given a code (set by ``OTPMiddleware`` from the session)."""
    check = getattr(request.user, "is_verified", None)
    # Without OTPMiddleware there is no way to tell: the answer is no.
    return bool(callable(check) and check())


def mark_verified(request: HttpRequest, device: Device) -> None:
    """Record in the session that this login gave a code accepted by ``device``."""
    otp_login(request, device)
    # A new session key for the raised privilege, as Django does at login.
    request.session.cycle_key()


def url_with_next(name: str, next_path: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_path})}"


def require_verified(request: HttpRequest) -> HttpResponse | None:
    """None when the request may go on; otherwise the redirect to log in, turn on, or verify."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if is_verified(request):
        return None
    if queries.has_two_factor(user):
        return HttpResponseRedirect(url_with_next("two-factor-verify", request.get_full_path()))
    if queries.must_use_two_factor(user):
        messages.warning(request, MUST_TURN_ON)
        return HttpResponseRedirect(url_with_next("two-factor-turn-on", request.get_full_path()))
    return None


def two_factor_required(view: View) -> View:
    """Let the view run only for a verified login, or for users not required to have one."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = require_verified(request)
        if refused is not None:
            return refused
        return view(request, *args, **kwargs)

    return wrapper
