"""Editors in a real browser, on the demo: a duplicate tie is flagged while the form is filled in."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from receipts.demo import load_demo
from receipts.evidence.models import Entity, Tie
from tests.browser.conftest import PageGuard
from tests.browser.test_evidence_pages import log_in
from tests.factories import make_editor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_duplicate_tie_is_flagged_with_a_link_before_saving(
    page: Page, live_server: LiveServer, page_guard: PageGuard
) -> None:
    load_demo()
    make_editor(username="editor", password="correct horse battery")
    aws = Entity.objects.get(ftm_id="receipts-demo-aws")
    ice = Entity.objects.get(ftm_id="receipts-demo-ice")
    existing = Tie.objects.get(subject=aws, object=ice, kind="hosting")
    before = Tie.objects.count()

    log_in(page, live_server, "editor", "correct horse battery")
    page.goto(live_server.url + "/edit/ties/new/")
    page.get_by_label("Subject").fill("Amazon Web Services")
    page.get_by_label("Kind").select_option(label="Hosting")
    page.get_by_label("Object").fill("ICE")
    page.get_by_label("Object").blur()

    found = page.locator("#duplicates-found")
    expect(found).to_be_visible()
    expect(found.get_by_role("link", name=str(existing))).to_have_attribute(
        "href", existing.get_absolute_url()
    )
    expect(found.get_by_role("link", name="add your source to it")).to_have_attribute(
        "href", f"/edit/ties/{existing.pk}/cite/"
    )
    assert Tie.objects.count() == before
    page_guard.assert_clean()
