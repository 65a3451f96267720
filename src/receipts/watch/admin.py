"""Django admin for superusers: watchlists with their channels, and read-only events and deliveries.

Watchlists are changed here as on their pages; events and the delivery log
are records of what happened and cannot be edited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ChangeEvent, Channel, Delivery, DeliveryAttempt, Watchlist


class ChannelInline(admin.TabularInline):
    model = Channel
    extra = 0
    fields = ["kind", "url", "secret", "recipients", "active", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Watchlist)
class WatchlistAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "created_at"]
    search_fields = ["name", "owner__username"]
    autocomplete_fields = ["entities"]
    readonly_fields = ["feed_token", "created_at", "updated_at"]
    inlines = [ChannelInline]


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ChangeEvent)
class ChangeEventAdmin(_ReadOnly):
    list_display = ["summary", "kind", "date", "occurred_at"]
    list_filter = ["kind"]
    search_fields = ["summary", "dedupe_key", "source_title"]
    date_hierarchy = "occurred_at"


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["attempted_at", "status_code", "error", "duration_ms"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(_ReadOnly):
    list_display = [
        "channel",
        "event_count",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
    ]
    list_filter = ["status", "channel__kind"]
    readonly_fields = ["uid", "channel", "status", "event_count", "attempts", "next_attempt_at"]
    exclude = ["body"]
    inlines = [DeliveryAttemptInline]
