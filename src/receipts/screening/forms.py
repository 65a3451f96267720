"""Forms of the screening pages: the upload, and a profile's rules."""

from __future__ import annotations

from typing import Any

from django import forms

from receipts.evidence.models import Entity, EntityKind, TieKind, TieStatus
from receipts.evidence.queries import NameAmbiguous, NameNotFound, resolve_entity

from .queries import DEALING_KINDS, DEFAULT_SLUG


class ScreenForm(forms.Form):
    """A CSV file and the profile to screen it with."""

    file = forms.FileField(
        label="CSV file of holdings or vendors",
        help_text="Columns by header: ticker, ISIN, CUSIP, LEI, name, UEI, DUNS; value or "
        "weight optional. Comma, semicolon, tab or pipe delimited; UTF-8.",
    )
    profile = forms.ChoiceField(
        label="Profile", required=False, help_text="What counts as a tie; the default is dhs."
    )

    def __init__(self, *args: Any, profiles: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["profile"].choices = profiles  # type: ignore[attr-defined]

    def clean_profile(self) -> str:
        return self.cleaned_data.get("profile") or DEFAULT_SLUG


class ProfileForm(forms.Form):
    """A profile's name and rules; agencies are named one per line and resolved like search."""

    name = forms.CharField(max_length=200)
    slug = forms.SlugField(
        max_length=80,
        required=False,
        help_text="The profile's address: /screen/profiles/<slug>/. Made from the name if empty.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    agencies = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One agency per line: name, alias (ICE), slug or agency code. Their "
        "components count with them.",
    )
    tie_kinds = forms.MultipleChoiceField(
        label="Tie kinds that count",
        choices=[(k, TieKind(k).label) for k in DEALING_KINDS],
        widget=forms.CheckboxSelectMultiple,
    )
    statuses = forms.MultipleChoiceField(
        label="Statuses that count",
        choices=TieStatus.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave 'Ended' out to screen on what companies do now.",
    )
    listed = forms.BooleanField(
        required=False,
        initial=True,
        label="List on the screening page",
        help_text="Any profile opens at its own address and can be shared by link.",
    )

    def clean_agencies(self) -> list[Entity]:
        found: list[Entity] = []
        errors: list[str] = []
        for raw in self.cleaned_data["agencies"].splitlines():
            text = raw.strip()
            if not text:
                continue
            try:
                entity = resolve_entity(text)
            except (NameNotFound, NameAmbiguous) as exc:
                errors.append(str(exc))
                continue
            if entity.kind != EntityKind.AGENCY:
                errors.append(
                    f"{entity.name} is a {entity.get_kind_display().lower()}, not an agency"
                )
            elif entity not in found:
                found.append(entity)
        if errors:
            raise forms.ValidationError(errors)
        if not found:
            raise forms.ValidationError("Name at least one agency.")
        return found
