"""``two_factor_required``: organisers and staff must turn two-factor login on and give a code."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from receipts.accounts.models import AuthenticatorApp
from receipts.campaigns.models import MemberRole
from tests.campaigns.factories import make_campaign, make_member, make_user

from .factories import enrol, make_user_with_password, next_code, password_login

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.accounts.urls")]

PROTECTED = "/protected/"
TURN_ON = "/accounts/two-factor/turn-on/"
VERIFY = "/accounts/two-factor/verify/"


def _client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_organiser_without_a_device_is_sent_to_turn_it_on_with_a_message() -> None:
    organiser = make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    client = _client_for(organiser)
    response = client.get(PROTECTED)
    assert response.status_code == 302
    assert response["Location"] == f"{TURN_ON}?next=%2Fprotected%2F"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Organisers must turn on two-factor login."
    ]


def test_staff_without_a_device_is_sent_to_turn_it_on() -> None:
    client = _client_for(make_user("sam", is_staff=True))
    assert client.get(PROTECTED)["Location"].startswith(TURN_ON)


def test_organiser_in_one_campaign_and_viewer_in_another_must_turn_it_on() -> None:
    user = make_member(make_campaign(), "olu", MemberRole.VIEWER)
    make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    assert _client_for(user).get(PROTECTED)["Location"].startswith(TURN_ON)


@pytest.mark.parametrize("role", [MemberRole.VIEWER, MemberRole.EDITOR])
def test_viewers_and_editors_without_a_device_pass(role: str) -> None:
    user = make_member(make_campaign(), "val", role)
    response = _client_for(user).get(PROTECTED)
    assert response.status_code == 200 and response.content == b"supporter data"


def test_anonymous_user_is_sent_to_log_in() -> None:
    response = Client().get(PROTECTED)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/protected/")


def test_unverified_login_is_sent_to_the_code_page_with_next() -> None:
    organiser = make_user_with_password("olu")
    make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    enrol(organiser)
    client = Client()
    password_login(client, organiser)
    response = client.get(PROTECTED)
    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next=%2Fprotected%2F"


def test_unverified_login_is_sent_to_the_code_page_by_the_decorator_alone(settings: Any) -> None:
    # Without the site-wide middleware the decorator still holds the view back.
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if not m.endswith("TwoFactorVerificationMiddleware")
    ]
    organiser = make_user_with_password("olu")
    make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    enrol(organiser)
    client = Client()
    password_login(client, organiser)
    assert client.get("/campaigns/").status_code == 200
    response = client.get(PROTECTED)
    assert response["Location"] == f"{VERIFY}?next=%2Fprotected%2F"


def test_decorator_refuses_when_otp_middleware_is_missing(settings: Any) -> None:
    # No way to tell a verified login: the answer is no, never yes.
    settings.MIDDLEWARE = [
        m
        for m in settings.MIDDLEWARE
        if "TwoFactorVerificationMiddleware" not in m and "OTPMiddleware" not in m
    ]
    organiser = make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    enrol(organiser)
    client = _client_for(organiser)
    assert client.get(PROTECTED)["Location"].startswith(VERIFY)


def test_verified_organiser_passes() -> None:
    organiser = make_user_with_password("olu")
    make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    device = enrol(organiser).device
    client = Client()
    password_login(client, organiser, next_path=PROTECTED)
    followed = client.post(VERIFY, {"code": next_code(device), "next": PROTECTED})
    assert followed["Location"] == PROTECTED
    response = client.get(PROTECTED)
    assert response.status_code == 200 and response.content == b"supporter data"


def test_organiser_who_turns_it_on_from_the_redirect_comes_back_verified() -> None:
    from receipts.accounts.models import AuthenticatorApp

    organiser = make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    client = _client_for(organiser)
    to_turn_on = client.get(PROTECTED)["Location"]
    client.get(to_turn_on)
    device = AuthenticatorApp.objects.get(user=organiser)
    done = client.post(TURN_ON, {"code": next_code(device), "next": PROTECTED})
    assert f'href="{PROTECTED}"' in done.content.decode()
    assert client.get(PROTECTED).status_code == 200


# --- the site-wide check: the admin and other pages of accounts, tokens, keys ---------

ADMIN = "/admin/"
API_TOKENS = "/admin/api/apitoken/"


def _superuser(username: str = "root") -> Any:
    from django.contrib.auth.models import User

    return User.objects.create_superuser(username, password=None)


def test_superuser_without_a_device_is_sent_from_the_admin_to_turn_it_on() -> None:
    client = _client_for(_superuser())
    for path in (ADMIN, API_TOKENS, "/admin/auth/user/", "/admin/otp_totp/totpdevice/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(f"{TURN_ON}?next="), path


def test_the_admin_refuses_a_password_reset_by_a_superuser_without_a_device() -> None:
    organiser = make_member(make_campaign(), "olu", MemberRole.ORGANISER)
    client = _client_for(_superuser())
    url = f"/admin/auth/user/{organiser.pk}/password/"
    posted = client.post(url, {"password1": "x" * 20, "password2": "x" * 20})
    assert posted["Location"].startswith(TURN_ON)
    organiser.refresh_from_db()
    assert not organiser.has_usable_password()


def test_superuser_who_turns_it_on_from_the_admin_comes_back_to_it() -> None:
    root = _superuser()
    client = _client_for(root)
    to_turn_on = client.get(API_TOKENS)["Location"]
    client.get(to_turn_on)
    device = AuthenticatorApp.objects.get(user=root)
    done = client.post(TURN_ON, {"code": next_code(device), "next": API_TOKENS})
    assert f'href="{API_TOKENS}"' in done.content.decode()
    assert client.get(API_TOKENS).status_code == 200


def test_htmx_request_to_the_admin_is_sent_to_turn_it_on_whole() -> None:
    response = _client_for(_superuser()).get(ADMIN, headers={"HX-Request": "true"})
    assert response["HX-Redirect"].startswith(TURN_ON)


def test_the_admin_login_and_logout_stay_open() -> None:
    assert Client().get("/admin/login/").status_code == 200
    client = _client_for(_superuser())
    logged_out = client.post("/admin/logout/")
    assert logged_out.status_code == 302 and logged_out["Location"] == "/"
    assert "_auth_user_id" not in client.session


def test_organiser_without_a_device_cannot_change_campaign_members_or_its_password() -> None:
    campaign = make_campaign()
    organiser = make_member(campaign, "olu", MemberRole.ORGANISER)
    client = _client_for(organiser)
    members = f"/edit/campaigns/{campaign.slug}/members/"
    added = client.post(members, {"username": "olu", "role": "viewer"})
    assert added["Location"].startswith(TURN_ON)
    assert client.get("/accounts/password_change/")["Location"].startswith(TURN_ON)
    # Pages of public evidence and campaigns are not held back.
    assert client.get(f"/edit/campaigns/{campaign.slug}/").status_code == 200


def test_a_verified_superuser_opens_the_admin() -> None:
    root = make_user_with_password("root", is_staff=True, is_superuser=True)
    device = enrol(root).device
    client = Client()
    password_login(client, root, next_path=ADMIN)
    assert client.get(ADMIN)["Location"].startswith(VERIFY)
    client.post(VERIFY, {"code": next_code(device), "next": ADMIN})
    assert client.get(API_TOKENS).status_code == 200
