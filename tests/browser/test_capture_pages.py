"""The editor's "New source from a link" in a real browser: capture, check the details, save."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from receipts.captures.models import Capture
from receipts.evidence.models import Source
from tests.browser.conftest import PageGuard
from tests.captures.site import Site
from tests.conftest import CHROMIUM
from tests.factories import make_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.close()


def log_in(page: Page, live_server: LiveServer) -> None:
    make_editor(username="editor", password="correct horse battery")
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill("editor")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()


def test_editor_captures_a_link_confirms_what_was_read_and_sees_the_capture(
    page: Page, live_server: LiveServer, page_guard: PageGuard, site: Site, settings: Any
) -> None:
    settings.ALLOW_PRIVATE_ADDRESSES = True
    settings.CAPTURE_CHROMIUM = CHROMIUM
    settings.CAPTURE_SETTLE_SECONDS = 1
    log_in(page, live_server)
    page.get_by_role("link", name="Capture a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New source from a link")
    page.get_by_label("URL").fill(site.url("/article"))
    page.get_by_role("button", name="Capture").click()

    source = Source.objects.get()
    capture = Capture.objects.get()
    expect(page).to_have_url(
        re.compile(rf"/edit/sources/{source.pk}/captures/{capture.pk}/confirm/$")
    )
    # Offered, not saved: the source keeps its placeholder title until the editor saves.
    expect(page.get_by_label("Title")).to_have_value("Agency signs cloud deal")
    expect(page.get_by_label("Publisher")).to_have_value("The Example Ledger")
    expect(page.get_by_label("Published")).to_have_value("2025-03-14")
    assert Source.objects.get().title == site.url("/article")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(live_server.url + source.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text("Agency signs cloud deal")
    captures = page.locator(f"#capture-{capture.pk}")
    expect(captures.locator("code.fingerprint")).to_have_text(capture.fingerprint)
    with page.expect_response(re.compile(r"/screenshot$")) as shot:
        page.goto(live_server.url + capture.file_url("screenshot"))
    assert shot.value.headers["content-type"] == "image/png"
    page_guard.assert_clean()


def test_a_refused_link_is_shown_on_the_url_field_and_nothing_is_kept(
    page: Page, live_server: LiveServer, page_guard: PageGuard, site: Site, settings: Any
) -> None:
    settings.ALLOW_PRIVATE_ADDRESSES = False
    log_in(page, live_server)
    page.goto(live_server.url + "/edit/sources/from-link/")
    page.get_by_label("URL").fill(site.url("/article"))
    with page.expect_response(re.compile(r"/edit/sources/from-link/$")) as answer:
        page.get_by_role("button", name="Capture").click()
    assert answer.value.status == 400
    field = page.locator(".field.has-error").filter(has=page.get_by_label("URL"))
    expect(field.locator(".errorlist")).to_contain_text("loopback address")
    assert Source.objects.count() == 0
    assert site.state.requests == []
    page_guard.assert_clean()
