"""Reads about a user's two-factor login: whether it is on, whether it is required, lockouts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from receipts.campaigns.models import CampaignMembership, MemberRole

from .models import AuthenticatorApp, CodeAttempts, RecoveryCode


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def confirmed_device(user: Any) -> AuthenticatorApp | None:
    """The user's authenticator app, once a code from it has confirmed it."""
    if not _signed_in(user):
        return None
    return AuthenticatorApp.objects.filter(user=user, confirmed=True).order_by("id").first()


def has_two_factor(user: Any) -> bool:
    """True when the user has turned two-factor login on."""
    if not _signed_in(user):
        return False
    return AuthenticatorApp.objects.filter(user=user, confirmed=True).exists()


def pending_device(user: Any) -> AuthenticatorApp | None:
    """The device being set up: its QR code is shown until a code confirms it."""
    if not _signed_in(user):
        return None
    return AuthenticatorApp.objects.filter(user=user, confirmed=False).order_by("-id").first()


def is_organiser(user: Any) -> bool:
    """True for a user with the organiser role in at least one campaign."""
    if not _signed_in(user):
        return False
    return CampaignMembership.objects.filter(user=user, role=MemberRole.ORGANISER).exists()


def must_use_two_factor(user: Any) -> bool:
    """Staff, superusers and organisers of any campaign must turn two-factor login on."""
    if not _signed_in(user):
        return False
    return bool(user.is_staff or user.is_superuser) or is_organiser(user)


def recovery_codes_left(user: Any) -> int:
    if not _signed_in(user):
        return 0
    return RecoveryCode.objects.filter(code_set__user=user).count()


def locked_until(user: Any) -> datetime | None:
    """When the user may try a code again, or None if they may now."""
    if not _signed_in(user):
        return None
    found = CodeAttempts.objects.filter(user=user).values_list("locked_until", flat=True).first()
    if found is None or found <= timezone.now():
        return None
    return found
