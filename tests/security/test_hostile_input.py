"""Hostile text in every field of the editor forms, the search box and the sign-up form.

Each payload goes into every field at once and into each field alone. No
answer is a 500, no page echoes a payload unescaped, and the evidence tables
are still there with sane row counts.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.urls import reverse

from receipts import demo
from receipts.campaigns.models import Campaign, MemberRole
from receipts.evidence.models import Entity, Source, Tie
from receipts.outreach.models import FormField, SignupForm, Submission
from tests.campaigns.factories import make_member
from tests.factories import make_editor
from tests.outreach.factories import person, post_signup

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR 1=1 --",
    "'; DROP TABLE evidence_entity; --",
]
TABLES = ["evidence_entity", "evidence_source", "evidence_tie", "campaigns_campaign"]
FIELD_NAME = re.compile(r'<(?:input|textarea|select)\b[^>]*\bname="([^"]+)"')
NOT_ASKED = {"csrfmiddlewaretoken"}


def row_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - fixed names
            counts[table] = cursor.fetchone()[0]
    return counts


def field_names(client: Client, url: str) -> list[str]:
    page = client.get(url)
    assert page.status_code == 200, url
    names = sorted(set(FIELD_NAME.findall(page.content.decode())) - NOT_ASKED)
    assert names, f"no fields found on {url}"
    return names


def assert_safe(response: Any, payload: str, where: str) -> None:
    assert response.status_code < 500, f"{response.status_code} at {where}"
    if "html" in response.get("Content-Type", ""):
        assert payload not in response.content.decode(), f"unescaped {payload!r} at {where}"


def post_everywhere(client: Client, url: str) -> int:
    """Post every payload into all fields at once and into each field alone."""
    names = field_names(client, url)
    posts = 0
    for payload in PAYLOADS:
        assert_safe(client.post(url, dict.fromkeys(names, payload)), payload, url)
        posts += 1
        for name in names:
            assert_safe(client.post(url, {name: payload}), payload, f"{url} [{name}]")
            posts += 1
    return posts


@pytest.fixture
def editor_client() -> tuple[Client, Campaign]:
    demo.load_demo()
    campaign = Campaign.objects.get(slug=demo.CAMPAIGN_SLUG)
    user: User = make_editor("hostile-editor")
    make_member(campaign, user.username, MemberRole.EDITOR)
    client = Client()
    client.force_login(user)
    return client, campaign


@pytest.mark.django_db
@pytest.mark.slow
def test_hostile_text_in_editor_forms_is_escaped_and_harmless(
    editor_client: tuple[Client, Campaign],
) -> None:
    client, campaign = editor_client
    before = row_counts()
    tie = Tie.objects.filter(ftm_id__startswith=demo.PREFIX).first()
    assert tie is not None
    urls = [
        reverse("entity-new"),
        reverse("entity-edit", args=[Entity.objects.get(ftm_id=f"{demo.PREFIX}amazon").slug]),
        reverse("source-new"),
        reverse("source-edit", args=[Source.objects.first().pk]),  # type: ignore[union-attr]
        reverse("tie-new"),
        reverse("tie-edit", args=[tie.pk]),
        reverse("demand-new", args=[campaign.slug]),
        reverse("action-new", args=[campaign.slug]),
    ]
    posts = sum(post_everywhere(client, url) for url in urls)
    after = row_counts()
    for table in TABLES:
        assert before[table] <= after[table] <= before[table] + posts, table
    # Every page still renders from the same tables.
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("campaign", args=[campaign.slug])).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_search_is_escaped_and_harmless(payload: str) -> None:
    demo.load_demo()
    before = row_counts()
    client = Client()
    for url in (reverse("home"), reverse("screen")):
        assert_safe(client.get(url, {"q": payload}), payload, url)
    api = client.get("/api/entities", {"q": payload})
    assert api.status_code == 200
    assert isinstance(api.json()["items"], list)
    assert row_counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_sign_up_is_escaped_and_stored_as_text(
    payload: str,
) -> None:
    demo.load_demo()
    form = SignupForm.objects.get(slug=demo.EMPLOYEE_FORM_SLUG)
    before = row_counts()
    answers = person(1)
    for name in (FormField.NAME, FormField.EMPLOYER, FormField.ROLE, FormField.CITY):
        answers[name] = payload
    response = post_signup(Client(), form, answers, source=payload)
    assert_safe(response, payload, "sign-up")
    if response.status_code in (301, 302, 303):
        assert_safe(Client().get(response["Location"]), payload, response["Location"])
    assert Submission.objects.count() <= 1
    assert row_counts() == before
