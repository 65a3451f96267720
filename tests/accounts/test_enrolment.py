"""Turning two-factor login on: the QR code and key, the first code, the recovery codes."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.test import Client

from receipts.accounts import keys
from receipts.accounts.models import AuthenticatorApp, CodeAttempts, RecoveryCode
from tests.campaigns.factories import make_user

from .factories import next_code, wrong_code

pytestmark = pytest.mark.django_db

TURN_ON = "/accounts/two-factor/turn-on/"
QR = "/accounts/two-factor/turn-on/qr.svg"


def _logged_in(username: str = "ada", **kwargs: object) -> tuple[Client, object]:
    user = make_user(username, **kwargs)
    client = Client()
    client.force_login(user)
    return client, user


def test_turn_on_page_shows_qr_code_and_key_of_one_waiting_device() -> None:
    client, user = _logged_in(is_staff=True)
    page = client.get(TURN_ON)
    assert page.status_code == 200
    device = AuthenticatorApp.objects.get(user=user)
    assert not device.confirmed
    html = page.content.decode()
    assert f'src="{QR}"' in html
    shown = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html)
    assert shown is not None
    from base64 import b32decode

    assert b32decode(shown.group(1).replace(" ", "")) == device.bin_key
    # The page keeps to the site's CSP: no inline style or script.
    assert "style=" not in html
    assert "<script>" not in html
    # A reload shows the same key: the user may have scanned it already.
    client.get(TURN_ON)
    assert AuthenticatorApp.objects.filter(user=user).count() == 1


def test_qr_code_is_svg_from_this_site_holding_the_otpauth_address() -> None:
    client, user = _logged_in(is_staff=True)
    client.get(TURN_ON)
    response = client.get(QR)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert body.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert "<script" not in body


def test_enrol_with_the_right_code_confirms_the_device_and_shows_ten_recovery_codes_once() -> None:
    client, user = _logged_in(is_staff=True)
    client.get(TURN_ON)
    device = AuthenticatorApp.objects.get(user=user)
    response = client.post(TURN_ON, {"code": next_code(device), "next": "/campaigns/"})
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    codes = re.findall(
        r"<code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code>", response.content.decode()
    )
    assert len(codes) == 10 and len(set(codes)) == 10
    assert 'href="/campaigns/"' in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    # Stored as keyed digests only: no row holds a code's text, nor its plain SHA-256.
    stored = set(RecoveryCode.objects.filter(code_set__user=user).values_list("digest", flat=True))
    plain = {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
    assert stored == {keys.recovery_digest(p) for p in plain}
    assert not stored & plain
    assert not any(c.replace("-", "") in d for c in codes for d in stored)
    # The login that turned it on counts as verified: the status page opens.
    assert client.get("/accounts/two-factor/").status_code == 200
    # The key is not served again once confirmed.
    assert client.get(QR).status_code == 404
    again = client.get(TURN_ON)
    assert again.status_code == 302 and again["Location"] == "/accounts/two-factor/"


def test_wrong_code_at_set_up_is_refused_and_counted() -> None:
    client, user = _logged_in(is_staff=True)
    client.get(TURN_ON)
    device = AuthenticatorApp.objects.get(user=user)
    response = client.post(TURN_ON, {"code": wrong_code(device)})
    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert not RecoveryCode.objects.filter(code_set__user=user).exists()
    assert CodeAttempts.objects.get(user=user).failures == 1


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "１２３４５６",  # full-width digits: int() would take them
        "12_345",  # int() would take this as 12345
        "+12345",
        "123 45",
        "",
    ],
)
def test_malformed_code_at_set_up_is_refused_without_a_guess_counted(hostile: str) -> None:
    client, user = _logged_in(is_staff=True)
    client.get(TURN_ON)
    response = client.post(TURN_ON, {"code": hostile})
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert not AuthenticatorApp.objects.get(user=user).confirmed
    assert not CodeAttempts.objects.filter(user=user, failures__gt=0).exists()


def test_ten_megabyte_code_is_refused() -> None:
    client, user = _logged_in(is_staff=True)
    client.get(TURN_ON)
    response = client.post(TURN_ON, {"code": "1" * (10 * 1024 * 1024)})
    assert response.status_code == 400
    assert not AuthenticatorApp.objects.get(user=user).confirmed


def test_any_logged_in_user_may_turn_it_on_and_anonymous_users_are_sent_to_log_in() -> None:
    client, _user = _logged_in("editor")
    assert client.get(TURN_ON).status_code == 200
    anonymous = Client().get(TURN_ON)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert Client().get(QR).status_code == 302
