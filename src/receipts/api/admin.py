"""API tokens in the admin: list them and revoke them, nothing else.

Tokens are issued only by ``receipts token create``, which shows the token
once; the admin never creates a token and never shows a token or its digest.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("label", "user", "created_at", "last_used_at", "revoked")
    list_filter = ("revoked",)
    search_fields = ("label", "user__username")
    ordering = ("-created_at",)
    fields = ("label", "user", "created_at", "last_used_at", "revoked")
    readonly_fields = fields
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        # Revoked tokens stay listed: they record who could write, and when.
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        # Change rights allow the revoke action on the list; a token's own page is read-only.
        return obj is None and super().has_change_permission(request)

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.filter(revoked=False).update(revoked=True)
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)
