"""Every public page of the demo, at a phone's width and a desktop's, in a real browser.

Each page is screenshotted at 360 and 1280 px into the artefacts folder
(``RECEIPTS_ARTEFACTS_DIR``, a temporary folder unless set), must not be
wider than the window (no sideways scrolling on a phone), and must pass
axe-core's WCAG 2.2 AA rules. axe-core is vendored under
``tests/browser/vendor/axe-core`` and evaluated in the page by the test
only: the site never serves it, and its Content-Security-Policy stays as it is.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from receipts.contracts.models import ContractTotals
from receipts.demo import CAMPAIGN_SLUG, EMPLOYEE_FORM_SLUG, FLYER_CODE, load_demo
from receipts.evidence.models import Entity, Source, Tie
from tests.browser.conftest import PageGuard
from tests.factories import make_tie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = (360, 1280)
# The rules of WCAG 2.0, 2.1 and 2.2 at levels A and AA, as axe-core tags them.
WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

PORTFOLIO = "Ticker,Name,Market Value (USD)\nAMZN,Amazon,5000\n,Flock Safety,2000\n,Quuxly,10\n"


def artefacts_dir() -> Path:
    """Where screenshots go: ``RECEIPTS_ARTEFACTS_DIR`` (CI sets it) or a temporary folder."""
    configured = os.environ.get("RECEIPTS_ARTEFACTS_DIR")
    base = Path(configured) if configured else Path(tempfile.gettempdir()) / "receipts-artefacts"
    folder = base / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def demo_entity(key: str) -> Entity:
    return Entity.objects.get(ftm_id=f"receipts-demo-{key}")


def add_contract_with_yearly_records() -> Entity:
    """A contract of ICE with yearly records beside the demo, so a page shows the chart."""
    ice = demo_entity("ice")
    tie = make_tie(
        demo_entity("palantir"), "contract", ice, amount=Decimal("41000000"), currency="USD"
    )
    ContractTotals.objects.create(
        tie=tie,
        obligated_cents=4_100_000_000,
        award_count=2,
        transaction_count=9,
        first_action_date="2022-10-03",
        last_action_date="2025-06-30",
        by_fiscal_year={"2023": 1_500_000_000, "2024": 2_900_000_000, "2025": -300_000_000},
    )
    return ice


def public_paths() -> dict[str, str]:
    """Name → address of every public page the demo has, the search and browse lists included."""
    amazon, dhs = demo_entity("amazon"), demo_entity("dhs")
    report = Source.objects.get(ftm_id="receipts-demo-source-truthout-report")
    tie = Tie.objects.filter(subject=demo_entity("ring")).order_by("pk").first()
    assert tie is not None
    paths = {
        "home": "/",
        "search": "/?q=amazon",
        "campaigns": "/campaigns/",
        "campaign": f"/campaigns/{CAMPAIGN_SLUG}/",
        "campaign-brief": f"/campaigns/{CAMPAIGN_SLUG}/brief/",
        "publisher-campaign": "/campaigns/truthout-monthly-donors/",
        "join": f"/campaigns/{CAMPAIGN_SLUG}/join/{EMPLOYEE_FORM_SLUG}/",
        "flyer-link": f"/f/{FLYER_CODE}",
        "entity": amazon.get_absolute_url(),
        "entity-rollup": amazon.get_absolute_url() + "?rollup=1",
        "agency-rollup": dhs.get_absolute_url() + "?rollup=1",
        "tie": tie.get_absolute_url(),
        "agency-with-chart": add_contract_with_yearly_records().get_absolute_url(),
        "source": report.get_absolute_url(),
        "screen": "/screen/",
        "screening-profile": "/screen/profiles/dhs/",
        "login": "/accounts/login/",
        "not-found": "/entities/no-such-entity/",
    }
    # Browse lists, where the site has them.
    for name in ("entities", "sources", "search"):
        with contextlib.suppress(NoReverseMatch):
            paths[f"{name}-list"] = reverse(name)
    return paths


def screening_report(page: Page, url: str, tmp_path: Path) -> None:
    """The screening report: the upload page, then the report of a small portfolio."""
    upload = tmp_path / "portfolio.csv"
    upload.write_text(PORTFOLIO, encoding="utf-8")
    page.goto(url + "/screen/")
    page.locator("input[type=file]").set_input_files(str(upload))
    page.get_by_role("button", name="Screen", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Screening of portfolio.csv")


def overflow(page: Page) -> dict[str, Any]:
    """How far the page runs past the window, and the widest elements that make it do so."""
    return page.evaluate(
        """() => {
            const width = window.innerWidth;
            const culprits = [];
            for (const el of document.body.querySelectorAll('*')) {
                const box = el.getBoundingClientRect();
                if (box.right > width + 0.5 && culprits.length < 8) {
                    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                        + (el.className && typeof el.className === 'string'
                           ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
                    culprits.push(name + ' right=' + Math.round(box.right));
                }
            }
            return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, culprits};
        }"""
    )


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.2 AA violations on the page as it stands."""
    # Evaluated through the browser's debugging protocol, which the page's
    # Content-Security-Policy does not govern; a <script> tag would be refused.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async (tags) => await window.axe.run(document, "
        "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_AA_TAGS,
    )
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result["violations"]
    ]


def check_page(
    page: Page, name: str, width: int, problems: list[str], visit: Callable[[], None]
) -> None:
    visit()
    page.wait_for_load_state("load")
    page.screenshot(path=str(artefacts_dir() / f"{name}-{width}.png"), full_page=True)
    measured = overflow(page)
    if measured["scrollWidth"] > measured["innerWidth"]:
        problems.append(
            f"{name} at {width} px is {measured['scrollWidth']} px wide: "
            + ", ".join(measured["culprits"])
        )
    for violation in axe_violations(page):
        problems.append(f"{name} at {width} px: axe {json.dumps(violation)}")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_public_page_fits_the_screen_and_passes_axe_wcag_22_aa(
    page: Page, live_server: LiveServer, page_guard: PageGuard, tmp_path: Path, width: int
) -> None:
    load_demo()
    page.set_viewport_size({"width": width, "height": 800})
    problems: list[str] = []
    paths = public_paths()
    for name, path in paths.items():
        check_page(page, name, width, problems, lambda path=path: page.goto(live_server.url + path))
    check_page(
        page,
        "screening-report",
        width,
        problems,
        lambda: screening_report(page, live_server.url, tmp_path),
    )
    assert problems == [], "\n".join(problems)
    page_guard.assert_clean()


def test_keyboard_focus_is_visible_on_links_and_buttons(
    page: Page, live_server: LiveServer, page_guard: PageGuard
) -> None:
    load_demo()
    page.goto(live_server.url + demo_entity("amazon").get_absolute_url())
    for _ in range(6):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const el = document.activeElement;
                const style = getComputedStyle(el);
                return {tag: el.tagName, outline: style.outlineStyle,
                        width: parseFloat(style.outlineWidth), shadow: style.boxShadow};
            }"""
        )
        assert focused["tag"] != "BODY"
        visible = (focused["outline"] != "none" and focused["width"] >= 2) or (
            focused["shadow"] not in ("", "none")
        )
        assert visible, f"no visible focus indicator on {focused}"
    page_guard.assert_clean()
