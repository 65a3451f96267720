"""Captures of a source's web page and the checks that watch it for rot and change.

Invariant: a Capture row exists only once every file it names is in the
archive store, and the files are listed in a manifest whose SHA-256 is the
capture's fingerprint; ``services.capture_source`` writes the files first and
the row last, in one transaction, and removes the files of a capture that
failed.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse

from receipts.evidence.models import Source


class CaptureKind(models.TextChoices):
    PAGE = "page", "Web page (loaded in a browser)"
    FILE = "file", "File kept as it came (PDF, image, CSV, text)"


class Capture(models.Model):
    """One copy of a source's link as it was at one moment."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="captures")
    kind = models.CharField(max_length=10, choices=CaptureKind.choices)
    requested_url = models.URLField(max_length=2000, verbose_name="requested URL")
    final_url = models.URLField(
        max_length=2000, verbose_name="final URL", help_text="The URL after redirects."
    )
    status = models.PositiveSmallIntegerField(help_text="HTTP status of the final answer.")
    media_type = models.CharField(max_length=100, help_text="Media type the link served.")
    captured_at = models.DateTimeField(help_text="When the capture was made (UTC).")
    fingerprint = models.CharField(
        max_length=64,
        verbose_name="fingerprint (SHA-256 of the manifest)",
        help_text="SHA-256 of the manifest that lists every file of the capture by its SHA-256.",
    )
    files = models.JSONField(
        default=dict,
        help_text="Role (wacz, pdf, screenshot, text, original, manifest) to SHA-256, media type and size.",
    )
    text = models.TextField(blank=True, help_text="The main text read from the page.")
    found_title = models.CharField(max_length=500, blank=True)
    found_publisher = models.CharField(max_length=300, blank=True)
    found_published = models.CharField(max_length=10, blank=True)
    refused = models.JSONField(
        default=list, blank=True, help_text="Requests of the page that were refused, and why."
    )
    wayback_url = models.URLField(max_length=2000, blank=True, verbose_name="Wayback Machine URL")
    timestamp_sha256 = models.CharField(
        max_length=64,
        blank=True,
        verbose_name="RFC 3161 timestamp (SHA-256 of the .tsr file)",
        help_text="The authority's answer, verified and kept in the archive store.",
    )
    timestamped_at = models.DateTimeField(
        null=True, blank=True, help_text="The time the timestamp authority vouches for."
    )
    timestamp_authority = models.URLField(max_length=2000, blank=True)

    class Meta:
        ordering = ["-captured_at", "-id"]
        indexes = [models.Index(fields=["source", "captured_at"])]

    def __str__(self) -> str:
        return f"{self.final_url} at {self.captured_at:%Y-%m-%d %H:%M} UTC"

    def get_absolute_url(self) -> str:
        return reverse("source", args=[self.source_id]) + f"#capture-{self.pk}"

    def file_url(self, role: str) -> str:
        return reverse("capture-file", args=[self.pk, role])


class CheckOutcome(models.TextChoices):
    ALIVE = "alive", "Alive, unchanged"
    CHANGED = "changed", "Changed (a new capture was made)"
    GONE = "gone", "Gone"
    FAILED = "failed", "Could not be checked"


class SourceCheck(models.Model):
    """One re-check of a source's link: alive, changed or gone."""

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="checks")
    checked_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=CheckOutcome.choices)
    detail = models.CharField(max_length=1000, blank=True)
    capture = models.ForeignKey(
        Capture, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["source", "checked_at"])]

    def __str__(self) -> str:
        return f"{self.source} {self.outcome} at {self.checked_at:%Y-%m-%d}"


class CheckCadence(models.Model):
    """How often one source's link is re-checked, when not the default."""

    source = models.OneToOneField(Source, on_delete=models.CASCADE, related_name="check_cadence")
    every_days = models.PositiveSmallIntegerField(help_text="Days between re-checks.")

    def __str__(self) -> str:
        return f"{self.source}: every {self.every_days} days"
