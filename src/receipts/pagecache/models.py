from __future__ import annotations

from django.db import models


class ContentGeneration(models.Model):
    """One row: the token naming the current state of everything shown publicly.

    A new random token (never a counter) is written on every change, so a
    database restored from a backup or emptied and refilled can never bring
    back a token that names other content.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    token = models.CharField(max_length=32)
    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"content generation {self.token} ({self.changed_at:%Y-%m-%d %H:%M:%S})"
