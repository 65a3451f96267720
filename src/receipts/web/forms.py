"""Editor forms. They only parse input; saving goes through the evidence services."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from receipts.evidence.dates import parse_partial_date
from receipts.evidence.duplicates import search_sources, source_choice_label
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


class SourceSearchInput(forms.TextInput):
    """A search field whose suggestions come from the site as the editor types (htmx),
    in a ``<datalist>``: without script the browser still offers what the server
    suggested last, and the field still takes words or a source's number."""

    input_type = "search"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.suggestions: list[Source] = []

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        list_id = f"{(attrs or {}).get('id') or 'id_' + name}-options"
        attrs = {
            **(attrs or {}),
            "list": list_id,
            "autocomplete": "off",
            "hx-get": reverse("source-search"),
            "hx-trigger": "input changed delay:250ms, search",
            "hx-target": f"#{list_id}",
            "hx-swap": "innerHTML",
            "hx-sync": "this:replace",
        }
        field = super().render(name, value, attrs, renderer)
        options = format_html_join(
            "",
            '<option value="{}"></option>',
            ((source_choice_label(s),) for s in self.suggestions),
        )
        return format_html('{}<datalist id="{}">{}</datalist>', field, list_id, options)


class SourceSearchField(forms.CharField):
    """A source chosen by search: its number (``12`` or ``12: Title``), or words that
    match one source only. Several matches are an error that lists them."""

    widget = SourceSearchInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 800)
        kwargs.setdefault(
            "help_text",
            "Type words of its title, publisher or address and pick it from the list, "
            "or type its number.",
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Source | None:  # type: ignore[override]
        text = super().clean(value).strip()
        if not text:
            return None
        matches = search_sources(text)
        number = re.fullmatch(r"#?(\d+)(?::.*)?", text, flags=re.DOTALL)
        if number and matches and matches[0].pk == int(number.group(1)):
            return matches[0]
        exact = [s for s in matches if s.title.casefold() == text.casefold()]
        if len(exact) == 1:
            return exact[0]
        if len(matches) == 1:
            return matches[0]
        assert isinstance(self.widget, SourceSearchInput)
        self.widget.suggestions = matches
        if not matches:
            raise ValidationError(
                f"No source matches “{text[:100]}”. Add it under New source first, "
                "or type other words."
            )
        listed = "; ".join(source_choice_label(s) for s in matches[:10])
        raise ValidationError(
            f"{len(matches)}{'+' if len(matches) >= 20 else ''} sources match “{text[:100]}”: "
            f"pick one from the list or type its number. {listed}"
        )


class CitationFields(forms.Form):
    source = SourceSearchField()
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
