"""Issuing, revoking and checking API tokens for writes.

A token is shown once, when it is issued; only its SHA-256 hex digest is
stored, so a copy of the database cannot be used to write through the API.
A token issued for a campaign writes that campaign only.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from .models import ApiToken

TOKEN_PREFIX = "rcpt_"  # noqa: S105 - a public marker, not a secret
LABEL_MAX_LENGTH = ApiToken._meta.get_field("label").max_length or 100


class UnknownUser(LookupError):
    """No active user has the given username."""


class UnknownToken(LookupError):
    """No stored digest matches the given token."""


def token_digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def issue_token(username: str, label: str, campaign: Any = None) -> str:
    """Create a token for the user and return it; it cannot be recovered later.

    With ``campaign``, the token writes that campaign only, and only while its
    user is an editor or organiser of it.
    """
    label = " ".join(label.split())
    if not label:
        raise ValueError("label: a token needs a label saying what it is for")
    if len(label) > LABEL_MAX_LENGTH:
        raise ValueError(f"label: longer than {LABEL_MAX_LENGTH} characters")
    user_model = get_user_model()
    lookup = {user_model.USERNAME_FIELD: username}
    user = user_model._default_manager.filter(**lookup).first()
    if user is None:
        raise UnknownUser(f"no user named {username!r}; create one with `receipts createsuperuser`")
    if not user.is_active:
        raise UnknownUser(f"user {username!r} is inactive")
    if campaign is not None:
        from receipts.campaigns.access import can_edit

        if not can_edit(user, campaign):
            raise ValueError(
                f"campaign: {username!r} is not an editor or organiser of {campaign.slug!r}"
            )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, label=label, digest=token_digest(token), campaign=campaign)
    return token


@transaction.atomic
def revoke_token(token: str) -> None:
    """Revoke a token for good; revoking it twice is harmless."""
    found = ApiToken.objects.filter(digest=token_digest(token.strip())).first()
    if found is None:
        raise UnknownToken("no API token matches the one given")
    if not found.revoked:
        found.revoked = True
        found.save(update_fields=["revoked"])


def live_token(token: str) -> ApiToken | None:
    """The live token of an active user matching ``token``, or None; records its use."""
    token = token.strip()
    if not token:
        return None
    found = (
        ApiToken.objects.filter(digest=token_digest(token), revoked=False)
        .select_related("user", "campaign")
        .first()
    )
    if found is None or not found.user.is_active:
        return None
    # An UPDATE by key, not a save(): a revocation racing this request is not undone.
    ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
    return found


def authenticate_token(token: str) -> User | None:
    """The active user behind a live token, or None; records when the token was used."""
    found = live_token(token)
    return None if found is None else found.user
