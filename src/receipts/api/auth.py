"""Bearer-token authentication for API writes.

Only the ``Authorization: Bearer`` header is read: a session cookie never
authenticates a write, so no write depends on a CSRF token. A token scoped to
a campaign writes that campaign only; evidence writes refuse it.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer

from .models import ApiToken
from .tokens import live_token

WRITE_PERMISSION = "evidence.add_tie"


class ApiTokenAuth(HttpBearer):
    """A live API token of an active user.

    No token, or an unknown or revoked one, answers 401. For evidence writes
    (``evidence=True``) a token of a user without ``evidence.add_tie``, or one
    scoped to a campaign, answers 403. Campaign writes (``evidence=False``)
    check the user's role and the token's scope in the campaign routes. The
    token itself is kept on the request for them (``token_of``).
    """

    def __init__(self, *, evidence: bool = True) -> None:
        super().__init__()
        self.evidence = evidence

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        found = live_token(token)
        if found is None:
            return None
        if self.evidence:
            if found.campaign_id is not None:
                raise AuthorizationError(
                    message=f"the token is scoped to the campaign {found.campaign.slug!r} "
                    "and writes nothing else"
                )
            if not found.user.has_perm(WRITE_PERMISSION):
                raise AuthorizationError(
                    message=f"the token's user lacks the {WRITE_PERMISSION} permission to write"
                )
        request.api_token = found  # type: ignore[attr-defined]
        return found.user


def token_of(request: HttpRequest) -> ApiToken:
    """The token that authenticated this write (set by ``ApiTokenAuth``)."""
    found: ApiToken = request.api_token  # type: ignore[attr-defined]
    return found


token_auth = ApiTokenAuth()
campaign_token_auth = ApiTokenAuth(evidence=False)
