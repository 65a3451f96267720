"""Admin for recovery codes and wrong-code lockouts; django-otp registers the authenticator apps.

A staff member helps a user who lost both phone and recovery codes by
deleting the user's TOTP device, and lifts a lockout by clearing its time here.
No page shows a code digest.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import CodeAttempts, RecoveryCodeSet


@admin.register(RecoveryCodeSet)
class RecoveryCodeSetAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "codes_left"]
    search_fields = ["user__username"]
    fields = ["user", "created_at"]
    readonly_fields = ["user", "created_at"]

    @admin.display(description="codes left")
    def codes_left(self, obj: RecoveryCodeSet) -> int:
        return obj.codes.count()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(CodeAttempts)
class CodeAttemptsAdmin(admin.ModelAdmin):
    list_display = ["user", "failures", "locked_until"]
    search_fields = ["user__username"]
    fields = ["user", "failures", "locked_until"]
    readonly_fields = ["user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
