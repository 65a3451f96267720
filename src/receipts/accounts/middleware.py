"""Holds a password-only login back until it gives a code, when the user has two-factor login on.

Django's login view checks the password and logs the user in; for a user with
two-factor login on, that login counts for nothing but the code page (and
logging out) until a code is accepted. Pages redirect to the code page; the
API, whose writes take tokens only, sees such a request as anonymous. Must
come after ``django_otp.middleware.OTPMiddleware`` and the messages middleware.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from . import queries
from .twofactor import is_verified, url_with_next

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

    def open_paths(self) -> frozenset[str]:
        # Resolved on first use: the URLconf is not loaded when middleware is built.
        if self._open_paths is None:
            self._open_paths = frozenset(reverse(name) for name in OPEN_PAGES)
        return self._open_paths
