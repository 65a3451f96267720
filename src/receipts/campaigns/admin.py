"""Django admin for superusers: settings and members through the services, the rest read-only.

Demands, actions, the coalition and goals change on the editor pages, where
every status change and action is saved with its citation; the admin shows
them without offering a way around that.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from . import services
from .models import (
    Action,
    Campaign,
    CampaignCitation,
    CampaignMembership,
    CoalitionMember,
    Demand,
    DemandStatusChange,
    Goal,
)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(admin.TabularInline):  # type: ignore[type-arg]
    model = CampaignMembership
    extra = 1
    fields = ["user", "role"]


class CoalitionInline(ReadOnlyInline):
    model = CoalitionMember
    fields = ["organisation", "role"]


class CampaignAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Campaign
        fields = ["name", "slug", "summary", "targets", "status", "visibility", "start_date"]

    def clean_start_date(self) -> str:
        start: str = self.cleaned_data["start_date"]
        if self.instance.pk is not None:
            for action in self.instance.actions.all():
                if services.partial_date_before(action.date, start):
                    raise ValidationError(
                        f"The action “{action.title}” is dated {action.date}, before {start}."
                    )
        return start


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = CampaignAdminForm
    list_display = ["name", "slug", "status", "visibility", "start_date"]
    list_filter = ["status", "visibility"]
    search_fields = ["name", "slug"]
    fields = ["name", "slug", "summary", "targets", "status", "visibility", "start_date"]
    autocomplete_fields = ["targets"]
    inlines = [MembershipInline, CoalitionInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None) -> list[str]:
        return ["slug"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        if change:
            services.update_campaign(
                obj,
                name=obj.name,
                summary=obj.summary,
                status=obj.status,
                visibility=obj.visibility,
                start_date=obj.start_date,
            )
        else:
            saved = services.create_campaign(
                name=obj.name,
                slug=obj.slug or None,
                summary=obj.summary,
                status=obj.status,
                visibility=obj.visibility,
                start_date=obj.start_date,
                created_by=request.user,
            )
            obj.pk, obj.slug, obj._state.adding = saved.pk, saved.slug, False
            obj._state.db = saved._state.db  # the admin then saves the targets onto it

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not CampaignMembership:
            return super().save_formset(request, form, formset, change)
        campaign = form.instance
        for f in formset.forms:
            data = getattr(f, "cleaned_data", None)
            if not data or not data.get("user"):
                continue
            if data.get("DELETE"):
                services.remove_campaign_member(campaign, data["user"])
            else:
                services.add_campaign_member(campaign, data["user"], data["role"])
        # The admin's change message reads what a formset saved; the services saved it here.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        return None


class StatusChangeInline(ReadOnlyInline):
    model = DemandStatusChange
    fields = ["from_status", "to_status", "date", "note", "decided_by", "recorded_at"]
    readonly_fields = ["from_status", "to_status", "date", "note", "decided_by", "recorded_at"]


@admin.register(Demand)
class DemandAdmin(ReadOnlyAdmin):
    list_display = ["text", "campaign", "status"]
    list_filter = ["status", "campaign"]
    inlines = [StatusChangeInline]


@admin.register(Action)
class ActionAdmin(ReadOnlyAdmin):
    list_display = ["title", "campaign", "kind", "date", "place"]
    list_filter = ["kind", "campaign"]


@admin.register(Goal)
class GoalAdmin(ReadOnlyAdmin):
    list_display = ["metric", "campaign", "target", "value", "deadline"]


@admin.register(CampaignCitation)
class CampaignCitationAdmin(ReadOnlyAdmin):
    list_display = ["source", "action", "status_change", "goal_update", "locator"]
