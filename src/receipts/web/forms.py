"""Editor forms. They only parse input; saving goes through the evidence services."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from receipts.evidence.dates import parse_partial_date
from receipts.evidence.models import (
    LONG_TEXT_MAX_LENGTH,
    Entity,
    EntityKind,
    IdentifierScheme,
    Source,
    SourceKind,
    TieKind,
    TieStatus,
)

PARTIAL_DATE_HELP = "YYYY, YYYY-MM or YYYY-MM-DD; leave out what the source does not say."


class PartialDateField(forms.CharField):
    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 10)
        kwargs.setdefault("help_text", PARTIAL_DATE_HELP)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def clean(self, value: object) -> str:
        text = super().clean(value)
        return parse_partial_date(text, self.label or "date")


class EntityChoiceField(forms.CharField):
    """An entity named by slug, name, alias or identifier, resolved on clean."""

    def clean(self, value: object) -> Entity:
        from receipts.evidence.queries import NameAmbiguous, NameNotFound, resolve_entity

        text = super().clean(value)
        try:
            return resolve_entity(text)
        except (NameNotFound, NameAmbiguous) as exc:
            raise ValidationError(str(exc)) from exc


class EntityForm(forms.Form):
    name = forms.CharField(max_length=300)
    kind = forms.ChoiceField(choices=EntityKind.choices)
    aliases = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="One per line."
    )
    identifiers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line as scheme:value, e.g. ticker:AMZN or uei:ABC123DEF456. Schemes: "
        + ", ".join(IdentifierScheme.values),
    )
    country = forms.CharField(max_length=2, required=False, help_text="Two-letter ISO code.")
    summary = forms.CharField(
        required=False,
        max_length=LONG_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_aliases(self) -> list[str]:
        return [a.strip() for a in self.cleaned_data["aliases"].splitlines() if a.strip()]

    def clean_identifiers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for n, line in enumerate(self.cleaned_data["identifiers"].splitlines(), start=1):
            if not line.strip():
                continue
            scheme, sep, value = line.partition(":")
            scheme = scheme.strip().lower()
            if not sep or not value.strip():
                raise ValidationError(f"line {n}: write scheme:value, e.g. ticker:AMZN")
            if scheme not in IdentifierScheme.values:
                raise ValidationError(f"line {n}: {scheme!r} is not a known identifier scheme")
            out.setdefault(scheme, []).append(value.strip())
        return out


class SourceForm(forms.Form):
    kind = forms.ChoiceField(choices=SourceKind.choices)
    title = forms.CharField(max_length=500)
    publisher = forms.CharField(max_length=300, required=False)
    url = forms.URLField(max_length=2000, required=False, assume_scheme="https", label="URL")
    published = PartialDateField(label="Published")
    retrieved = PartialDateField(label="Retrieved")


class ArchiveForm(forms.Form):
    file = forms.FileField(help_text="PDF, HTML page, image or CSV: the copy behind the source.")


class CitationFields(forms.Form):
    source = forms.ModelChoiceField(queryset=Source.objects.order_by("title"))
    quote = forms.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The words in the source that back the claim.",
    )
    locator = forms.CharField(
        max_length=500, required=False, help_text="Where in the source: page, paragraph, record."
    )


class TieForm(CitationFields):
    subject = EntityChoiceField(help_text="Name, alias, slug or identifier.")
    kind = forms.ChoiceField(
        choices=TieKind.choices,
        help_text="owns: owner → asset; part of: component → parent; contract: supplier → agency.",
    )
    object = EntityChoiceField(help_text="Name, alias, slug or identifier.")
    status = forms.ChoiceField(choices=TieStatus.choices)
    start_date = PartialDateField(label="Start date")
    end_date = PartialDateField(label="End date")
    amount = forms.DecimalField(required=False, max_digits=20, decimal_places=2)
    currency = forms.CharField(max_length=3, required=False)
    summary = forms.CharField(
        required=False,
        max_length=LONG_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    field_order = [
        "subject",
        "kind",
        "object",
        "status",
        "start_date",
        "end_date",
        "amount",
        "currency",
        "summary",
        "source",
        "quote",
        "locator",
    ]


class TieEditForm(TieForm):
    """Editing a tie: the citation is needed only when status or end date change."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["source"].required = False
        self.fields[
            "source"
        ].help_text = "Needed when the status or end date changes: the source that reports it."
