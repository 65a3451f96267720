"""Only a campaign's organisers see its supporters; every view and export is in an append-only audit log.

Viewers and editors get 403; members of another campaign and staff without a
role 404 on a private campaign, and 403 saying they have no role on a public
one; the anonymous the login page. The audit log holds ids and counts,
never a name, an address or a number.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from receipts.campaigns.models import MemberRole
from receipts.outreach import services
from receipts.outreach.models import AuditAction, AuditEvent, Submission, Supporter
from tests.campaigns.factories import make_campaign, make_member, make_user
from tests.factories import login_verified
from tests.outreach.factories import make_form, person, sign_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    campaign = make_campaign("Drive", slug="drive", visibility="private")
    other = make_campaign("Other", slug="other")
    form = make_form(campaign)
    submission = sign_up(form, person(1))
    users: dict[str, User | None] = {
        "anonymous": None,
        "stranger": make_user("stranger"),
        "staff": make_user("staff", is_staff=True, is_superuser=True),
        "outsider": make_member(other, "outsider", MemberRole.ORGANISER),
        "viewer": make_member(campaign, "viewer", MemberRole.VIEWER),
        "editor": make_member(campaign, "editor", MemberRole.EDITOR),
        "organiser": make_member(campaign, "organiser", MemberRole.ORGANISER),
    }
    return {"campaign": campaign, "submission": submission, "users": users}


def _client(world: dict[str, Any], who: str) -> Client:
    client = Client()
    user = world["users"][who]
    if user is not None:
        # Everyone logs in with a second factor, so only the role decides.
        login_verified(client, user)
    return client


def _pages(world: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    slug = world["campaign"].slug
    submission = world["submission"]
    uid = submission.supporter.uid
    return [
        ("get", reverse("outreach-review", args=[slug]), {}),
        ("get", reverse("outreach-supporters", args=[slug]), {}),
        ("get", reverse("outreach-export", args=[slug]), {}),
        ("get", reverse("outreach-attribution", args=[slug]), {}),
        ("get", reverse("outreach-erase", args=[slug, uid]), {}),
        ("post", reverse("outreach-erase", args=[slug, uid]), {"confirm": "on"}),
        (
            "post",
            reverse("outreach-decide", args=[slug]),
            {"submission": submission.pk, "decision": "accept"},
        ),
    ]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 302),
        ("stranger", 404),
        ("staff", 404),
        ("outsider", 404),
        ("viewer", 403),
        ("editor", 403),
    ],
)
def test_only_organisers_reach_supporter_data(
    world: dict[str, Any], who: str, expected: int
) -> None:
    client = _client(world, who)
    for method, url, data in _pages(world):
        response = getattr(client, method)(url, data)
        assert response.status_code == expected, (who, url)
        if expected == 302:
            assert response["Location"].startswith("/accounts/login/")
        assert b"Quillon" not in response.content
    assert Supporter.objects.count() == 1
    assert Submission.objects.get().status == "pending"
    assert not AuditEvent.objects.exists()


def test_no_role_on_a_public_campaign_is_said_and_a_private_one_stays_hidden(
    world: dict[str, Any],
) -> None:
    from receipts.campaigns.models import Visibility

    client = _client(world, "stranger")
    campaign = world["campaign"]
    campaign.visibility = Visibility.PUBLIC
    campaign.save()
    response = client.get(reverse("outreach-supporters", args=[campaign.slug]))
    body = response.content.decode()
    assert response.status_code == 403
    assert f"You have no role in the campaign {campaign.name}" in body
    assert "merged into another entity" not in body
    campaign.visibility = Visibility.PRIVATE
    campaign.save()
    response = client.get(reverse("outreach-supporters", args=[campaign.slug]))
    assert response.status_code == 404
    assert campaign.name not in response.content.decode()


def test_organisers_reach_supporter_data_uncached_and_audited(world: dict[str, Any]) -> None:
    client = _client(world, "organiser")
    organiser = world["users"]["organiser"]
    for method, url, data in _pages(world)[:5]:
        response = getattr(client, method)(url, data)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"]
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "supporter_count"))
    assert actions == [
        (AuditAction.VIEW_REVIEW, 1),
        (AuditAction.VIEW_SUPPORTERS, 1),
        (AuditAction.EXPORT_CSV, 0),  # nobody accepted yet
    ]
    assert {e.user_id for e in AuditEvent.objects.all()} == {organiser.pk}
    assert {e.campaign_id for e in AuditEvent.objects.all()} == {world["campaign"].pk}


def test_an_organiser_erases_a_supporter_from_the_page(world: dict[str, Any]) -> None:
    client = _client(world, "organiser")
    campaign, submission = world["campaign"], world["submission"]
    url = reverse("outreach-erase", args=[campaign.slug, submission.supporter.uid])
    confirm = client.get(url)
    assert b"Quillon" not in confirm.content  # the confirmation shows no personal data
    assert client.post(url, {}).status_code == 400
    assert Supporter.objects.count() == 1
    response = client.post(url, {"confirm": "on"})
    assert response.status_code == 302
    assert not Supporter.objects.exists() and not Submission.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.ERASE)
    assert (event.supporter_count, event.user_id) == (1, world["users"]["organiser"].pk)


def test_supporter_data_of_another_campaign_cannot_be_reached_by_id(world: dict[str, Any]) -> None:
    other = make_campaign("Mine", slug="mine")
    client = Client()
    login_verified(client, make_member(other, "mine", MemberRole.ORGANISER))
    submission = world["submission"]
    response = client.post(
        reverse("outreach-decide", args=["mine"]),
        {"submission": submission.pk, "decision": "accept"},
    )
    assert response.status_code == 302
    assert Submission.objects.get().status == "pending"
    erase = reverse("outreach-erase", args=["mine", submission.supporter.uid])
    assert client.post(erase, {"confirm": "on"}).status_code == 404
    assert Supporter.objects.count() == 1


def test_the_audit_log_is_append_only(world: dict[str, Any]) -> None:
    event = services.record_audit(AuditAction.VIEW_SUPPORTERS, campaign=world["campaign"], count=3)
    event.supporter_count = 0
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(supporter_count=0)
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().supporter_count == 3
    # Deleting the campaign leaves its audit trail.
    world["campaign"].delete()
    assert AuditEvent.objects.count() == 1


def test_the_audit_log_holds_no_personal_data(world: dict[str, Any]) -> None:
    campaign = world["campaign"]
    client = _client(world, "organiser")
    client.get(reverse("outreach-review", args=[campaign.slug]))
    services.decide_submissions(
        campaign, [world["submission"].pk], "accepted", decided_by=world["users"]["organiser"]
    )
    client.get(reverse("outreach-export", args=[campaign.slug]))
    client.post(
        reverse("outreach-erase", args=[campaign.slug, world["submission"].supporter.uid]),
        {"confirm": "on"},
    )
    rows = list(AuditEvent.objects.values())
    assert len(rows) == 4
    text = repr(rows)
    for value in person(1).values():
        assert value not in text
    assert str(world["submission"].supporter.uid) not in text
    columns = {f.name for f in AuditEvent._meta.get_fields()}
    assert columns == {
        "id",
        "at",
        "user_id",
        "channel",
        "action",
        "campaign_id",
        "organisation_id",
        "supporter_count",
    }


def test_organisers_without_a_second_factor_never_see_supporter_data(world: dict[str, Any]) -> None:
    organiser = world["users"]["organiser"]
    client = Client()
    client.force_login(organiser)  # a password alone
    before = AuditEvent.objects.count()
    for method, url, data in _pages(world):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/two-factor/"), url
    assert AuditEvent.objects.count() == before
    assert Submission.objects.filter(pk=world["submission"].pk).exists()
