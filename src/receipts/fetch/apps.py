"""The fetch app: subscriptions to USAspending and the tasks that run them."""

from __future__ import annotations

from django.apps import AppConfig


class FetchConfig(AppConfig):
    name = "receipts.fetch"
    label = "fetch"
    verbose_name = "Fetching"
    default_auto_field = "django.db.models.BigAutoField"
