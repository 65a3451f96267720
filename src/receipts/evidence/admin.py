"""Django admin for superusers. Every save goes through the evidence services,
so the admin cannot store an uncited tie or a cycle either."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from receipts import refusals

from . import services
from .models import Citation, Entity, Identifier, Source, Tie


class IdentifierInline(admin.TabularInline):
    model = Identifier
    extra = 1


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "slug", "country"]
    list_filter = ["kind"]
    search_fields = ["name", "search_text", "identifiers__value"]
    fields = ["name", "kind", "slug", "aliases", "country", "summary"]
    inlines = [IdentifierInline]

    def save_model(self, request: HttpRequest, obj: Entity, form: Any, change: bool) -> None:
        saved = services.save_entity(
            entity=obj if change else None,
            name=obj.name,
            kind=obj.kind,
            aliases=obj.aliases or [],
            country=obj.country,
            summary=obj.summary,
            slug=obj.slug or None,
        )
        obj.pk, obj.slug, obj._state.adding = saved.pk, saved.slug, False

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Identifier:
            return super().save_formset(request, form, formset, change)
        entity = form.instance
        wanted: dict[str, list[str]] = {}
        for f in formset.forms:
            data = getattr(f, "cleaned_data", None)
            if not data or data.get("DELETE") or not data.get("value"):
                continue
            wanted.setdefault(data["scheme"], []).append(data["value"])
        schemes = set(entity.identifiers.values_list("scheme", flat=True)) | set(wanted)
        services.set_identifiers(entity, {s: wanted.get(s, []) for s in schemes})
        return None

    def delete_model(self, request: HttpRequest, obj: Entity) -> None:
        services.delete_entity(obj)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "publisher", "published", "archive_sha256"]
    list_filter = ["kind"]
    search_fields = ["title", "publisher", "url"]
    fields = ["kind", "title", "publisher", "url", "published", "retrieved"]
    readonly_fields = ["archive_sha256"]

    def save_model(self, request: HttpRequest, obj: Source, form: Any, change: bool) -> None:
        saved = services.save_source(
            source=obj if change else None,
            kind=obj.kind,
            title=obj.title,
            publisher=obj.publisher,
            url=obj.url,
            published=obj.published,
            retrieved=obj.retrieved,
        )
        obj.pk, obj._state.adding = saved.pk, False

    def delete_model(self, request: HttpRequest, obj: Source) -> None:
        services.delete_source(obj)


class CitationFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if self.instance.pk is None:
            return
        kept = [
            f
            for f in self.forms
            if getattr(f, "cleaned_data", None)
            and not f.cleaned_data.get("DELETE")
            and (f.instance.pk or f.cleaned_data.get("source"))
        ]
        if not kept:
            raise ValidationError(
                "A tie needs at least one citation; add another before removing this one."
            )


class CitationInline(admin.TabularInline):
    model = Citation
    fk_name = "tie"
    formset = CitationFormSet
    fields = ["source", "quote", "locator"]
    extra = 0


class TieAdminForm(forms.ModelForm):
    """The first citation is part of the tie form: a tie is never saved without one."""

    cite_source = forms.ModelChoiceField(
        queryset=Source.objects.order_by("title"),
        required=False,
        label="Citation: source",
        help_text="Required for a new tie, and when the status or end date changes.",
    )
    cite_quote = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Citation: quote"
    )
    cite_locator = forms.CharField(required=False, label="Citation: locator")

    class Meta:
        model = Tie
        fields = [
            "subject",
            "kind",
            "object",
            "status",
            "start_date",
            "end_date",
            "amount",
            "currency",
            "summary",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        existing = Tie.objects.get(pk=self.instance.pk) if self.instance.pk else None
        try:
            services.validate_tie(
                data["subject"],
                data["object"],
                data["kind"],
                status=data["status"],
                start_date=data.get("start_date"),
                end_date=data.get("end_date"),
                amount=data.get("amount"),
                currency=data.get("currency", ""),
                tie=existing,
                has_citation=data.get("cite_source") is not None,
            )
        except ValidationError as exc:
            refusals.add_to_form(self, exc, {"citation": "cite_source"})
        return data


@admin.register(Tie)
class TieAdmin(admin.ModelAdmin):
    form = TieAdminForm
    list_display = ["__str__", "kind", "status", "start_date", "end_date"]
    list_filter = ["kind", "status"]
    search_fields = ["subject__name", "object__name", "summary"]
    autocomplete_fields = ["subject", "object"]
    inlines = [CitationInline]

    def save_model(self, request: HttpRequest, obj: Tie, form: Any, change: bool) -> None:
        d = form.cleaned_data
        citation = (
            services.CitationInput(
                d["cite_source"], d.get("cite_quote", ""), d.get("cite_locator", "")
            )
            if d.get("cite_source") is not None
            else None
        )
        fields = {
            k: d.get(k)
            for k in ("status", "start_date", "end_date", "amount", "currency", "summary")
        }
        if change:
            services.update_tie(
                Tie.objects.get(pk=obj.pk),
                citation=citation,
                created_by=request.user,
                subject=d["subject"],
                object=d["object"],
                kind=d["kind"],
                **fields,
            )
        else:
            saved = services.record_tie(
                d["subject"],
                d["object"],
                d["kind"],
                citations=[citation] if citation else [],
                created_by=request.user,
                **fields,
            )
            obj.pk, obj._state.adding = saved.pk, False

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        tie = form.instance
        # The admin's change message reads these lists after saving.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for f in formset.forms:
            data = getattr(f, "cleaned_data", None)
            if not data:
                continue
            if data.get("DELETE") and f.instance.pk:
                services.remove_citation(f.instance)
                formset.deleted_objects.append(f.instance)
            elif not f.instance.pk and data.get("source"):
                formset.new_objects.append(
                    services.cite_tie(
                        tie,
                        services.CitationInput(
                            data["source"], data.get("quote", ""), data.get("locator", "")
                        ),
                        request.user,
                    )
                )
            elif f.instance.pk and f.has_changed():
                f.save()
                formset.changed_objects.append((f.instance, f.changed_data))

    def delete_model(self, request: HttpRequest, obj: Tie) -> None:
        services.delete_tie(obj)


@admin.register(Citation)
class CitationAdmin(admin.ModelAdmin):
    """Citations are added with their tie; here they can be read and searched."""

    list_display = ["__str__", "tie", "entity", "created_at"]
    search_fields = ["quote", "locator", "source__title"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
