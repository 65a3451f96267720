"""API tokens. Only a SHA-256 digest of a token is stored, never the token.

A token scoped to a campaign writes that campaign and nothing else.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    label = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="api_tokens",
        help_text="When set, the token writes this campaign only: no other campaign and no "
        "evidence.",
    )

    class Meta:
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.label} ({self.user})"
