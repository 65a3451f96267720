"""Organisers onboard themselves: invitations by email with a role, and one-time login links.

Links are single-use, stored only as a SHA-256 digest, and expire.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from receipts.accounts import links
from receipts.accounts.models import Invitation, LoginLink
from receipts.campaigns import access
from receipts.campaigns.models import Campaign, CampaignMembership, MemberRole
from receipts.cli import main
from tests.accounts.factories import next_code
from tests.campaigns.factories import make_campaign, make_member
from tests.factories import login_verified

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough passphrase 42"


def _invite(client: Client, campaign: Campaign, email: str, role: str) -> str:
    """Send an invitation through the members page; the link from the email sent."""
    response = client.post(
        reverse("campaign-invite", args=[campaign.slug]), {"email": email, "role": role}
    )
    assert response.status_code == 302, response.content.decode()
    message = mail.outbox[-1]
    assert message.to == [email]
    found = re.search(r"http://testserver(/accounts/invitations/[^/\s]+/)", message.body)
    assert found is not None
    return found.group(1)


@pytest.fixture
def organiser_client(settings: Any) -> tuple[Client, Campaign]:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    campaign = make_campaign("Dump ICE")
    client = Client()
    login_verified(client, make_member(campaign, "org", MemberRole.ORGANISER))
    return client, campaign


def test_an_invitation_makes_an_account_with_the_role_and_asks_for_two_factor(
    organiser_client: tuple[Client, Campaign],
) -> None:
    client, campaign = organiser_client
    link = _invite(client, campaign, "new.person@example.org", MemberRole.EDITOR)
    members_page = client.get(reverse("campaign-members", args=[campaign.slug])).content.decode()
    assert "new.person@example.org" in members_page
    # Only the digest is stored: the token in the link is nowhere in the database.
    token = link.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    assert invitation.token_digest == links.digest_of(token)
    assert token not in str(list(Invitation.objects.values_list()))

    newcomer = Client()
    page = newcomer.get(link)
    assert page.status_code == 200
    assert "editor" in page.content.decode()
    assert Invitation.objects.get().accepted_at is None  # opening the link spends nothing
    response = newcomer.post(
        link, {"username": "newbie", "password1": PASSWORD, "password2": PASSWORD}
    )
    manage = reverse("campaign-manage", args=[campaign.slug])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two-factor-turn-on"))
    assert "next=" + manage.replace("/", "%2F") in response["Location"]
    user = User.objects.get(username="newbie")
    assert user.email == "new.person@example.org"
    assert user.check_password(PASSWORD)
    assert access.role_of(user, campaign) == MemberRole.EDITOR
    # The second factor is set up on the next page, from the same login.
    turn_on = newcomer.get(response["Location"])
    assert turn_on.status_code == 200
    from receipts.accounts.models import AuthenticatorApp

    device = AuthenticatorApp.objects.get(user=user)
    done = newcomer.post(response["Location"], {"code": next_code(device)})
    assert done.status_code == 200
    assert AuthenticatorApp.objects.get(user=user).confirmed

    # Used once: the link now refuses, and makes nobody else.
    again = Client().post(
        link, {"username": "second", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert again.status_code == 410
    assert not User.objects.filter(username="second").exists()


def test_an_expired_invitation_does_nothing(organiser_client: tuple[Client, Campaign]) -> None:
    client, campaign = organiser_client
    link = _invite(client, campaign, "late@example.org", MemberRole.VIEWER)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().post(
        link, {"username": "late", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 410
    assert "does not work" in response.content.decode()
    assert not User.objects.filter(username="late").exists()


def test_a_weak_password_is_refused_and_the_invitation_kept(
    organiser_client: tuple[Client, Campaign],
) -> None:
    client, campaign = organiser_client
    link = _invite(client, campaign, "weak@example.org", MemberRole.VIEWER)
    response = Client().post(link, {"username": "weak", "password1": "123", "password2": "123"})
    assert response.status_code == 400
    assert Invitation.objects.get().accepted_at is None
    assert not User.objects.filter(username="weak").exists()


def test_a_logged_in_person_accepts_with_their_account(
    organiser_client: tuple[Client, Campaign],
) -> None:
    client, campaign = organiser_client
    link = _invite(client, campaign, "known@example.org", MemberRole.VIEWER)
    known = User.objects.create_user("known", password=PASSWORD)
    other = Client()
    other.force_login(known)
    assert "Accept as known" in other.get(link).content.decode()
    response = other.post(link)
    assert response.status_code == 302
    assert CampaignMembership.objects.get(user=known).role == MemberRole.VIEWER


def test_only_organisers_invite(organiser_client: tuple[Client, Campaign]) -> None:
    _client, campaign = organiser_client
    editor = Client()
    login_verified(editor, make_member(campaign, "ed", MemberRole.EDITOR))
    response = editor.post(
        reverse("campaign-invite", args=[campaign.slug]),
        {"email": "x@example.org", "role": MemberRole.ORGANISER},
    )
    assert response.status_code == 403
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_an_invitation_that_cannot_be_sent_is_not_kept(
    organiser_client: tuple[Client, Campaign], settings: Any
) -> None:
    client, campaign = organiser_client
    settings.EMAIL_BACKEND = "tests.accounts.test_password_reset.RefusingBackend"
    response = client.post(
        reverse("campaign-invite", args=[campaign.slug]),
        {"email": "x@example.org", "role": MemberRole.VIEWER},
    )
    assert response.status_code == 400
    assert "was not sent" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_revoked_invitation_stops_working(organiser_client: tuple[Client, Campaign]) -> None:
    client, campaign = organiser_client
    link = _invite(client, campaign, "gone@example.org", MemberRole.VIEWER)
    invitation = Invitation.objects.get()
    client.post(reverse("campaign-invitation-revoke", args=[campaign.slug, invitation.pk]))
    assert Client().get(link).status_code == 410


def test_a_login_link_works_once_and_expires() -> None:
    user = User.objects.create_user("linked")
    issued = links.issue_login_link(user, next_path="/campaigns/")
    url = reverse("login-link", args=[issued.token])
    assert LoginLink.objects.get().token_digest == links.digest_of(issued.token)
    client = Client()
    assert client.get(url).status_code == 200
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == "/campaigns/"
    assert int(client.session["_auth_user_id"]) == user.pk
    assert Client().post(url).status_code == 410
    late = links.issue_login_link(user, lifetime=timedelta(seconds=-1))
    assert Client().post(reverse("login-link", args=[late.token])).status_code == 410
    assert Client().post(reverse("login-link", args=["forged-token"])).status_code == 410


def test_a_new_login_link_retires_the_one_before() -> None:
    user = User.objects.create_user("linked")
    first = links.issue_login_link(user)
    links.issue_login_link(user)
    assert Client().post(reverse("login-link", args=[first.token])).status_code == 410


def test_demo_prints_a_one_time_link_to_the_organiser_pages() -> None:
    result = CliRunner().invoke(main, ["demo", "--no-serve"], catch_exceptions=False)
    assert result.exit_code == 0
    found = re.search(r"http://127\.0\.0\.1:8000(/accounts/login-link/\S+/)", result.output)
    assert found is not None, result.output
    client = Client()
    response = client.post(found.group(1))
    assert response.status_code == 302
    manage = client.get(response["Location"])
    assert manage.status_code == 200
    assert "Manage" in manage.content.decode()
    assert Client().post(found.group(1)).status_code == 410


def test_no_role_on_a_public_campaign_is_said_not_hidden() -> None:
    campaign = make_campaign("Open campaign")
    client = Client()
    client.force_login(User.objects.create_user("nobody", password=PASSWORD))
    response = client.get(reverse("campaign-manage", args=[campaign.slug]))
    body = response.content.decode()
    assert response.status_code == 403
    assert "You have no access to this page" in body
    assert "role" in body
    assert "merged into another entity" not in body
