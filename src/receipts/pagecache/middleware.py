"""Serve anonymous readers' public GETs from the cache, filed under the content generation.

Placed right after WhiteNoise and before the session middleware: a hit skips
sessions, CSRF, authentication and the view, and still passes back through
``SecurityMiddleware``; the headers added by the inner middleware (CSP,
X-Frame-Options, Vary) are stored with the page.

Only these are served from or stored in the cache:

* GET (HEAD and every other method pass by), with no ``Authorization`` header,
  no htmx request header, and no cookie but the CSRF cookie: a session cookie
  (a logged-in editor, a member of a private campaign), a messages cookie or
  any other sends the request past the cache both ways;
* addresses whose view is listed in ``settings.PAGE_CACHE_VIEWS`` (or in a
  listed namespace, such as the read-only API), never one under
  ``settings.PAGE_CACHE_NEVER_PATHS``;
* requests made outside a transaction: inside one, a page could show writes
  not yet committed, or miss them.

And a response is stored only if it is a 200 that sets no cookie, holds no
CSRF token, used no CSP nonce, is not ``private`` or ``no-store``, varies on
nothing but ``Cookie``, was made for an anonymous user and is not too large.
A private campaign answers 404 to anonymous readers, so it is never stored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import DisallowedHost
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve

from . import generation

HEADER = "X-Cache"
_LIST = re.compile(r"\s*,\s*")
# A rendered page holding a CSRF token belongs to one browser's cookie.
_CSRF_FIELD = b'name="csrfmiddlewaretoken"'
_SKIPPED_HEADERS = frozenset({"set-cookie", "content-length"})


def _cacheable_view(request: HttpRequest) -> bool:
    path = request.path_info
    if path.startswith(tuple(settings.PAGE_CACHE_NEVER_PATHS)):
        return False
    try:
        match = resolve(path, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    if match.view_name in settings.PAGE_CACHE_VIEWS:
        return True
    return bool(match.namespaces) and match.namespaces[0] in settings.PAGE_CACHE_NAMESPACES


def anonymous_request(request: HttpRequest) -> bool:
    """A request that carries nothing that could make its answer personal."""
    if request.method != "GET":
        return False
    if "HTTP_AUTHORIZATION" in request.META or "HTTP_HX_REQUEST" in request.META:
        return False
    return all(name == settings.CSRF_COOKIE_NAME for name in request.COOKIES)


def storable(request: HttpRequest, response: HttpResponse) -> bool:
    if response.status_code != 200 or response.cookies:
        return False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return False
    if getattr(request, "_csp_nonce", None) is not None:
        return False
    if "'nonce-" in response.get("Content-Security-Policy", ""):
        return False
    cache_control = {
        part.split("=", 1)[0].strip().lower()
        for part in _LIST.split(response.get("Cache-Control", ""))
    }
    if cache_control & {"private", "no-store"}:
        return False
    vary = {h.strip().lower() for h in _LIST.split(response.get("Vary", "")) if h.strip()}
    if vary - {"cookie"}:
        return False
    content = response.content
    if len(content) > settings.PAGE_CACHE_MAX_BYTES:
        return False
    return _CSRF_FIELD not in content


def cache_key(request: HttpRequest, token: str) -> str | None:
    try:
        host = request.get_host()
    except DisallowedHost:
        return None  # left to CommonMiddleware, which refuses it
    address = f"{request.scheme}://{host}{request.get_full_path()}"
    digest = hashlib.sha256(address.encode("utf-8", "surrogateescape")).hexdigest()
    return f"page:{token}:{digest}"


class PublicPageCacheMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not (
            settings.PAGE_CACHE
            and anonymous_request(request)
            and _cacheable_view(request)
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return self.get_response(request)
        token = generation.page_token()
        key = cache_key(request, token) if token else None
        if key is None:
            return self.get_response(request)
        cache = caches[settings.PAGE_CACHE_ALIAS]
        stored = cache.get(key)
        if stored is not None:
            status, headers, content = stored
            hit = HttpResponse(content, status=status)
            for name, value in headers:
                hit.headers[name] = value
            hit["Content-Length"] = str(len(content))
            hit[HEADER] = "hit"
            return hit
        response = self.get_response(request)
        # Streaming and file answers (no HttpResponse) are never stored.
        if isinstance(response, HttpResponse) and storable(request, response):
            headers = [
                (name, value)
                for name, value in response.items()
                if name.lower() not in _SKIPPED_HEADERS
            ]
            cache.set(key, (response.status_code, headers, response.content))
            response[HEADER] = "miss"
        return response
