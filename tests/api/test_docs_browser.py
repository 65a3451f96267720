"""The interactive API docs in a real browser: Swagger UI renders under the site's CSP, offline.

Any request to another origin is aborted and recorded, and any
Content-Security-Policy report or script error fails the test.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page, Route, expect
from pytest_django.live_server_helper import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSP_MARKERS = ("Content Security Policy", "Content-Security-Policy", "Refused to")


def test_swagger_ui_renders_every_tag_without_breaking_the_csp(
    page: Page, live_server: LiveServer
) -> None:
    origin = live_server.url.rstrip("/")
    offsite: list[str] = []
    csp_reports: list[str] = []
    errors: list[str] = []

    def keep_on_site(route: Route) -> None:
        url = route.request.url
        if url == origin or url.startswith(origin + "/"):
            route.continue_()
        else:
            offsite.append(url)
            route.abort()

    def on_console(message: ConsoleMessage) -> None:
        if any(marker in message.text for marker in CSP_MARKERS):
            csp_reports.append(message.text)

    def on_error(error: Error) -> None:
        errors.append(str(error))

    # Violations are also collected from the DOM, whatever the console wording.
    page.add_init_script(
        """window.cspViolations = [];
        document.addEventListener("securitypolicyviolation", (e) => {
            window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
        });"""
    )
    page.route("**/*", keep_on_site)
    page.on("console", on_console)
    page.on("pageerror", on_error)

    page.goto(f"{origin}/api/docs")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Receipts API")
    for tag in ("entities", "ties", "sources"):
        expect(page.locator(f"#operations-tag-{tag}")).to_be_visible()
    expect(page.locator(".swagger-ui .btn.authorize")).to_be_visible()
    # The stylesheet applied: Swagger UI's own layout class has its styles.
    wrapper_display = page.locator(".swagger-ui .wrapper").first.evaluate(
        "el => getComputedStyle(el).boxSizing"
    )
    assert wrapper_display == "border-box"
    create_tie = page.locator("#operations-ties-create_tie")
    create_tie.locator(".opblock-summary").click()
    expect(create_tie.locator(".opblock-body")).to_contain_text("citations")

    # "Try it out" runs a real request against the live server.
    list_entities = page.locator("#operations-entities-list_entities")
    list_entities.locator(".opblock-summary").click()
    list_entities.get_by_role("button", name="Try it out").click()
    list_entities.get_by_role("button", name="Execute").click()
    expect(
        list_entities.locator(".live-responses-table tr.response .response-col_status").first
    ).to_have_text("200")
    page.wait_for_load_state("load")

    assert offsite == []
    assert csp_reports == []
    assert page.evaluate("() => window.cspViolations") == []
    assert errors == []
