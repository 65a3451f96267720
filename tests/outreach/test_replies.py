"""Supporters hear back: a confirmation email with a withdraw link that erases the sign-up, an
optional confirm-first step, and the OSDI export of accepted supporters, audited."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from receipts.campaigns.models import MemberRole
from receipts.outreach import replies, services
from receipts.outreach.models import (
    AuditAction,
    AuditEvent,
    FormField,
    Submission,
    SubmissionLink,
    SubmissionStatus,
    Supporter,
)
from tests.campaigns.factories import make_campaign, make_member
from tests.factories import login_verified
from tests.outreach.factories import make_form, person, post_signup, sign_up

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def outbox(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _link(purpose: str) -> str:
    body = mail.outbox[-1].body
    found = re.search(rf"http://testserver(/signed/{purpose}/[^/\s]+/)", body)
    assert found is not None, body
    return found.group(1)


def test_a_sign_up_gets_an_email_whose_link_withdraws_and_erases_it() -> None:
    campaign = make_campaign("Dump ICE")
    form = make_form(campaign)
    answers = person(1)
    assert post_signup(Client(), form, answers).status_code == 303
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [answers[FormField.EMAIL]]
    assert "Dump ICE" in message.subject
    assert "/signed/confirm/" not in message.body  # the form does not ask to confirm
    link = _link("withdraw")
    token = link.rstrip("/").rsplit("/", 1)[1]
    # Only the digest is kept.
    assert SubmissionLink.objects.get().token_digest == replies.digest_of(token)
    assert Submission.objects.get().status == SubmissionStatus.PENDING

    visitor = Client()
    page = visitor.get(link)
    assert page.status_code == 200
    assert "Withdraw and erase" in page.content.decode()
    assert Supporter.objects.count() == 1  # opening the link erases nothing
    done = visitor.post(link)
    assert done.status_code == 200
    assert "erased" in done.content.decode()
    assert not Supporter.objects.exists()
    assert not Submission.objects.exists()
    assert not SubmissionLink.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.WITHDRAW)
    assert (event.supporter_count, event.user_id) == (1, None)
    # Used once: the link is gone with the sign-up.
    assert Client().post(link).status_code == 410


def test_no_email_no_message() -> None:
    campaign = make_campaign()
    form = make_form(
        campaign, fields=[FormField.NAME, FormField.PHONE], required_fields=[FormField.PHONE]
    )
    assert post_signup(Client(), form, person(2)).status_code == 303
    assert mail.outbox == []
    assert Submission.objects.count() == 1


def test_a_confirm_first_form_keeps_the_sign_up_out_of_review_until_confirmed() -> None:
    campaign = make_campaign()
    form = make_form(campaign, confirm_first=True)
    client = Client()
    response = post_signup(client, form, person(3))
    thanks = client.get(response["Location"]).content.decode()
    assert "confirm your address" in thanks
    submission = Submission.objects.get()
    assert submission.status == SubmissionStatus.UNCONFIRMED
    assert "Confirm your sign-up" in mail.outbox[0].subject
    link = _link("confirm")
    assert Client().get(link).status_code == 200
    assert Submission.objects.get().status == SubmissionStatus.UNCONFIRMED
    assert Client().post(link).status_code == 200
    assert Submission.objects.get().status == SubmissionStatus.PENDING
    assert Client().post(link).status_code == 410  # once only


def test_an_expired_confirm_link_does_nothing() -> None:
    campaign = make_campaign()
    form = make_form(campaign, confirm_first=True)
    post_signup(Client(), form, person(4))
    link = _link("confirm")
    SubmissionLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().post(link).status_code == 410
    assert Submission.objects.get().status == SubmissionStatus.UNCONFIRMED


def test_confirm_first_needs_a_required_email() -> None:
    campaign = make_campaign()
    with pytest.raises(services.OutreachError, match="required email"):
        make_form(
            campaign,
            confirm_first=True,
            fields=[FormField.NAME, FormField.EMAIL],
            required_fields=[FormField.NAME],
        )


def test_a_forged_withdraw_link_erases_nothing() -> None:
    campaign = make_campaign()
    sign_up(make_form(campaign), person(5))
    response = Client().post(reverse("outreach-withdraw", args=["not-a-real-token"]))
    assert response.status_code == 410
    assert Supporter.objects.count() == 1


def test_a_failed_send_keeps_the_sign_up(settings: Any) -> None:
    settings.EMAIL_BACKEND = "tests.accounts.test_password_reset.RefusingBackend"
    campaign = make_campaign()
    form = make_form(campaign)
    assert post_signup(Client(), form, person(6)).status_code == 303
    assert Submission.objects.count() == 1


def _organiser(campaign: Any) -> Client:
    client = Client()
    login_verified(client, make_member(campaign, "org", MemberRole.ORGANISER))
    return client


def test_osdi_export_lists_accepted_people_and_is_audited() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    accepted = sign_up(form, person(7, name="Ada Quillon Lovelace"), source_code="rally")
    sign_up(form, person(8))  # stays pending: not exported
    services.decide_submissions(campaign, [accepted.pk], SubmissionStatus.ACCEPTED, decided_by=None)
    client = _organiser(campaign)

    response = client.get(reverse("outreach-export-osdi", args=[campaign.slug, "json"]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    document = json.loads(response.content)
    assert document["total_records"] == 1
    (record,) = document["_embedded"]["osdi:people"]
    assert record["given_name"] == "Ada"
    assert record["family_name"] == "Quillon Lovelace"
    assert record["email_addresses"] == [
        {"address": "quillon.7@example.org", "primary": True, "status": "subscribed"}
    ]
    assert record["phone_numbers"][0]["number"]
    assert record["postal_addresses"] == [{"locality": "Tukwilaville 7", "primary": True}]
    assert record["employer"] == "Zyxwv Logistics 7"
    assert record["source"] == "rally"
    assert record["identifiers"] == [f"receipts:{accepted.supporter.uid}"]
    assert record["custom_fields"]["full_name"] == "Ada Quillon Lovelace"

    response = client.get(reverse("outreach-export-osdi", args=[campaign.slug, "csv"]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["email_address"] for r in rows] == ["quillon.7@example.org"]
    assert rows[0]["given_name"] == "Ada"

    events = list(AuditEvent.objects.filter(action=AuditAction.EXPORT_OSDI))
    assert [e.supporter_count for e in events] == [1, 1]
    assert (
        client.get(reverse("outreach-export-osdi", args=[campaign.slug, "xml"])).status_code == 404
    )


def test_osdi_csv_cells_cannot_run_as_formulas() -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    hostile = sign_up(form, person(9, name='=HYPERLINK("http://evil.example")'))
    services.decide_submissions(campaign, [hostile.pk], SubmissionStatus.ACCEPTED, decided_by=None)
    body = (
        _organiser(campaign)
        .get(reverse("outreach-export-osdi", args=[campaign.slug, "csv"]))
        .content.decode()
    )
    assert "'=HYPERLINK" in body


def test_only_organisers_export_osdi() -> None:
    campaign = make_campaign()
    client = Client()
    login_verified(client, make_member(campaign, "ed", MemberRole.EDITOR))
    response = client.get(reverse("outreach-export-osdi", args=[campaign.slug, "json"]))
    assert response.status_code == 403
    assert not AuditEvent.objects.exists()
