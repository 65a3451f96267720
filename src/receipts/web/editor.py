"""Editor pages: add and change entities, sources and ties through the services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from receipts import refusals
from receipts.evidence import services
from receipts.evidence.duplicates import (
    duplicate_sources,
    duplicate_ties,
    search_sources,
    source_choice_label,
)
from receipts.evidence.models import Entity, Source, Tie

from .forms import ArchiveForm, CitationFields, EntityForm, SourceForm, TieEditForm, TieForm

View = Callable[..., HttpResponse]


def editor_required(view: View) -> View:
    """Logged-in users allowed to add ties (the editors group or superusers)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.has_perm("evidence.add_tie"):
            raise PermissionDenied("Editors only")
        return view(request, *args, **kwargs)

    return wrapper


# Ticked by an editor who has seen the possible duplicates and saves anyway.
SAVE_ANYWAY = "save_anyway"


@dataclass(frozen=True)
class Duplicate:
    """An existing record like the one being entered, with what the editor can do with it."""

    label: str
    url: str
    action: str = ""
    action_url: str = ""


def _save_anyway(request: HttpRequest) -> bool:
    return request.POST.get(SAVE_ANYWAY) == "1"


def _form_error(form: Any, exc: ValidationError) -> None:
    """Put a service's refusal on the field it names, else above the form."""
    refusals.add_to_form(form, exc)


def _render(request: HttpRequest, form: Any, heading: str, **extra: Any) -> HttpResponse:
    status = 400 if form.is_bound and form.errors else 409 if extra.get("duplicates") else 200
    return render(
        request, "web/form.html", {"form": form, "heading": heading, **extra}, status=status
    )


@editor_required
def entity_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    entity = get_object_or_404(Entity, slug=slug) if slug else None
    initial: dict[str, Any] = {}
    if entity is not None:
        idents: dict[str, list[str]] = {}
        for i in entity.identifiers.all():
            idents.setdefault(i.scheme, []).append(i.value)
        initial = {
            "name": entity.name,
            "kind": entity.kind,
            "aliases": "\n".join(entity.aliases),
            "identifiers": "\n".join(f"{s}:{v}" for s, vs in idents.items() for v in vs),
            "country": entity.country,
            "summary": entity.summary,
        }
    form = EntityForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        # Schemes the editor removed from the list are cleared too.
        idents = (
            {s: [] for s in entity.identifiers.values_list("scheme", flat=True)} if entity else {}
        )
        idents.update(d["identifiers"])
        try:
            saved = services.save_entity(
                name=d["name"],
                kind=d["kind"],
                aliases=d["aliases"],
                identifiers=idents,
                country=d["country"],
                summary=d["summary"],
                entity=entity,
            )
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Saved {saved.name}.")
            return redirect(saved)
    return _render(request, form, f"Edit {entity.name}" if entity else "New entity")


@editor_required
def source_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk) if pk else None
    initial = (
        {
            f: getattr(source, f)
            for f in ("kind", "title", "publisher", "url", "published", "retrieved")
        }
        if source
        else {}
    )
    form = SourceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        same = duplicate_sources(
            d["title"], d["url"], exclude_pk=source.pk if source is not None else None
        )
        if same and not _save_anyway(request):
            return _render(
                request,
                form,
                f"Edit source: {source.title}" if source else "New source",
                duplicates=[
                    Duplicate(f"{s.title}" + (f" ({s.url})" if s.url else ""), s.get_absolute_url())
                    for s in same
                ],
                duplicates_intro="A source with this title or address exists already. "
                "Cite it rather than adding it twice, or save anyway if this is another one.",
            )
        try:
            saved = services.save_source(source=source, **d)
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Saved source “{saved.title}”.")
            return redirect(saved)
    return _render(request, form, f"Edit source: {source.title}" if source else "New source")


@editor_required
def source_archive_upload(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    form = ArchiveForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            services.attach_archive(source, upload, upload.name)
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Archived {upload.name}: SHA-256 {source.archive_sha256}.")
            return redirect(source)
    return _render(
        request,
        form,
        f"Archived copy of “{source.title}”",
        multipart=True,
        submit="Upload",
        intro="The file is stored under its SHA-256 fingerprint and served from this site, "
        "so the receipt survives the original link dying.",
    )


@editor_required
def tie_new(request: HttpRequest) -> HttpResponse:
    initial = {"subject": request.GET.get("subject", "")}
    form = TieForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        same = duplicate_ties(d["subject"], d["object"], d["kind"], d["start_date"], d["end_date"])
        if same and not _save_anyway(request):
            return _render(
                request,
                form,
                "New tie",
                intro=NEW_TIE_INTRO,
                duplicates=[
                    Duplicate(str(t), t.get_absolute_url(), "add this source to it", _cite_url(t))
                    for t in same
                ],
                duplicates_intro="A tie with the same subject, object, kind and dates exists "
                "already. Add your source to it rather than recording it twice, or save anyway "
                "if this is another one (a second contract, say).",
            )
        try:
            tie = services.record_tie(
                d["subject"],
                d["object"],
                d["kind"],
                citations=[services.CitationInput(d["source"], d["quote"], d["locator"])],
                status=d["status"],
                start_date=d["start_date"],
                end_date=d["end_date"],
                amount=d["amount"],
                currency=d["currency"],
                summary=d["summary"],
                created_by=request.user,
            )
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Recorded {tie}.")
            return redirect(tie)
    return _render(request, form, "New tie", intro=NEW_TIE_INTRO, live_check=True)


NEW_TIE_INTRO = "Every tie needs a source: search for the one that reports it."


def _cite_url(tie: Tie) -> str:
    from django.urls import reverse

    return reverse("tie-cite", args=[tie.pk])


@editor_required
def tie_edit(request: HttpRequest, pk: int) -> HttpResponse:
    tie = get_object_or_404(Tie.objects.select_related("subject", "object"), pk=pk)
    initial = {
        "subject": tie.subject.slug,
        "object": tie.object.slug,
        "kind": tie.kind,
        "status": tie.status,
        "start_date": tie.start_date,
        "end_date": tie.end_date,
        "amount": tie.amount,
        "currency": tie.currency,
        "summary": tie.summary,
    }
    form = TieEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        same = duplicate_ties(
            d["subject"], d["object"], d["kind"], d["start_date"], d["end_date"], exclude_pk=tie.pk
        )
        if same and not _save_anyway(request):
            return _render(
                request,
                form,
                f"Edit tie: {tie}",
                duplicates=[Duplicate(str(t), t.get_absolute_url()) for t in same],
                duplicates_intro="Another tie with the same subject, object, kind and dates "
                "exists already. Save anyway if they are different ties.",
            )
        citation = (
            services.CitationInput(d["source"], d["quote"], d["locator"]) if d["source"] else None
        )
        try:
            services.update_tie(
                tie,
                citation=citation,
                created_by=request.user,
                subject=d["subject"],
                object=d["object"],
                kind=d["kind"],
                status=d["status"],
                start_date=d["start_date"],
                end_date=d["end_date"],
                amount=d["amount"],
                currency=d["currency"],
                summary=d["summary"],
            )
        except ValidationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Saved {tie}.")
            return redirect(tie)
    return _render(request, form, f"Edit tie: {tie}")


@editor_required
def tie_cite(request: HttpRequest, pk: int) -> HttpResponse:
    tie = get_object_or_404(Tie.objects.select_related("subject", "object"), pk=pk)
    form = CitationFields(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        services.cite_tie(
            tie, services.CitationInput(d["source"], d["quote"], d["locator"]), request.user
        )
        messages.success(request, "Citation added.")
        return redirect(tie)
    return _render(request, form, f"Add a citation to {tie}")


@editor_required
def source_search(request: HttpRequest) -> HttpResponse:
    """Sources matching the words typed: suggestions for the source field (htmx), or a
    plain page of results without script."""
    text = (request.GET.get("source") or request.GET.get("q") or "").strip()[:200]
    found = [(s, source_choice_label(s)) for s in search_sources(text)] if text else []
    htmx = getattr(request, "htmx", False)
    template = "web/_source_options.html" if htmx else "web/source_search.html"
    return render(request, template, {"found": found, "q": text})


@editor_required
def tie_check(request: HttpRequest) -> HttpResponse:
    """Ties like the one being typed into the new-tie form, shown as the editor fills it in."""
    from receipts.evidence.queries import NameAmbiguous, NameNotFound, resolve_entity

    form = TieForm(request.GET)
    ends = {}
    for name in ("subject", "object"):
        text = request.GET.get(name, "").strip()[:300]
        try:
            ends[name] = resolve_entity(text) if text else None
        except (NameNotFound, NameAmbiguous):
            ends[name] = None
    kind = request.GET.get("kind", "")
    dates = {}
    for name in ("start_date", "end_date"):
        try:
            dates[name] = form.fields[name].clean(request.GET.get(name, ""))
        except ValidationError:
            dates[name] = None
    same: list[Tie] = []
    if ends["subject"] and ends["object"] and kind and None not in dates.values():
        same = duplicate_ties(
            ends["subject"], ends["object"], kind, dates["start_date"], dates["end_date"]
        )
    return render(
        request,
        "web/_duplicates_live.html",
        {
            "duplicates": [
                Duplicate(str(t), t.get_absolute_url(), "add your source to it", _cite_url(t))
                for t in same
            ]
        },
    )
