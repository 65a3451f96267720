"""Authenticator apps, recovery codes and failed-code counters for two-factor login.

The authenticator app is django-otp's ``TOTPDevice`` seen through the proxy
``AuthenticatorApp``, whose secret is stored sealed under the login keyring
(``keys``), never in clear. Recovery codes are stored only as digests keyed
with that keyring, and each one is deleted when it is used, so the database
never holds a code or secret that works without the keyring. ``CodeAttempts``
counts wrong codes per user across both kinds of code; the lockout it drives
lives in ``services``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import keys


class AuthenticatorApp(TOTPDevice):
    """A TOTP device whose secret opens only with the login keyring.

    ``key`` holds ``sealed-<version>:...``, which is not hex: django-otp's own
    ``TOTPDevice`` class cannot compute codes from it, only this proxy can.
    """

    class Meta:
        proxy = True
        verbose_name = "authenticator app"

    @property
    def bin_key(self) -> bytes:
        return keys.open_totp_key(self.key, user_id=self.user_id)


@receiver(pre_save, sender=TOTPDevice)
@receiver(pre_save, sender=AuthenticatorApp)
def seal_totp_key(sender: type[TOTPDevice], instance: TOTPDevice, **kwargs: Any) -> None:
    """Seal a plain hex key before any save, from this app, the admin or django-otp itself."""
    if not keys.is_sealed(instance.key):
        instance.key = keys.seal_totp_key(instance.key, user_id=instance.user_id)


class RecoveryCodeSet(Device):
    """The one-time recovery codes of one user, handed out once when two-factor login is turned on.

    A django-otp device, so a session verified with a recovery code counts as
    verified exactly as one verified with the authenticator app.
    """

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(Device.Meta):
        verbose_name = "recovery code set"

    def verify_token(self, token: Any) -> bool:
        """Use up the code: true once for each code, false ever after."""
        from .recovery import digest_of

        digest = digest_of(str(token))
        if digest is None:
            return False
        # One DELETE: of two requests racing with one code, only one deletes a row.
        deleted, _ = RecoveryCode.objects.filter(
            code_set=self, digest__in=keys.recovery_digests(digest)
        ).delete()
        return deleted > 0


class RecoveryCode(models.Model):
    """One unused recovery code, kept as a keyed digest of its normalised text."""

    code_set = models.ForeignKey(RecoveryCodeSet, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(
        max_length=64,
        help_text="HMAC-SHA256, under an index key of the login keyring, of the SHA-256 of "
        "the code (lower case, without hyphens), in hex.",
    )

    class Meta:
        verbose_name = "recovery code"
        indexes = [models.Index(fields=["code_set", "digest"])]

    def __str__(self) -> str:
        return f"recovery code of {self.code_set.user}"


class CodeAttempts(models.Model):
    """Wrong two-factor codes in a row for one user, and the lockout they earned."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="code_attempts"
    )
    failures = models.PositiveIntegerField(
        default=0, help_text="Wrong codes in a row since the last right one."
    )
    locked_until = models.DateTimeField(
        null=True, blank=True, help_text="No code of this user is checked before this time."
    )

    class Meta:
        verbose_name = "two-factor code attempts"
        verbose_name_plural = "two-factor code attempts"

    def __str__(self) -> str:
        return f"{self.user}: {self.failures} wrong codes in a row"


class Invitation(models.Model):
    """An invitation by email to a campaign with a role; its link makes the account.

    Only the SHA-256 of the link's token is stored: the database never holds a
    link that works. The link is used once and expires.
    """

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(help_text="The address the invitation was sent to.")
    role = models.CharField(max_length=20, help_text="The campaign role the invitation gives.")
    token_digest = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 of the link's token, in hex."
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"invitation to {self.campaign} as {self.role}"


class LoginLink(models.Model):
    """A one-time link that logs one user in, for a short time (the demo's organiser).

    Only the SHA-256 of the token is stored; using the link marks it used.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_links"
    )
    token_digest = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 of the link's token, in hex."
    )
    next_path = models.CharField(
        max_length=300, default="/", help_text="The page the link leads to once logged in."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "one-time login link"

    def __str__(self) -> str:
        return f"login link for {self.user}"
