"""Capture routes under /api/captures: capture a link by token, read captures openly.

A capture runs while the request waits (a page within the capture's time
limit); a refused or failed capture answers 400 naming the URL and why.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from receipts.api.auth import token_auth
from receipts.api.schemas import MAX_ROW_ID, RowId
from receipts.evidence.models import Source, SourceKind

from . import services
from .models import Capture

router = Router(tags=["captures"])


class CaptureIn(Schema):
    url: str = Field(max_length=2000, description="The link to capture (http or https).")
    source_id: RowId | None = Field(
        None, description="Keep the capture for this source; a new source when left out."
    )
    kind: SourceKind = Field(SourceKind.NEWS_REPORT, description="Kind of the new source.")  # type: ignore[valid-type]
    accept: bool = Field(
        False, description="Save the title, publisher and date read from the page into the source."
    )


class CaptureFileOut(Schema):
    sha256: str
    media_type: str
    size: int
    url: str


class FoundOut(Schema):
    title: str
    publisher: str
    published: str


class CaptureOut(Schema):
    id: int
    source_id: int
    requested_url: str
    final_url: str
    status: int
    media_type: str
    captured_at: dt.datetime
    fingerprint: str = Field(description="SHA-256 of the manifest listing every file's SHA-256.")
    files: dict[str, CaptureFileOut]
    found: FoundOut = Field(description="What the page says of itself; saved only with accept.")
    refused_requests: list[dict[str, str]]
    wayback_url: str


def capture_out(capture: Capture, request: HttpRequest) -> CaptureOut:
    files: dict[str, Any] = {
        role: {**entry, "url": request.build_absolute_uri(capture.file_url(role))}
        for role, entry in capture.files.items()
    }
    return CaptureOut(
        id=capture.pk,
        source_id=capture.source_id,
        requested_url=capture.requested_url,
        final_url=capture.final_url,
        status=capture.status,
        media_type=capture.media_type,
        captured_at=capture.captured_at,
        fingerprint=capture.fingerprint,
        files=files,
        found=FoundOut(
            title=capture.found_title,
            publisher=capture.found_publisher,
            published=capture.found_published,
        ),
        refused_requests=capture.refused,
        wayback_url=capture.wayback_url,
    )


@router.post(
    "",
    auth=token_auth,
    response={201: CaptureOut},
    summary="Capture a link for a source (a new source when none is named)",
)
def create_capture(request: HttpRequest, payload: CaptureIn) -> Status[CaptureOut]:
    source = None
    if payload.source_id is not None:
        source = Source.objects.filter(pk=payload.source_id).first()
        if source is None:
            raise HttpError(400, f"source_id: no source has the id {payload.source_id}")
    capture = services.capture_source(
        payload.url, source=source, kind=str(payload.kind), accept=payload.accept
    )
    return Status(201, capture_out(capture, request))


@router.get("/{capture_id}", response=CaptureOut, summary="One capture and its files")
def get_capture(request: HttpRequest, capture_id: int) -> CaptureOut:
    capture = Capture.objects.filter(pk=capture_id).first()
    if capture is None:
        raise HttpError(404, f"id: no capture has the id {capture_id}")
    return capture_out(capture, request)


@router.get(
    "", response=list[CaptureOut], summary="Captures, newest first (of one source if asked)"
)
def list_captures(
    request: HttpRequest,
    source_id: Annotated[
        int | None,
        Query(ge=1, le=MAX_ROW_ID, description="Only the captures of this source."),
    ] = None,
) -> list[CaptureOut]:
    captures = Capture.objects.all()
    if source_id is not None:
        captures = captures.filter(source_id=source_id)
    return [capture_out(c, request) for c in captures[:200]]
