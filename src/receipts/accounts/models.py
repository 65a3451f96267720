"""Recovery codes and failed-code counters for two-factor login.

The authenticator app itself is django-otp's ``TOTPDevice``. Recovery codes
are stored only as SHA-256 digests and each one is deleted when it is used, so
the database never holds a code that still works. ``CodeAttempts`` counts
wrong codes per user across both kinds of code; the lockout it drives lives in
``services``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django_otp.models import Device


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
        deleted, _ = RecoveryCode.objects.filter(code_set=self, digest=digest).delete()
        return deleted > 0


class RecoveryCode(models.Model):
    """One unused recovery code, kept as the SHA-256 digest of its normalised text."""

    code_set = models.ForeignKey(RecoveryCodeSet, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(
        max_length=64, help_text="SHA-256 of the code (lower case, without hyphens), in hex."
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
