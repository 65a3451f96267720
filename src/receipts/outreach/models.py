"""Outreach as data: forms, flyers, supporters with sealed fields, consent, audit and rate limits.

Invariants:
- A personal field is stored only sealed (``crypto.seal_field``) under the
  supporter's data key, bound to its table, row UUID and field name; no
  column holds a plaintext name, email, phone, employer, role, city or message.
- A supporter's data key is stored only wrapped under its organisation's KEK,
  in ``SupporterKey``, its own table: erasing a supporter deletes that row, and
  a copy of the ciphertext is then unreadable (crypto-shredding).
- ``ConsentRecord`` and ``AuditEvent`` rows are written once and never changed;
  audit events are never deleted and hold no personal data.

Every write goes through ``services``.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, NoReturn

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from receipts.campaigns.models import Action, Campaign

SOURCE_CODE_HELP = "Letters, digits, - and _; at most 40. Stored in lower case."


class Organisation(models.Model):
    """The group that holds a campaign's supporter data, and the owner of its keys.

    Keys belong to an organisation rather than to each campaign because the
    data controller is the group (a coalition member such as AECJ) that may run
    several campaigns; by default a campaign gets an organisation of its own,
    named after its slug, so nothing is shared until an operator says so.
    """

    slug = models.SlugField(
        max_length=60,
        unique=True,
        help_text="Names the key file (keys/<slug>.key) and the variable "
        "RECEIPTS_OUTREACH_KEY_<SLUG>. Fixed once supporters exist.",
    )
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "data-holding organisation"
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug


class CampaignOrganisation(models.Model):
    """Which organisation holds a campaign's supporter data and keys."""

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, primary_key=True, related_name="outreach_holder"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="campaign_links"
    )

    class Meta:
        verbose_name = "campaign's data-holding organisation"

    def __str__(self) -> str:
        return f"{self.campaign} → {self.organisation}"


class FormKind(models.TextChoices):
    SIGN_UP = "sign_up", "Sign-up form"
    PLEDGE = "pledge", "Pledge"


class FormField(models.TextChoices):
    """The fixed set of fields a form may ask; order here is the order on the page."""

    NAME = "name", "Name"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    EMPLOYER = "employer", "Employer"
    ROLE = "role", "Role"
    CITY = "city", "City"
    MESSAGE = "message", "Free text"


class SignupForm(models.Model):
    """A public sign-up or pledge form of a campaign: the fields asked and the consent shown."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="signup_forms")
    slug = models.SlugField(max_length=80, help_text="The form's address within the campaign.")
    kind = models.CharField(max_length=20, choices=FormKind.choices, default=FormKind.SIGN_UP)
    title = models.CharField(max_length=200)
    intro = models.TextField(
        blank=True, help_text="Shown above the fields; for a pledge, the words pledged."
    )
    fields = models.JSONField(
        default=list, help_text="The fields asked, from the fixed set; email or phone is one."
    )
    required_fields = models.JSONField(
        default=list, blank=True, help_text="The fields that may not be left empty."
    )
    consent_text = models.TextField(
        help_text="What the person agrees to, shown beside the box they tick. Required; a "
        "hash of the exact text shown is kept with each sign-up."
    )
    employer_domains = models.TextField(
        blank=True,
        help_text="Email domains of the employer, one per line (e.g. amazon.com). A sign-up "
        "with an address there is warned to use a personal one. Website identifiers of the "
        "campaign's targets and their families are added.",
    )
    thank_you = models.TextField(
        blank=True, help_text="Shown after a sign-up; it never names who signed."
    )
    is_open = models.BooleanField(default=True, help_text="A closed form takes no sign-ups.")
    confirm_first = models.BooleanField(
        default=False,
        help_text="A sign-up waits until the person opens the link emailed to them; only "
        "then does it reach the review queue. Needs a required email field.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "sign-up form"
        ordering = ["campaign", "title"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "slug"], name="signup_form_slug_once")
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("outreach-join", args=[self.campaign.slug, self.slug])


class Flyer(models.Model):
    """A printed flyer: its QR code leads to a form through ``/f/<code>``, attributing sign-ups."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="flyers")
    form = models.ForeignKey(
        SignupForm,
        on_delete=models.CASCADE,
        related_name="flyers",
        help_text="The form the QR code leads to.",
    )
    action = models.ForeignKey(
        Action,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="flyers",
        help_text="The action the flyer is handed out at.",
    )
    label = models.CharField(max_length=200, help_text="For organisers, e.g. Seattle rally flyer.")
    code = models.CharField(
        max_length=40,
        unique=True,
        help_text=f"The source code and short address /f/<code>. {SOURCE_CODE_HELP}",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "label"]

    def __str__(self) -> str:
        return f"{self.label} ({self.code})"

    def get_short_url(self) -> str:
        return reverse("outreach-flyer-short", args=[self.code])


class Supporter(models.Model):
    """A person who signed one of a campaign's forms; their answers live in ``Submission``.

    Holds no personal field itself, only blind indexes of the email and phone,
    which find a returning person without storing either.
    """

    uid = models.UUIDField(
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text="Stable id bound into the sealed fields' associated data.",
    )
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="supporters")
    email_index = models.CharField(
        max_length=64,
        blank=True,
        help_text="HMAC-SHA256 of the normalised email under the organisation's index key.",
    )
    phone_index = models.CharField(
        max_length=64,
        blank=True,
        help_text="HMAC-SHA256 of the normalised phone under the organisation's index key.",
    )
    index_version = models.PositiveIntegerField(
        default=1, help_text="The index key version the indexes were made with."
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_submitted_at = models.DateTimeField(
        default=timezone.now, db_index=True, help_text="Retention counts from here."
    )

    class Meta:
        ordering = ["campaign", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "email_index"],
                condition=~models.Q(email_index=""),
                name="supporter_email_once_per_campaign",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "phone_index"])]

    def __str__(self) -> str:
        return f"supporter {self.uid}"


class SupporterKey(models.Model):
    """A supporter's data key, wrapped under a KEK version of its organisation.

    Its own table so that erasure deletes exactly this: without it no copy of
    the supporter's ciphertext, in the database or an old backup, can be opened.
    """

    supporter = models.OneToOneField(
        Supporter, on_delete=models.CASCADE, primary_key=True, related_name="key"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="supporter_keys"
    )
    kek_version = models.PositiveIntegerField(help_text="The KEK version that wraps the key.")
    wrapped = models.BinaryField(help_text="AES-GCM sealed data key.")
    created_at = models.DateTimeField(auto_now_add=True)
    rewrapped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "supporter key"

    def __str__(self) -> str:
        return f"key of {self.supporter_id} under kek-{self.kek_version}"


class SubmissionStatus(models.TextChoices):
    UNCONFIRMED = "unconfirmed", "Waiting for the person to confirm their address"
    PENDING = "pending", "Waiting for review"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


# Columns of ``Submission`` that hold a sealed personal field, by form field.
SEALED_COLUMNS: dict[str, str] = {f.value: f"{f.value}_sealed" for f in FormField}


class Submission(models.Model):
    """One sign-up: what a person entered on a form, sealed field by field, and its review."""

    uid = models.UUIDField(
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text="Stable id bound into the sealed fields' associated data.",
    )
    supporter = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="submissions")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="submissions")
    form = models.ForeignKey(SignupForm, on_delete=models.RESTRICT, related_name="submissions")
    flyer = models.ForeignKey(
        Flyer, on_delete=models.SET_NULL, null=True, blank=True, related_name="submissions"
    )
    source_code = models.CharField(max_length=40, blank=True, help_text=SOURCE_CODE_HELP)
    status = models.CharField(
        max_length=20, choices=SubmissionStatus.choices, default=SubmissionStatus.PENDING
    )
    work_address = models.BooleanField(
        default=False,
        help_text="The email is at an employer's domain and the person kept it after the warning.",
    )
    submitted_at = models.DateTimeField(default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    name_sealed = models.BinaryField(null=True, blank=True)
    email_sealed = models.BinaryField(null=True, blank=True)
    phone_sealed = models.BinaryField(null=True, blank=True)
    employer_sealed = models.BinaryField(null=True, blank=True)
    role_sealed = models.BinaryField(null=True, blank=True)
    city_sealed = models.BinaryField(null=True, blank=True)
    message_sealed = models.BinaryField(null=True, blank=True)

    class Meta:
        ordering = ["campaign", "submitted_at", "id"]
        indexes = [models.Index(fields=["campaign", "status", "submitted_at"])]

    def __str__(self) -> str:
        return f"submission {self.uid} ({self.status})"


class LinkPurpose(models.TextChoices):
    CONFIRM = "confirm", "Confirm the address"
    WITHDRAW = "withdraw", "Withdraw the sign-up"


class SubmissionLink(models.Model):
    """A link emailed to the person who signed: to confirm their address, or to withdraw.

    Only the SHA-256 of the link's token is stored. It goes with the
    submission when the person is erased; a confirm link works once.
    """

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="links")
    purpose = models.CharField(max_length=10, choices=LinkPurpose.choices)
    token_digest = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 of the link's token, in hex."
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "sign-up link"

    def __str__(self) -> str:
        return f"{self.purpose} link of {self.submission_id}"


class ImmutableQuerySet(models.QuerySet):  # type: ignore[type-arg]
    """A queryset whose rows cannot be changed or deleted in bulk."""

    refuse_delete: ClassVar[bool] = True

    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError(f"{self.model.__name__} rows are never changed")

    def delete(self) -> Any:
        if self.refuse_delete:
            raise PermissionError(f"{self.model.__name__} rows are never deleted")
        return super().delete()


class DeletableImmutableQuerySet(ImmutableQuerySet):
    # Consent records go with the person they belong to when a supporter is erased.
    refuse_delete = False


class ConsentText(models.Model):
    """A consent text exactly as shown, stored once under its SHA-256."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    text = models.TextField()
    first_shown_at = models.DateTimeField(default=timezone.now)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        verbose_name = "consent text"

    def __str__(self) -> str:
        return self.sha256[:12]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("a consent text is never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("a consent text is never deleted")


class ConsentRecord(models.Model):
    """What one sign-up agreed to: the hash of the consent text shown, when, and from where.

    Written once with its submission and never changed. It is deleted with the
    submission when the person is erased: the record is about them, and the
    audit log keeps the de-identified fact that an erasure happened.
    """

    submission = models.OneToOneField(
        Submission, on_delete=models.CASCADE, primary_key=True, related_name="consent"
    )
    consent_sha256 = models.CharField(
        max_length=64, help_text="SHA-256 of the consent text shown (see consent texts)."
    )
    consented_at = models.DateTimeField()
    source_code = models.CharField(max_length=40, blank=True, help_text=SOURCE_CODE_HELP)

    objects = DeletableImmutableQuerySet.as_manager()

    class Meta:
        verbose_name = "consent record"
        ordering = ["consented_at"]

    def __str__(self) -> str:
        return f"consent {self.consent_sha256[:12]} at {self.consented_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("a consent record is never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)


class AuditAction(models.TextChoices):
    VIEW_REVIEW = "view_review", "Viewed the review queue"
    VIEW_SUPPORTERS = "view_supporters", "Viewed the supporter list"
    EXPORT_CSV = "export_csv", "Exported supporters as CSV"
    EXPORT_OSDI = "export_osdi", "Exported supporters as OSDI people"
    WITHDRAW = "withdraw", "A supporter withdrew their sign-up"
    ACCEPT = "accept", "Accepted sign-ups"
    REJECT = "reject", "Rejected sign-ups"
    ERASE = "erase", "Erased supporters"
    PURGE = "purge", "Purged supporters past retention"
    ROTATE_KEYS = "rotate_keys", "Rotated keys"


class AuditChannel(models.TextChoices):
    WEB = "web", "Web"
    CLI = "cli", "Command line"


class AuditEvent(models.Model):
    """One view, export or change of supporter data. Append-only; holds no personal data.

    The user and campaign are plain ids, not foreign keys, so the log outlives
    a deleted user or campaign and never cascades away.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user_id = models.BigIntegerField(
        null=True, blank=True, help_text="The staff user's id; empty for the command line."
    )
    channel = models.CharField(max_length=10, choices=AuditChannel.choices)
    action = models.CharField(max_length=30, choices=AuditAction.choices)
    campaign_id = models.BigIntegerField(null=True, blank=True)
    organisation_id = models.BigIntegerField(null=True, blank=True)
    supporter_count = models.PositiveIntegerField(
        default=0, help_text="How many supporters the event touched."
    )

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        verbose_name = "audit event"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} ({self.supporter_count})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("an audit event is never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("an audit event is never deleted")


class RateLimitBucket(models.Model):
    """Sign-ups counted per client, form and window; the client is a keyed hash, never an IP."""

    client_key = models.CharField(
        max_length=64, help_text="HMAC-SHA256 of the client's address under the secret key."
    )
    scope = models.CharField(max_length=80, help_text="What is limited, e.g. form-3/minute.")
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "rate-limit bucket"
        constraints = [
            models.UniqueConstraint(
                fields=["client_key", "scope", "window_start"], name="rate_limit_bucket_once"
            )
        ]
        indexes = [models.Index(fields=["window_start"])]

    def __str__(self) -> str:
        return f"{self.scope} {self.window_start:%Y-%m-%d %H:%M}: {self.count}"
