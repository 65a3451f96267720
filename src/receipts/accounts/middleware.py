"""Holds a password-only login back until it gives a code, and keeps powerful pages behind two factors.

Django's login view checks the password and logs the user in; for a user with
two-factor login on, that login counts for nothing but the code page (and
logging out) until a code is accepted. Pages redirect to the code page; the
API, whose writes take tokens only, sees such a request as anonymous.

Pages that show or change accounts, tokens, keys or supporters (the views and
URL namespaces named in ``settings.TWO_FACTOR_VIEWS`` and
``settings.TWO_FACTOR_NAMESPACES``, the whole admin among them) open to staff,
superusers and organisers only once two-factor login is on: without it they
are sent to turn it on, and come back afterwards. The check sits here, where
every view passes, so the admin and any view that forgets a decorator are
covered alike. Must come after ``django_otp.middleware.OTPMiddleware`` and the
messages middleware.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from . import queries
from .twofactor import is_verified, require_verified, url_with_next

API_PREFIX = "/api/"
# Pages an unverified login may still open: the code page and the way out.
OPEN_PAGES = ("two-factor-verify", "login", "logout")


async def _anonymous() -> AnonymousUser:
    return AnonymousUser()


class TwoFactorVerificationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._open_paths: frozenset[str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and request.path not in self.open_paths()
            and not is_verified(request)
            and queries.has_two_factor(user)
        ):
            if request.path_info.startswith(API_PREFIX):
                request.user = AnonymousUser()
                request.auser = _anonymous
            else:
                target = url_with_next("two-factor-verify", request.get_full_path())
                # Read the header itself: HtmxMiddleware runs after this one.
                if request.headers.get("HX-Request") == "true":
                    return HttpResponseClientRedirect(target)
                return HttpResponseRedirect(target)
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        # The anonymous are left to the view: the admin sends them to its own login page.
        if not request.user.is_authenticated or not needs_two_factor(request):
            return None
        refused = require_verified(request)
        if refused is not None and request.headers.get("HX-Request") == "true":
            return HttpResponseClientRedirect(refused["Location"])
        return refused

    def open_paths(self) -> frozenset[str]:
        # Resolved on first use: the URLconf is not loaded when middleware is built.
        if self._open_paths is None:
            self._open_paths = frozenset(reverse(name) for name in OPEN_PAGES)
        return self._open_paths


def needs_two_factor(request: HttpRequest) -> bool:
    """True for a page that shows or changes accounts, tokens, keys or supporters."""
    match = request.resolver_match
    if match is None or match.view_name in settings.TWO_FACTOR_EXEMPT_VIEWS:
        return False
    if match.view_name in settings.TWO_FACTOR_VIEWS:
        return True
    return bool(set(match.namespaces) & settings.TWO_FACTOR_NAMESPACES)
