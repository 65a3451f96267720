"""Django admin for superusers: outreach settings and logs, read-only.

Supporters, submissions and their keys are not in the admin at all: the
admin would show ciphertext and offer deletes that bypass the audit log and
key rotation. Consent records and audit events are shown and never changed.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    AuditEvent,
    CampaignOrganisation,
    ConsentRecord,
    ConsentText,
    Flyer,
    Organisation,
    SignupForm,
)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Organisation)
class OrganisationAdmin(ReadOnlyAdmin):
    list_display = ["slug", "name", "created_at"]


@admin.register(CampaignOrganisation)
class CampaignOrganisationAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "organisation"]


@admin.register(SignupForm)
class SignupFormAdmin(ReadOnlyAdmin):
    list_display = ["title", "campaign", "kind", "slug", "is_open"]
    list_filter = ["kind", "is_open"]


@admin.register(Flyer)
class FlyerAdmin(ReadOnlyAdmin):
    list_display = ["label", "code", "campaign", "form", "action"]


@admin.register(ConsentText)
class ConsentTextAdmin(ReadOnlyAdmin):
    list_display = ["sha256", "first_shown_at"]


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ["consent_sha256", "consented_at", "source_code"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "channel", "user_id", "campaign_id", "supporter_count"]
    list_filter = ["action", "channel"]
