"""Subscriptions: an agency's contracts fetched from USAspending on a schedule."""

from __future__ import annotations

import datetime as dt

from django.db import models


class Subscription(models.Model):
    """One agency's contract data, kept current by the task queue.

    The first run asks for the contracts with actions since ``since``; each
    later run asks only for records modified since the day of the last
    successful run (``last_modified_date``), so a run imports the delta.
    """

    class Every(models.TextChoices):
        DAY = "day", "Every day"
        WEEK = "week", "Every week"

    agency_code = models.CharField(max_length=10, unique=True)
    agency_name = models.CharField(max_length=300)
    agency_tier = models.CharField(max_length=10, default="subtier")
    toptier_name = models.CharField(max_length=300, blank=True)
    every = models.CharField(max_length=10, choices=Every.choices, default=Every.DAY)
    since = models.DateField(
        help_text="The first run fetches contracts with actions from this day."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    next_run_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # The day the last successful run started: the next asks for records modified from it.
    last_success_from = models.DateField(null=True, blank=True)
    last_rows = models.IntegerField(null=True, blank=True)
    last_file_name = models.CharField(max_length=250, blank=True)
    last_error = models.TextField(blank=True)
    failures = models.IntegerField(default=0, help_text="Failed runs since the last success.")

    class Meta:
        ordering = ["agency_name"]

    def __str__(self) -> str:
        return f"{self.agency_name}, {self.get_every_display().lower()}"

    @property
    def interval(self) -> dt.timedelta:
        return dt.timedelta(days=7 if self.every == self.Every.WEEK else 1)
