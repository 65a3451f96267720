"""Logging in with two-factor login on: the password alone opens nothing but the code page."""

from __future__ import annotations

import pytest
from django.test import Client

from receipts.accounts.models import RecoveryCode
from receipts.campaigns.models import MemberRole
from tests.campaigns.factories import make_campaign, make_member

from .factories import enrol, make_user_with_password, next_code, password_login, wrong_code

pytestmark = pytest.mark.django_db

VERIFY = "/accounts/two-factor/verify/"


def test_login_of_enrolled_user_is_not_verified_until_the_code() -> None:
    user = make_user_with_password("ada", is_staff=True)
    device = enrol(user).device
    client = Client()
    password_login(client, user, next_path="/campaigns/")
    held = client.get("/campaigns/")
    assert held.status_code == 302
    assert held["Location"] == f"{VERIFY}?next=%2Fcampaigns%2F"
    # Every page waits for the code, the editor pages and the admin too.
    for path in ("/", "/edit/ties/new/", "/admin/", "/accounts/two-factor/"):
        assert client.get(path).status_code == 302, path
        assert client.get(path)["Location"].startswith(VERIFY)
    assert client.get(VERIFY + "?next=/campaigns/").status_code == 200

    refused = client.post(VERIFY, {"code": wrong_code(device), "next": "/campaigns/"})
    assert refused.status_code == 400
    assert client.get("/campaigns/").status_code == 302

    accepted = client.post(VERIFY, {"code": next_code(device), "next": "/campaigns/"})
    assert accepted.status_code == 302 and accepted["Location"] == "/campaigns/"
    assert client.get("/campaigns/").status_code == 200
    assert client.get("/accounts/two-factor/").status_code == 200


def test_verifying_gives_the_session_a_new_key() -> None:
    user = make_user_with_password("ada")
    device = enrol(user).device
    client = Client()
    password_login(client, user)
    before = client.cookies["sessionid"].value
    client.post(VERIFY, {"code": next_code(device)})
    assert client.cookies["sessionid"].value != before


def test_a_code_from_the_app_is_accepted_only_once() -> None:
    user = make_user_with_password("ada")
    device = enrol(user).device
    code = next_code(device)
    first, second = Client(), Client()
    password_login(first, user)
    password_login(second, user)
    assert first.post(VERIFY, {"code": code}).status_code == 302
    assert second.post(VERIFY, {"code": code}).status_code == 400


def test_logging_out_ends_the_verification() -> None:
    user = make_user_with_password("ada")
    device = enrol(user).device
    client = Client()
    password_login(client, user)
    client.post(VERIFY, {"code": next_code(device)})
    client.post("/accounts/logout/")
    password_login(client, user)
    assert client.get("/")["Location"].startswith(VERIFY)


def test_code_page_refuses_to_send_the_user_to_another_site() -> None:
    user = make_user_with_password("ada")
    device = enrol(user).device
    client = Client()
    password_login(client, user)
    response = client.post(VERIFY, {"code": next_code(device), "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_htmx_request_of_unverified_login_is_sent_to_the_code_page_whole() -> None:
    user = make_user_with_password("ada")
    enrol(user)
    client = Client()
    password_login(client, user)
    response = client.get("/campaigns/", headers={"HX-Request": "true"})
    assert response["HX-Redirect"].startswith(VERIFY)


def test_api_reads_an_unverified_login_as_anonymous() -> None:
    campaign = make_campaign("Quiet campaign", slug="quiet", visibility="private")
    user = make_user_with_password("ada")
    make_member(campaign, "ada", MemberRole.ORGANISER)
    device = enrol(user).device
    client = Client()
    password_login(client, user)
    assert client.get("/api/campaigns/quiet").status_code == 404
    client.post(VERIFY, {"code": next_code(device)})
    assert client.get("/api/campaigns/quiet").status_code == 200


def test_recovery_code_works_once() -> None:
    user = make_user_with_password("ada")
    codes = enrol(user).recovery_codes
    client = Client()
    password_login(client, user)
    used = client.post(VERIFY, {"code": codes[0].upper().replace("-", " "), "next": "/campaigns/"})
    assert used.status_code == 302 and used["Location"] == "/campaigns/"
    page = client.get("/campaigns/")
    assert page.status_code == 200
    assert "9 left" in page.content.decode()
    assert RecoveryCode.objects.filter(code_set__user=user).count() == 9

    client.post("/accounts/logout/")
    password_login(client, user)
    again = client.post(VERIFY, {"code": codes[0]})
    assert again.status_code == 400
    assert client.get("/")["Location"].startswith(VERIFY)
    assert client.post(VERIFY, {"code": codes[1]}).status_code == 302
    assert RecoveryCode.objects.filter(code_set__user=user).count() == 8


def test_recovery_codes_of_one_user_do_not_log_in_another() -> None:
    ada = make_user_with_password("ada")
    bob = make_user_with_password("bob")
    ada_codes = enrol(ada).recovery_codes
    enrol(bob)
    client = Client()
    password_login(client, bob)
    assert client.post(VERIFY, {"code": ada_codes[0]}).status_code == 400
    assert RecoveryCode.objects.filter(code_set__user=ada).count() == 10


def test_user_without_two_factor_login_is_not_held_back() -> None:
    user = make_user_with_password("ada")
    client = Client()
    password_login(client, user)
    assert client.get("/campaigns/").status_code == 200
    assert client.get(VERIFY + "?next=/campaigns/")["Location"] == "/campaigns/"
