"""Screening profiles: which agencies, tie kinds and statuses make a holding or vendor flagged.

A profile names agencies; their components count with them (ties to ICE
count for a profile naming DHS), through the same part_of rollup as every
other page. Invariant: a profile names at least one agency, at least one
non-structural tie kind and at least one status; ``services.save_profile``
is the one place that checks it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from receipts.evidence.models import Entity


class ScreeningProfile(models.Model):
    """A named, shareable set of rules for what counts as a tie worth flagging."""

    slug = models.SlugField(
        max_length=80,
        unique=True,
        help_text="Used in the profile's address: /screen/profiles/<slug>/ and /screen/?profile=<slug>.",
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="What the profile screens for, and why.")
    agencies = models.ManyToManyField(
        Entity,
        related_name="screening_profiles",
        help_text="Agencies whose ties count; the ties of their components count with them.",
    )
    tie_kinds = models.JSONField(
        default=list,
        help_text="Tie kinds that count (contract, hosting…); ownership and part_of never do: "
        "they are the structure rollups walk.",
    )
    statuses = models.JSONField(
        default=list, help_text="Tie statuses that count (active, alleged, announced, ended)."
    )
    listed = models.BooleanField(
        default=True,
        help_text="Listed on the screening page. Every profile opens at its own address, "
        "so an unlisted one can still be shared by link.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="May change the profile (with superusers).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("screening-profile", args=[self.slug])
