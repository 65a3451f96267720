"""Editor forms for campaigns. They only parse input; saving goes through ``services``.

A form that records a claim carries citation fields: an existing source, or
the title and address of a new one, which the view saves in the same
transaction as the claim, so a refused claim leaves no stray source behind.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from receipts.evidence import services as evidence_services
from receipts.evidence.models import STRUCTURAL_KINDS, Entity, Source, SourceKind, Tie
from receipts.evidence.queries import NameAmbiguous, NameNotFound, resolve_entity
from receipts.evidence.services import CitationInput
from receipts.web.forms import EntityChoiceField, PartialDateField

from .models import (
    MAX_DURATION_DAYS,
    ActionKind,
    CampaignStatus,
    CoalitionRole,
    DemandStatus,
    GoalBasis,
    GoalProgress,
    MemberRole,
    Visibility,
)

NO_CITATION = "A citation is needed: pick the source that reports it, or give a new source's title."


def _entities(text: str) -> list[Entity]:
    """Entities named one per line (slug, name, alias or identifier)."""
    out: list[Entity] = []
    for n, line in enumerate(text.splitlines(), start=1):
        name = line.strip()
        if not name:
            continue
        try:
            entity = resolve_entity(name)
        except (NameNotFound, NameAmbiguous) as exc:
            raise ValidationError(f"line {n}: {exc}") from exc
        if entity not in out:
            out.append(entity)
    return out


class CitationFields(forms.Form):
    """The receipt for a claim: an existing source or a new one, with quote and locator."""

    source = forms.ModelChoiceField(
        # Dataset rows are cited by imports, not by hand; listing them would
        # make the menu as long as a contract download.
        queryset=Source.objects.exclude(kind=SourceKind.DATASET_ROW).order_by("title"),
        required=False,
        label="Source",
        help_text="The source that reports it, or leave it empty and describe a new source.",
    )
    new_source_title = forms.CharField(
        max_length=500,
        required=False,
        label="New source: title",
        help_text="Sources are public: anyone can see a source's title and address.",
    )
    new_source_kind = forms.ChoiceField(
        choices=SourceKind.choices, initial=SourceKind.ORGANISER_REPORT, label="New source: kind"
    )
    new_source_publisher = forms.CharField(
        max_length=300, required=False, label="New source: publisher"
    )
    new_source_url = forms.URLField(
        max_length=2000, required=False, assume_scheme="https", label="New source: URL"
    )
    new_source_published = PartialDateField(label="New source: published")
    quote = forms.CharField(
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The words in the source that back the claim.",
    )
    locator = forms.CharField(
        max_length=500, required=False, help_text="Where in the source: page, paragraph, record."
    )

    # A form that edits something already cited may leave the citation out.
    citation_required = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.citation_required and not data.get("source") and not data.get("new_source_title"):
            self.add_error("source", NO_CITATION)
        return data

    def citation(self, created_by: Any = None) -> CitationInput | None:
        """The citation the form describes, saving a new source if one is described.

        Call inside the transaction that saves the claim.
        """
        d = self.cleaned_data
        source = d.get("source")
        if source is None and d.get("new_source_title"):
            source = evidence_services.save_source(
                kind=d["new_source_kind"],
                title=d["new_source_title"],
                publisher=d.get("new_source_publisher", ""),
                url=d.get("new_source_url", ""),
                published=d.get("new_source_published", ""),
            )
        if source is None:
            return None
        return CitationInput(source, d.get("quote", ""), d.get("locator", ""))


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(
        max_length=120,
        required=False,
        help_text="Used in the address; made from the name if empty.",
    )
    summary = forms.CharField(
        required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 3})
    )
    targets = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One entity per line: name, alias, slug or identifier. Subsidiaries and "
        "components roll up.",
    )
    status = forms.ChoiceField(choices=CampaignStatus.choices)
    visibility = forms.ChoiceField(
        choices=Visibility.choices, help_text="A private campaign is visible only to its members."
    )
    start_date = PartialDateField(label="Start date", help_text="No action may be dated before it.")

    def clean_targets(self) -> list[Entity]:
        return _entities(self.cleaned_data["targets"])


class DemandForm(forms.Form):
    text = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}), label="Demand")
    ties = forms.ModelMultipleChoiceField(
        queryset=Tie.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Ties of the targets",
        help_text="The ties the demand asks to end.",
    )
    other_ties = forms.CharField(
        required=False,
        max_length=2000,
        label="Other tie ids",
        help_text="Ids of further ties, separated by commas. A tie of an entity outside the "
        "targets' families is accepted and flagged.",
    )

    def __init__(self, *args: Any, tie_choices: list[Tie] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = [t.pk for t in tie_choices or []]
        field = self.fields["ties"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = Tie.objects.filter(pk__in=ids).select_related("subject", "object")

    def clean_other_ties(self) -> list[Tie]:
        text = self.cleaned_data["other_ties"]
        ids: list[int] = []
        for part in re.split(r"[\s,]+", text.strip()):
            if not part:
                continue
            if not part.isdigit():
                raise ValidationError(f"{part!r} is not a tie id")
            ids.append(int(part))
        found = Tie.objects.in_bulk(ids)
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise ValidationError(f"no tie has the id {', '.join(missing)}")
        return [found[i] for i in ids]

    def linked_ties(self) -> list[Tie]:
        out: list[Tie] = list(self.cleaned_data["ties"])
        for tie in self.cleaned_data["other_ties"]:
            if tie not in out:
                out.append(tie)
        return out


class DemandStatusForm(CitationFields):
    status = forms.ChoiceField(choices=DemandStatus.choices, label="New status")
    date = PartialDateField(
        label="Date", required=True, help_text="When it happened, as the source reports it."
    )
    note = forms.CharField(
        required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 2})
    )

    field_order = ["status", "date", "note", "source"]


class ConfirmMetForm(forms.Form):
    date = PartialDateField(
        label="Date met", help_text="By default the latest end date of the ties."
    )


class ActionForm(CitationFields):
    kind = forms.ChoiceField(choices=ActionKind.choices)
    title = forms.CharField(max_length=200, help_text="A short name for the timeline.")
    date = PartialDateField(
        label="Date",
        required=True,
        help_text="YYYY, YYYY-MM or YYYY-MM-DD; not before the campaign's start.",
    )
    place = forms.CharField(max_length=300, required=False)
    attendance_min = forms.IntegerField(required=False, label="Attendance from")
    attendance_max = forms.IntegerField(required=False, label="Attendance to")
    speakers = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="In their public role only (an official, a spokesperson); no private persons.",
    )
    participants = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Participating organisations",
        help_text="One per line: name, alias or slug.",
    )
    summary = forms.CharField(
        required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 3})
    )

    field_order = [
        "kind",
        "title",
        "date",
        "place",
        "attendance_min",
        "attendance_max",
        "speakers",
        "participants",
        "summary",
        "source",
    ]

    def clean_participants(self) -> list[Entity]:
        return _entities(self.cleaned_data["participants"])


class CoalitionForm(forms.Form):
    organisation = EntityChoiceField(help_text="An organisation: name, alias or slug.")
    role = forms.ChoiceField(choices=CoalitionRole.choices, initial=CoalitionRole.MEMBER)


class GoalForm(CitationFields):
    metric = forms.CharField(max_length=200, help_text="What is counted, e.g. new monthly donors.")
    target = forms.IntegerField(help_text="The count aimed for.")
    deadline = PartialDateField(label="Deadline")
    duration_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_DURATION_DAYS,
        label="Duration in days",
        help_text="How many days the goal runs, when its length is known but not its dates.",
    )
    progress_source = forms.ChoiceField(
        choices=GoalProgress.choices,
        initial=GoalProgress.COUNTER,
        required=False,
        label="Progress from",
        help_text="A counter moves with cited updates; sign-ups move when organisers accept them.",
    )
    basis = forms.ChoiceField(
        choices=GoalBasis.choices,
        initial=GoalBasis.OWN,
        required=False,
        label="Whose figure",
        help_text="A target taken from a source needs that source below; an example that no "
        "source gives is marked as one wherever the goal is shown.",
    )
    basis_note = forms.CharField(
        max_length=500,
        required=False,
        label="Note on the figure",
        help_text="Shown beside the goal, e.g. why an example was set.",
    )

    new_source_kind = forms.ChoiceField(
        choices=SourceKind.choices,
        initial=SourceKind.ORGANISER_REPORT,
        required=False,
        label="New source: kind",
    )

    # The service asks for a citation only when the goal is from a source and has none yet.
    citation_required = False

    field_order = [
        "metric",
        "target",
        "deadline",
        "duration_days",
        "progress_source",
        "basis",
        "basis_note",
        "source",
    ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("new_source_title") and not data.get("new_source_kind"):
            self.add_error("new_source_kind", "Pick the kind of the new source.")
        return data


class GoalProgressForm(CitationFields):
    value = forms.IntegerField(label="New count")
    note = forms.CharField(
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the count is based on.",
    )

    field_order = ["value", "note", "source"]


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=MemberRole.choices)


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254, help_text="The link goes to this address.")
    role = forms.ChoiceField(choices=MemberRole.choices, initial=MemberRole.EDITOR)


def ties_near(entity_ids: set[int], linked: list[Tie]) -> list[Tie]:
    """Ties touching the given entities, plus the ones already linked: the demand form's menu."""
    qs = Tie.objects.filter(Q(subject_id__in=entity_ids) | Q(object_id__in=entity_ids)).exclude(
        kind__in=STRUCTURAL_KINDS
    )
    found = list(qs.select_related("subject", "object").order_by("kind", "id")[:500])
    for tie in linked:
        if tie not in found:
            found.append(tie)
    return found
