"""Django admin for screening profiles; saves go through ``services.save_profile``,
so the admin cannot store a profile without an agency, a kind or a status either."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from receipts.evidence.models import EntityKind, TieStatus

from . import services
from .models import ScreeningProfile
from .queries import DEALING_KINDS


class ScreeningProfileForm(forms.ModelForm):  # type: ignore[type-arg]
    tie_kinds = forms.MultipleChoiceField(
        choices=[(k, k.replace("_", " ")) for k in DEALING_KINDS],
        widget=forms.CheckboxSelectMultiple,
    )
    statuses = forms.MultipleChoiceField(
        choices=TieStatus.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ScreeningProfile
        fields = ["name", "slug", "description", "agencies", "tie_kinds", "statuses", "listed"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        agencies = self.fields["agencies"]
        agencies.queryset = agencies.queryset.live().filter(  # type: ignore[attr-defined]
            kind=EntityKind.AGENCY
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            # Checked here so the admin shows a refusal on the form; saved in save_model.
            services.check_profile(
                name=data.get("name", ""),
                slug=data.get("slug") or None,
                agencies=list(data.get("agencies") or []),
                tie_kinds=data.get("tie_kinds") or [],
                statuses=data.get("statuses") or [],
                profile=self.instance if self.instance.pk else None,
            )
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return data


@admin.register(ScreeningProfile)
class ScreeningProfileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ScreeningProfileForm
    list_display = ["name", "slug", "listed", "created_by", "updated_at"]
    list_filter = ["listed"]
    search_fields = ["name", "slug", "description"]
    filter_horizontal = ["agencies"]

    def save_model(
        self, request: HttpRequest, obj: ScreeningProfile, form: Any, change: bool
    ) -> None:
        data = form.cleaned_data
        saved = services.save_profile(
            name=data["name"],
            slug=data.get("slug") or None,
            description=data.get("description", ""),
            agencies=list(data["agencies"]),
            tie_kinds=data["tie_kinds"],
            statuses=data["statuses"],
            listed=data.get("listed", True),
            created_by=obj.created_by if change else request.user,
            profile=obj if change else None,
        )
        obj.pk, obj.slug, obj._state.adding = saved.pk, saved.slug, False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # save_profile has set the agencies; the form's own M2M save would repeat it.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
