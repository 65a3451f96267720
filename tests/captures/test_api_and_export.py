"""Captures through the API, and captures in the FollowTheMoney export."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client

from receipts.api.tokens import issue_token
from receipts.captures.models import Capture
from receipts.captures.services import capture_source
from receipts.evidence.models import Source
from receipts.interchange.followthemoney.evidence import export_ftm
from tests.api.conftest import post_json
from tests.factories import make_editor, make_source

from .site import Site

pytestmark = pytest.mark.django_db


@pytest.fixture
def writer_token(db: None) -> str:
    make_editor("writer")
    return issue_token("writer", "tests")


def test_a_token_holder_captures_a_link_into_a_new_source(
    site: Site, local_captures: Any, writer_token: str
) -> None:
    client = Client()
    response = post_json(client, "/api/captures", {"url": site.url("/article")}, writer_token)
    assert response.status_code == 201, response.content
    body = response.json()
    capture = Capture.objects.get()
    assert body["fingerprint"] == capture.fingerprint
    assert body["found"]["title"] == "Agency signs cloud deal"
    assert Source.objects.get().title == site.url("/article"), "nothing read is saved unasked"
    screenshot = client.get(body["files"]["screenshot"]["url"])
    assert screenshot.status_code == 200
    listed = client.get(f"/api/captures?source_id={body['source_id']}").json()
    assert [c["id"] for c in listed] == [capture.pk]


def test_accept_through_the_api_saves_what_the_page_says(
    site: Site, local_captures: Any, writer_token: str
) -> None:
    source = make_source("Placeholder")
    response = post_json(
        Client(),
        "/api/captures",
        {"url": site.url("/article"), "source_id": source.pk, "accept": True},
        writer_token,
    )
    assert response.status_code == 201, response.content
    source.refresh_from_db()
    assert (source.title, source.published) == ("Agency signs cloud deal", "2025-03-14")


def test_a_capture_needs_a_token(site: Site, local_captures: Any) -> None:
    response = post_json(Client(), "/api/captures", {"url": site.url("/article")})
    assert response.status_code == 401
    assert site.state.requests == []


def test_a_refused_address_answers_400_naming_the_url(
    site: Site, settings: Any, writer_token: str
) -> None:
    settings.ALLOW_PRIVATE_ADDRESSES = False
    response = post_json(Client(), "/api/captures", {"url": site.url("/article")}, writer_token)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("url: ")
    assert "loopback address" in response.json()["detail"]
    assert site.state.requests == []
    assert Source.objects.count() == 0


def test_ftm_export_carries_each_capture_as_a_document_with_its_content_hash(
    site: Site, local_captures: Any
) -> None:
    source = make_source("Cloud deal")
    capture = capture_source(site.url("/article"), source=source)
    out = io.StringIO()
    export_ftm(out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    documents = [e for e in lines if e["id"] == f"receipts-capture-{capture.fingerprint}"]
    assert len(documents) == 1
    document = documents[0]
    assert document["schema"] == "Document"
    assert document["properties"]["contentHash"] == [capture.files["wacz"]["sha256"]]
    assert document["properties"]["sourceUrl"] == [site.url("/article")]


def test_an_ftm_export_with_captures_imports_again(site: Site, local_captures: Any) -> None:
    from receipts.interchange.followthemoney.evidence import import_ftm

    source = make_source("Cloud deal")
    capture_source(site.url("/article"), source=source)
    out = io.StringIO()
    export_ftm(out)
    summary = import_ftm(io.StringIO(out.getvalue()), "export.ftm.json")
    assert Source.objects.count() == 1
    assert summary is not None
