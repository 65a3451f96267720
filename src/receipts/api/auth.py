"""Bearer-token authentication for API writes.

Only the ``Authorization: Bearer`` header is read: a session cookie never
authenticates a write, so no write depends on a CSRF token.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.errors import AuthorizationError
from ninja.security import HttpBearer

from .tokens import authenticate_token

WRITE_PERMISSION = "evidence.add_tie"


class ApiTokenAuth(HttpBearer):
    """A live API token of an active user who may record evidence.

    No token, or an unknown or revoked one, answers 401; a valid token of a
    user without ``evidence.add_tie`` answers 403.
    """

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = authenticate_token(token)
        if user is None:
            return None
        if not user.has_perm(WRITE_PERMISSION):
            raise AuthorizationError(
                message=f"the token's user lacks the {WRITE_PERMISSION} permission to write"
            )
        return user


token_auth = ApiTokenAuth()
