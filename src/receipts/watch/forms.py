"""Forms of the watchlist pages. They parse input; saving goes through ``services``."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from receipts.evidence.models import Entity
from receipts.evidence.queries import NameAmbiguous, NameNotFound, resolve_entity


def _entities(text: str) -> list[Entity]:
    found: list[Entity] = []
    errors: list[str] = []
    for line in text.splitlines():
        name = line.strip()
        if not name:
            continue
        try:
            entity = resolve_entity(name)
        except (NameNotFound, NameAmbiguous) as exc:
            errors.append(str(exc))
            continue
        if entity not in found:
            found.append(entity)
    if errors:
        raise ValidationError(errors)
    return found


class EntitiesField(forms.CharField):
    """Entities named one per line by name, alias, slug or identifier."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3}))
        kwargs.setdefault(
            "help_text",
            "One per line: a name, alias, slug or identifier (AMZN, a UEI…). Subsidiaries "
            "and agency components are watched with them.",
        )
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def clean(self, value: object) -> list[Entity]:  # type: ignore[override]
        return _entities(super().clean(value) or "")


class WatchlistForm(forms.Form):
    name = forms.CharField(max_length=200)
    entities = EntitiesField(required=False)


class EntityForm(forms.Form):
    entities = EntitiesField(label="Add entities")


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="Webhook URL",
        max_length=2000,
        assume_scheme="https",
        help_text="Receipts POSTs JSON here, signed with the secret (X-Receipts-Signature).",
    )
    secret = forms.CharField(
        required=False,
        max_length=200,
        help_text="At least 16 characters; leave empty for a random one.",
    )


class EmailForm(forms.Form):
    recipients = forms.CharField(
        label="Email digest to",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One address per line; each gets one email per run listing the new changes.",
    )

    def clean_recipients(self) -> list[str]:
        return [a.strip() for a in self.cleaned_data["recipients"].splitlines() if a.strip()]


class EndingWarningsForm(forms.Form):
    days = forms.CharField(
        label="Warn before a contract ends, days ahead",
        max_length=200,
        required=False,
        help_text="Whole days, separated by commas (e.g. 180, 90, 30); empty for no warnings.",
    )

    def clean_days(self) -> list[int]:
        chosen: list[int] = []
        for part in self.cleaned_data["days"].replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise forms.ValidationError(f"{part!r} is not a whole number of days")
            chosen.append(int(part))
        return chosen
