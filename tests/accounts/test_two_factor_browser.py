"""Two-factor login in a real browser: the QR code renders under the site's CSP, offline.

The test reads the key off the page and computes codes from it, as a phone does.
"""

from __future__ import annotations

from base64 import b32decode
from typing import Any

import pytest
from django_otp.oath import totp
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from receipts.accounts.models import AuthenticatorApp
from tests.browser.conftest import PageGuard

from .factories import PASSWORD, make_user_with_password, next_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page: Page, origin: str, next_path: str) -> None:
    page.goto(f"{origin}/accounts/login/?next={next_path}")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_turn_on_then_log_in_with_a_code_in_a_browser(page: Page, live_server: LiveServer) -> None:
    origin = live_server.url.rstrip("/")
    guard = PageGuard(origin=origin)
    page.route("**/*", guard.on_route)
    page.on("console", guard.on_console)
    page.on("pageerror", guard.on_page_error)
    user = make_user_with_password("ada", is_staff=True)

    _log_in(page, origin, "/accounts/two-factor/turn-on/")
    expect(page.get_by_role("heading", name="Turn on two-factor login")).to_be_visible()
    qr = page.locator("img.qr")
    expect(qr).to_be_visible()
    page.wait_for_load_state("load")
    assert qr.evaluate("img => img.complete && img.naturalWidth") > 100

    key = b32decode(page.locator("code.secret").inner_text().replace(" ", ""))
    page.fill("#id_code", f"{totp(key):06d}")
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("ol.recovery-codes li")).to_have_count(10)

    page.get_by_role("button", name="Log out ada").click()
    _log_in(page, origin, "/campaigns/")
    expect(page.get_by_role("heading", name="Two-factor code")).to_be_visible()
    page.fill("#id_code", next_code(AuthenticatorApp.objects.get(user=user)))
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{origin}/campaigns/")
    page.wait_for_load_state("load")
    guard.assert_clean()


def test_a_locked_out_login_says_how_long_to_wait_in_a_browser(
    page: Page, live_server: LiveServer, settings: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    origin = live_server.url.rstrip("/")
    guard = PageGuard(origin=origin)
    page.route("**/*", guard.on_route)
    page.on("console", guard.on_console)
    page.on("pageerror", guard.on_page_error)
    make_user_with_password("ada")

    page.goto(f"{origin}/accounts/login/")
    for _ in range(3):
        page.fill("#id_username", "ada")
        page.fill("#id_password", "not the password")
        page.get_by_role("button", name="Log in").click()
    _log_in(page, origin, "/campaigns/")
    expect(page.get_by_role("alert")).to_contain_text(
        "Too many failed logins for this account or from this address."
    )
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    expect(page.get_by_role("alert")).to_contain_text(f"the next {minutes} minutes")
    expect(page).to_have_url(f"{origin}/accounts/login/?next=/campaigns/")
    page.wait_for_load_state("load")
    guard.assert_clean()
