"""What a person who signs up hears back: an email with a link to withdraw, and one to confirm.

Every sign-up that gives an email gets one message, through the configured
email backend: a link to withdraw the sign-up (which erases everything the
campaign holds on the person) and, when the form asks to confirm the address
first, a link to confirm it. Links are single-use, expire, and only their
SHA-256 is stored. The address is used to send and then dropped: it is never
logged, and a failed send is logged without it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from receipts.refusals import Refusal

from . import services
from .models import (
    AuditAction,
    AuditChannel,
    LinkPurpose,
    Submission,
    SubmissionLink,
    SubmissionStatus,
)

logger = logging.getLogger(__name__)

CONFIRM_LIFETIME = timedelta(days=7)
WITHDRAW_LIFETIME = timedelta(days=180)
TOKEN_BYTES = 32

LINK_UNUSABLE = (
    "This link does not work: it was used already, it has expired, or the sign-up it "
    "belonged to was erased. To have your data erased, write to the campaign's organisers."
)


class LinkRefused(Refusal):
    """A confirm or withdraw link that cannot be used; the message says why."""


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _issue(submission: Submission, purpose: str, lifetime: timedelta) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    SubmissionLink.objects.create(
        submission=submission,
        purpose=purpose,
        token_digest=digest_of(token),
        expires_at=timezone.now() + lifetime,
    )
    return token


@sensitive_variables()
def send_signup_email(
    submission: Submission, email: str, link_url: Callable[[str, str], str]
) -> bool:
    """Email the person their withdraw link, and a confirm link if the form asks for one.

    ``link_url(purpose, token)`` gives a link's full address. Returns whether
    the backend took the message; a failure is logged without the address and
    the sign-up stays as it is (an unconfirmed one expires unconfirmed).
    """
    form = submission.form
    campaign = submission.campaign
    with transaction.atomic():
        withdraw = _issue(submission, LinkPurpose.WITHDRAW, WITHDRAW_LIFETIME)
        confirm = (
            _issue(submission, LinkPurpose.CONFIRM, CONFIRM_LIFETIME)
            if submission.status == SubmissionStatus.UNCONFIRMED
            else None
        )
    lines = [f"Thank you for signing “{form.title}” for the campaign {campaign.name}.", ""]
    if confirm is not None:
        lines += [
            "Confirm that this address is yours, or the sign-up is not kept for the organisers:",
            link_url(LinkPurpose.CONFIRM, confirm),
            f"(The link works once, for {CONFIRM_LIFETIME.days} days.)",
            "",
        ]
    lines += [
        "Changed your mind? This link withdraws the sign-up and erases everything the "
        "campaign holds on you:",
        link_url(LinkPurpose.WITHDRAW, withdraw),
        "",
        "If you did not sign up, someone entered your address: open the link above to erase it.",
    ]
    subject = (
        f"Confirm your sign-up: {campaign.name}"
        if confirm is not None
        else f"You signed up: {campaign.name}"
    )
    try:
        sent = send_mail(subject, "\n".join(lines), settings.DEFAULT_FROM_EMAIL, [email])
    except Exception as exc:  # any backend failure; the address stays out of the log
        logger.error(
            "the sign-up email of submission %s could not be sent: %s",
            submission.uid,
            type(exc).__name__,
        )
        return False
    return sent == 1


def usable_link(token: str, purpose: str) -> SubmissionLink | None:
    found = (
        SubmissionLink.objects.select_related("submission__campaign", "submission__form")
        .filter(token_digest=digest_of(token or ""), purpose=purpose, used_at__isnull=True)
        .first()
    )
    if found is None or found.expires_at <= timezone.now():
        return None
    return found


@transaction.atomic
def confirm(token: str) -> Submission:
    """Move the unconfirmed sign-up to the review queue; the link is then used up."""
    link = (
        SubmissionLink.objects.select_for_update()
        .select_related("submission")
        .filter(
            token_digest=digest_of(token or ""),
            purpose=LinkPurpose.CONFIRM,
            used_at__isnull=True,
        )
        .first()
    )
    if link is None or link.expires_at <= timezone.now():
        raise LinkRefused("token", LINK_UNUSABLE)
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    submission = link.submission
    if submission.status == SubmissionStatus.UNCONFIRMED:
        submission.status = SubmissionStatus.PENDING
        submission.save(update_fields=["status"])
    return submission


def withdraw(token: str) -> services.ErasureResult:
    """Erase the person who signed, everywhere in the campaign, as an organiser's erasure does.

    The link goes with the rows it belonged to, so it cannot be used twice.
    """
    with transaction.atomic():
        link = (
            SubmissionLink.objects.select_for_update()
            .select_related("submission__supporter", "submission__campaign")
            .filter(token_digest=digest_of(token or ""), purpose=LinkPurpose.WITHDRAW)
            .first()
        )
        if link is None or link.expires_at <= timezone.now():
            raise LinkRefused("token", LINK_UNUSABLE)
        supporter = link.submission.supporter
        campaign = link.submission.campaign
    return services.erase_supporters(
        campaign, [supporter], channel=AuditChannel.WEB, action=AuditAction.WITHDRAW
    )
