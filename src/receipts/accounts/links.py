"""One-time links: invitations by email to a campaign with a role, and login links.

Invariant: a link's token exists only in the link. The database keeps its
SHA-256, so a copy of the database opens nothing; a link works once (it is
marked used in the same transaction that acts on it, under a row lock) and
only until it expires.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from receipts.campaigns import services as campaign_services
from receipts.campaigns.models import Campaign, MemberRole
from receipts.refusals import Refusal

from .models import Invitation, LoginLink

INVITATION_LIFETIME = timedelta(days=7)
LOGIN_LINK_LIFETIME = timedelta(minutes=15)
TOKEN_BYTES = 32

LINK_UNUSABLE = (
    "This link does not work: it was used already, it has expired, or it was never issued. "
    "Ask the person who sent it for a new one."
)


class LinkError(Refusal):
    """An invitation or login link refused; the message says why."""


class EmailNotSent(Exception):
    """The configured email backend did not take the message; nothing was kept."""


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, digest_of(token)


@dataclass(frozen=True)
class Issued:
    """A link's token, shown once, and the row that keeps its digest."""

    token: str
    row: Any


def invite(
    campaign: Campaign,
    email: str,
    role: str,
    *,
    invited_by: Any,
    accept_url: Any,
) -> Issued:
    """Invite ``email`` to the campaign with ``role`` and send the link by email.

    ``accept_url`` turns a token into the link's full address. The invitation
    is kept only if the email backend takes the message.
    """
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise LinkError("email", "enter an email address such as name@example.org") from None
    if role not in MemberRole.values:
        raise LinkError("role", f"{role!r} is not one of {', '.join(MemberRole.values)}")
    token, digest = _new_token()
    with transaction.atomic():
        invitation = Invitation.objects.create(
            campaign=campaign,
            email=email,
            role=role,
            token_digest=digest,
            invited_by=invited_by if getattr(invited_by, "pk", None) else None,
            expires_at=timezone.now() + INVITATION_LIFETIME,
        )
        inviter = getattr(invited_by, "get_username", lambda: "An organiser")()
        role_label = MemberRole(role).label.lower()
        days = INVITATION_LIFETIME.days
        body = (
            f"{inviter} invites you to the campaign {campaign.name} on Receipts, with the "
            f"{role_label} role.\n\n"
            f"Open this link to choose your username and password and to set up two-factor "
            f"login:\n{accept_url(token)}\n\n"
            f"The link works once, for {days} days. If you did not expect it, ignore this email."
        )
        try:
            sent = send_mail(
                f"Invitation to {campaign.name}",
                body,
                settings.DEFAULT_FROM_EMAIL,
                [email],
            )
        except Exception as exc:  # any backend failure: SMTP, DNS, a refused login
            raise EmailNotSent(str(type(exc).__name__)) from exc
        if sent != 1:
            raise EmailNotSent("the email backend sent nothing")
    return Issued(token, invitation)


def usable_invitation(token: str) -> Invitation | None:
    """The invitation the token opens if it is unused and unexpired; else None."""
    found = (
        Invitation.objects.select_related("campaign")
        .filter(token_digest=digest_of(token or ""), accepted_at__isnull=True)
        .first()
    )
    if found is None or found.expires_at <= timezone.now():
        return None
    return found


@transaction.atomic
def accept_invitation(token: str, user: Any) -> Invitation:
    """Give ``user`` the invitation's role in its campaign, and use the invitation up."""
    invitation = (
        Invitation.objects.select_for_update()
        .filter(token_digest=digest_of(token or ""), accepted_at__isnull=True)
        .first()
    )
    if invitation is None or invitation.expires_at <= timezone.now():
        raise LinkError("token", LINK_UNUSABLE)
    campaign_services.add_campaign_member(invitation.campaign, user, invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return invitation


@transaction.atomic
def accept_invitation_as_new_user(
    token: str, username: str, password: str
) -> tuple[Any, Invitation]:
    """Make the account the invitation asks for and accept it, in one transaction."""
    if usable_invitation(token) is None:
        raise LinkError("token", LINK_UNUSABLE)
    user_model = get_user_model()
    user = user_model._default_manager.create_user(  # type: ignore[attr-defined]
        username=username, password=password
    )
    invitation = accept_invitation(token, user)
    user.email = invitation.email
    user.save(update_fields=["email"])
    return user, invitation


def pending_invitations(campaign: Campaign) -> list[Invitation]:
    return list(
        Invitation.objects.filter(
            campaign=campaign, accepted_at__isnull=True, expires_at__gt=timezone.now()
        )
    )


@transaction.atomic
def revoke_invitation(invitation: Invitation) -> None:
    invitation.delete()


def issue_login_link(
    user: Any, *, next_path: str = "/", lifetime: timedelta = LOGIN_LINK_LIFETIME
) -> Issued:
    """A link that logs ``user`` in once, within ``lifetime``; earlier unused links stop working."""
    token, digest = _new_token()
    with transaction.atomic():
        LoginLink.objects.filter(user=user, used_at__isnull=True).delete()
        link = LoginLink.objects.create(
            user=user,
            token_digest=digest,
            next_path=next_path,
            expires_at=timezone.now() + lifetime,
        )
    return Issued(token, link)


def usable_login_link(token: str) -> LoginLink | None:
    found = (
        LoginLink.objects.select_related("user")
        .filter(token_digest=digest_of(token or ""), used_at__isnull=True)
        .first()
    )
    if found is None or found.expires_at <= timezone.now() or not found.user.is_active:
        return None
    return found


@transaction.atomic
def use_login_link(token: str) -> LoginLink:
    """Use the link up and return it; the caller logs its user in."""
    link = (
        LoginLink.objects.select_for_update()
        .select_related("user")
        .filter(token_digest=digest_of(token or ""), used_at__isnull=True)
        .first()
    )
    if link is None or link.expires_at <= timezone.now() or not link.user.is_active:
        raise LinkError("token", LINK_UNUSABLE)
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    return link
