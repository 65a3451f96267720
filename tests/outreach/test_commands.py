"""The ``receipts outreach`` commands and the demo's sign-up form and Seattle rally flyer."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from receipts.campaigns.models import Campaign, Goal, GoalProgress
from receipts.cli import main
from receipts.demo import load_demo
from receipts.outreach import crypto, services
from receipts.outreach.models import (
    AuditAction,
    AuditChannel,
    AuditEvent,
    Flyer,
    SignupForm,
    Submission,
    Supporter,
    SupporterKey,
)
from tests.campaigns.factories import make_campaign
from tests.outreach.factories import make_form, person, post_signup, sign_up

pytestmark = pytest.mark.django_db


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_the_demo_flyer_leads_amazon_employees_to_the_sign_up_form() -> None:
    load_demo()
    load_demo()  # idempotent
    assert (SignupForm.objects.count(), Flyer.objects.count()) == (1, 1)
    flyer = Flyer.objects.get()
    assert (flyer.code, flyer.label, flyer.action.title) == (
        "seattle-rally",
        "Seattle rally flyer",
        "Rally outside Amazon's headquarters in Seattle",
    )
    client = Client()
    response = client.get("/f/seattle-rally")
    assert (
        response["Location"]
        == "/campaigns/amazon-dump-ice/join/amazon-employees/?source=seattle-rally"
    )
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"not an address at amazon.com" in page.content
    assert b'id="id_email"' in page.content and b'id="id_phone"' not in page.content

    form = SignupForm.objects.get()
    answers = person(1)
    warned = post_signup(client, form, {**answers, "email": "q@amazon.com"}, source="seattle-rally")
    assert warned.status_code == 400
    thanks = post_signup(client, form, answers, source="seattle-rally")
    assert thanks.status_code == 303
    assert b"Someone from AECJ" in client.get(thanks["Location"]).content

    goal = Goal.objects.get(progress_source=GoalProgress.SIGNUPS)
    assert (goal.metric, goal.value) == ("Amazon employees signed up", 0)
    campaign = Campaign.objects.get(slug="amazon-dump-ice")
    services.decide_submissions(
        campaign, list(Submission.objects.values_list("pk", flat=True)), "accepted", decided_by=None
    )
    goal.refresh_from_db()
    assert goal.value == 1
    # The demo's data is held by AECJ, under its own key file.
    assert services.organisation_for(campaign).slug == "aecj"
    assert SupporterKey.objects.get().organisation.slug == "aecj"
    load_demo()  # a reload keeps the sign-ups and the goal's count
    goal.refresh_from_db()
    assert goal.value == 1 and Supporter.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_rotate_keys_command(outreach_key_dir: Path) -> None:
    campaign = make_campaign()
    form = make_form(campaign)
    sign_up(form, person(1))
    organisation = services.organisation_for(campaign)
    result = run("outreach", "rotate-keys")
    assert result.exit_code == 0, result.output
    assert (
        f"{organisation.slug}: kek-2, index-2; 1 keys rewrapped, 1 indexes rebuilt" in result.output
    )
    assert "old versions retired" in result.output
    assert set(crypto.load_keyring(organisation.slug).keks) == {2}
    assert AuditEvent.objects.get().action == AuditAction.ROTATE_KEYS
    result = run("outreach", "rotate-keys", "--org", organisation.slug)
    assert "kek-3" in result.output
    assert run("outreach", "rotate-keys", "--org", "nobody").exit_code == 2


def test_erase_command_finds_the_person_by_blind_index_alone() -> None:
    campaign = make_campaign(slug="drive")
    form = make_form(campaign)
    sign_up(form, person(1))
    sign_up(form, person(1))
    sign_up(form, person(2))
    result = run("outreach", "erase", "--campaign", "drive", "--email", "QUILLON.1@example.org ")
    assert result.exit_code == 0, result.output
    assert "Erased 1 supporter" in result.output
    assert "quillon" not in result.output.lower()
    assert Supporter.objects.count() == 1 and Submission.objects.count() == 1
    event = AuditEvent.objects.get(action=AuditAction.ERASE)
    assert (event.channel, event.supporter_count, event.user_id) == (AuditChannel.CLI, 1, None)
    again = run("outreach", "erase", "--campaign", "drive", "--email", "quillon.1@example.org")
    assert again.exit_code == 2
    prompted = run("outreach", "erase", "--campaign", "drive", input="quillon.2@example.org\n")
    assert prompted.exit_code == 0, prompted.output
    assert "quillon.2" not in prompted.output
    assert not Supporter.objects.exists()


def test_purge_erases_supporters_past_retention(settings: Any) -> None:
    settings.SUPPORTER_RETENTION_DAYS = 30
    campaign = make_campaign()
    form = make_form(campaign)
    old = sign_up(form, person(1), now=timezone.now() - timedelta(days=40))
    recent = sign_up(form, person(2), now=timezone.now() - timedelta(days=10))
    returning = sign_up(form, person(3), now=timezone.now() - timedelta(days=40))
    sign_up(form, person(3))  # signed again: retention counts from the last sign-up
    result = run("outreach", "purge")
    assert result.exit_code == 0, result.output
    assert "Purged 1 supporters whose last sign-up is older than 30 days." in result.output
    assert set(Supporter.objects.values_list("pk", flat=True)) == {
        recent.supporter_id,
        returning.supporter_id,
    }
    assert not Submission.objects.filter(supporter_id=old.supporter_id).exists()
    assert AuditEvent.objects.get(action=AuditAction.PURGE).supporter_count == 1
    assert "0 supporters" not in run("outreach", "purge", "--days", "5").output


def test_export_command_writes_accepted_supporters_as_csv(tmp_path: Path) -> None:
    campaign = make_campaign(slug="drive")
    form = make_form(campaign)
    accepted = sign_up(form, person(1), source_code="leaflet")
    sign_up(form, person(2))
    services.decide_submissions(campaign, [accepted.pk], "accepted", decided_by=None)
    out = tmp_path / "supporters.csv"
    result = run("outreach", "export", "--campaign", "drive", "-o", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["name"], r["email"], r["sources"]) for r in rows] == [
        ("Quillon Testperson1", "quillon.1@example.org", "leaflet")
    ]
    event = AuditEvent.objects.get(action=AuditAction.EXPORT_CSV)
    assert (event.channel, event.supporter_count) == ("cli", 1)


def test_assign_command_lets_an_organisation_hold_a_campaigns_keys() -> None:
    campaign = make_campaign(slug="drive")
    result = run("outreach", "assign", "--campaign", "drive", "--org", "aecj", "--name", "AECJ")
    assert result.exit_code == 0, result.output
    assert services.organisation_for(campaign).slug == "aecj"
    sign_up(make_form(campaign), person(1))
    refused = run("outreach", "assign", "--campaign", "drive", "--org", "other")
    assert refused.exit_code == 1
    assert "already has supporters" in refused.output
    assert reverse("outreach-manage", args=["drive"])


def test_export_command_gives_one_person_everything_held_on_them(tmp_path: Path) -> None:
    campaign = make_campaign(slug="drive")
    form = make_form(campaign)
    sign_up(form, person(1), source_code="leaflet")
    sign_up(form, person(1, city="Renton"))
    sign_up(form, person(2))
    out = tmp_path / "person.csv"
    result = run(
        "outreach",
        "export",
        "--campaign",
        "drive",
        "--email",
        "quillon.1@example.org",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["city"], r["status"], r["source"]) for r in rows] == [
        ("Tukwilaville 1", "pending", "leaflet"),
        ("Renton", "pending", ""),
    ]
    assert all(r["consent_sha256"] == services.consent_hash(form.consent_text) for r in rows)
    assert "quillon.2" not in out.read_text()
    event = AuditEvent.objects.get(action=AuditAction.EXPORT_CSV)
    assert event.supporter_count == 1
