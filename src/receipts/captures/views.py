"""Capture pages: serve a capture's files, and the editor's "New source from a link".

Readers get the screenshot, the PDF print and the text. The captured HTML
lives only inside the WACZ, which is always a download: a captured page
never runs as part of this site.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from receipts import refusals
from receipts.evidence.models import Source, SourceKind
from receipts.evidence.services import EvidenceError, archive_path, save_source
from receipts.web.editor import editor_required
from receipts.web.forms import SourceForm

from . import services
from .models import Capture

# What each role is served as; anything may be downloaded, only these show inline.
INLINE_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
)
ROLES = ("screenshot", "pdf", "text", "original", "wacz", "manifest", "timestamp")


@require_safe
def capture_file(request: HttpRequest, pk: int, role: str) -> FileResponse:
    capture = get_object_or_404(Capture, pk=pk)
    entry = capture.files.get(role) if role in ROLES else None
    if entry is None:
        raise Http404("this capture has no such file")
    try:
        path = archive_path(entry["sha256"])
    except EvidenceError as exc:
        raise Http404("no such file") from exc
    if not path.exists():
        raise Http404("the file is missing from the archive folder")
    media_type = entry["media_type"]
    extension = {
        "wacz": "wacz",
        "manifest": "json",
        "screenshot": "png",
        "pdf": "pdf",
        "text": "txt",
        "timestamp": "tsr",
    }.get(role, media_type.rsplit("/", 1)[-1])
    response = FileResponse(
        path.open("rb"),
        content_type=f"{media_type}; charset=utf-8"
        if media_type.startswith("text/")
        else media_type,
        as_attachment=media_type not in INLINE_TYPES,
        filename=f"capture-{capture.pk}-{role}.{extension}",
    )
    # The browser's own viewer for an image or PDF styles itself inline; scripts never run.
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["ETag"] = f'"{entry["sha256"]}"'
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


class LinkForm(forms.Form):
    url = forms.URLField(max_length=2000, assume_scheme="https", label="URL")
    kind = forms.ChoiceField(choices=SourceKind.choices, initial=SourceKind.NEWS_REPORT)


def _render(request: HttpRequest, form: forms.Form, heading: str, **extra: Any) -> HttpResponse:
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request, "web/form.html", {"form": form, "heading": heading, **extra}, status=status
    )


@editor_required
def source_from_link(request: HttpRequest) -> HttpResponse:
    form = LinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            capture = services.capture_source(
                form.cleaned_data["url"], kind=form.cleaned_data["kind"]
            )
        except ValidationError as exc:
            refusals.add_to_form(form, exc)
        else:
            messages.success(
                request, f"Captured {capture.final_url}: fingerprint {capture.fingerprint}."
            )
            return redirect("source-confirm", capture.source_id, capture.pk)
    return _render(
        request,
        form,
        "New source from a link",
        submit="Capture",
        intro="The page is loaded in a headless browser and kept as a WACZ web archive, a PDF "
        "print, a screenshot and its text, each under its SHA-256. What the page says of its "
        "title, publisher and date is offered on the next page for you to check.",
    )


@editor_required
def source_confirm(request: HttpRequest, pk: int, capture_pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    capture = get_object_or_404(Capture, pk=capture_pk, source=source)
    initial = {
        "kind": source.kind,
        "title": capture.found_title or source.title,
        "publisher": capture.found_publisher or source.publisher,
        "url": source.url or capture.final_url,
        "published": capture.found_published or source.published,
        "retrieved": source.retrieved or capture.captured_at.date().isoformat(),
    }
    form = SourceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_source(source=source, **form.cleaned_data)
        except ValidationError as exc:
            refusals.add_to_form(form, exc)
        else:
            messages.success(request, f"Saved source “{saved.title}”.")
            return redirect(saved)
    return _render(
        request,
        form,
        f"Check the details of “{source.title}”",
        intro="Title, publisher and date below were read from the captured page: nothing is "
        "saved until you save this form.",
    )


@editor_required
@require_POST
def capture_again(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    if not source.url:
        messages.error(request, "This source has no link to capture.")
        return redirect(source)
    try:
        capture = services.capture_source(source.url, source=source)
    except ValidationError as exc:
        messages.error(request, f"Nothing captured: {refusals.describe(exc)}")
    else:
        messages.success(
            request, f"Captured {capture.final_url}: fingerprint {capture.fingerprint}."
        )
    return redirect(source)
