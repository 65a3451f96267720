"""The subscriptions page for editors, and "USAspending records as of" on entity pages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from receipts.contracts.models import ContractAward
from receipts.evidence.models import Entity, Identifier, IdentifierScheme
from receipts.fetch.models import Subscription
from receipts.fetch.subscriptions import run_due
from tests.factories import make_editor, make_entity
from tests.fetch.server import FakeUsaspending

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client: Client) -> Client:
    client.force_login(make_editor())
    return client


def test_only_editors_see_the_page(client: Client, django_user_model) -> None:
    assert client.get("/fetch/subscriptions/").status_code == 302  # to the login page
    client.force_login(django_user_model.objects.create_user("reader", password="x" * 20))
    assert client.get("/fetch/subscriptions/").status_code == 403


def test_an_editor_subscribes_and_sees_the_last_error(editor: Client) -> None:
    refused = editor.post(
        "/fetch/subscriptions/",
        {"agency": "Ministry of Magic", "every": "day", "since": "2025-01-01"},
    )
    assert refused.status_code == 400
    assert "is not known by name, abbreviation or code" in refused.content.decode()
    assert not Subscription.objects.exists()

    made = editor.post(
        "/fetch/subscriptions/", {"agency": "CBP", "every": "week", "since": "2025-01-01"}
    )
    assert made.status_code == 302
    subscription = Subscription.objects.get()
    assert (subscription.agency_code, subscription.every) == ("7014", "week")
    assert subscription.since == dt.date(2025, 1, 1)

    Subscription.objects.update(last_error="USAspending could not make x.zip: busy", failures=2)
    page = editor.get("/fetch/subscriptions/").content.decode()
    assert "U.S. Customs and Border Protection (7014)" in page
    assert "USAspending could not make x.zip: busy" in page and "2 failed runs" in page
    assert "never" in page

    editor.post(f"/fetch/subscriptions/{subscription.pk}/remove/")
    assert not Subscription.objects.exists()


def test_entity_pages_say_how_fresh_their_contract_data_is(
    client: Client, usaspending: FakeUsaspending, generated_zip: Path
) -> None:
    Subscription.objects.create(
        agency_code="7012",
        agency_name="U.S. Immigration and Customs Enforcement",
        toptier_name="Department of Homeland Security",
        since=dt.date(2025, 1, 1),
        next_run_at=timezone.now(),
    )
    usaspending.add(generated_zip)
    run_due()
    award = ContractAward.objects.filter(awarding_sub_agency_code="7012").first()
    if award is None:  # the generator's agencies: any subscribed code will do
        award = ContractAward.objects.first()
        Subscription.objects.update(agency_code=award.awarding_sub_agency_code)
    as_of = Subscription.objects.get().last_success_at
    assert as_of is not None
    said = f'USAspending records as of <time datetime="{as_of.isoformat()}">'
    recipient_page = client.get(award.recipient.get_absolute_url()).content.decode()
    assert said.split(" <time")[0] in recipient_page
    assert f"{as_of:%Y-%m-%d %H:%M} UTC</time> (fetched every day)" in recipient_page
    agency = Entity.objects.get(
        pk=Identifier.objects.get(
            scheme=IdentifierScheme.AGENCY_CODE, value=award.awarding_sub_agency_code
        ).entity_id
    )
    assert "(fetched every day)" in client.get(agency.get_absolute_url()).content.decode()
    unrelated = make_entity("Nobody in particular")
    assert (
        "USAspending records as of" not in client.get(unrelated.get_absolute_url()).content.decode()
    )
