"""Turning two-factor login off takes a current code; it removes the key and every recovery code."""

from __future__ import annotations

import pytest
from django.test import Client

from receipts.accounts.models import AuthenticatorApp, RecoveryCode, RecoveryCodeSet

from .factories import enrol, make_user_with_password, next_code, password_login, wrong_code

pytestmark = pytest.mark.django_db

TURN_OFF = "/accounts/two-factor/turn-off/"
VERIFY = "/accounts/two-factor/verify/"


def _verified_client(user: object, device: AuthenticatorApp) -> Client:
    client = Client()
    password_login(client, user)  # type: ignore[arg-type]
    assert client.post(VERIFY, {"code": next_code(device)}).status_code == 302
    return client


def test_disabling_needs_a_code() -> None:
    user = make_user_with_password("ada")
    device = enrol(user).device
    client = _verified_client(user, device)
    assert client.get(TURN_OFF).status_code == 200
    assert client.post(TURN_OFF, {}).status_code == 400
    assert client.post(TURN_OFF, {"code": wrong_code(device)}).status_code == 400
    assert AuthenticatorApp.objects.filter(user=user, confirmed=True).exists()

    done = client.post(TURN_OFF, {"code": next_code(device)})
    assert done.status_code == 302 and done["Location"] == "/accounts/two-factor/"
    assert not AuthenticatorApp.objects.filter(user=user).exists()
    assert not RecoveryCodeSet.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(code_set__user=user).exists()
    # A password alone logs in again.
    client.post("/accounts/logout/")
    password_login(client, user)
    assert client.get("/campaigns/").status_code == 200


def test_a_recovery_code_also_turns_it_off() -> None:
    user = make_user_with_password("ada")
    enrolled = enrol(user)
    client = _verified_client(user, enrolled.device)
    assert client.post(TURN_OFF, {"code": enrolled.recovery_codes[3]}).status_code == 302
    assert not AuthenticatorApp.objects.filter(user=user).exists()


def test_unverified_login_cannot_reach_turn_off() -> None:
    user = make_user_with_password("ada")
    device = enrol(user).device
    client = Client()
    password_login(client, user)
    response = client.post(TURN_OFF, {"code": wrong_code(device)})
    assert response.status_code == 302 and response["Location"].startswith(VERIFY)
    assert AuthenticatorApp.objects.filter(user=user, confirmed=True).exists()
