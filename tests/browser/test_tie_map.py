"""The tie map in a real browser: dragged, zoomed by wheel, buttons and a two-finger pinch.

The script is served by the site (``static/web/tiemap.js``); the guard of
``conftest.py`` fails the test on any request elsewhere or any CSP report.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from receipts.demo import load_demo
from tests.browser.conftest import PageGuard

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def view_box(page: Page) -> list[float]:
    value = page.locator("svg.tiemap").get_attribute("viewBox")
    assert value is not None
    return [float(v) for v in value.split()]


def test_tie_map_is_dragged_and_zoomed_with_a_mouse_and_its_buttons(
    page: Page, live_server: LiveServer, page_guard: PageGuard
) -> None:
    load_demo()
    page.goto(live_server.url + "/entities/amazon/?rollup=1")
    svg = page.locator("svg.tiemap.pannable")
    expect(svg).to_be_visible()
    home = view_box(page)

    # The map sits below the entity's header: bring it on screen, and hold it at a
    # point inside both the map and the window.
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + min(box["height"] / 2, 150)
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 60, cy + 30, steps=6)
    page.mouse.up()
    dragged = view_box(page)
    assert dragged[0] < home[0] and dragged[1] < home[1], "dragging right and down moves the view"
    assert dragged[2:] == home[2:]

    page.mouse.wheel(0, -300)
    expect(svg).not_to_have_attribute("data-scale", "1.000")
    assert view_box(page)[2] < home[2], "scrolling up zooms in"

    page.get_by_role("button", name="Reset").click()
    assert view_box(page) == home
    page.get_by_role("button", name="Zoom in").click()
    assert view_box(page)[2] == pytest.approx(home[2] / 1.5, rel=0.01)
    page.get_by_role("button", name="Zoom out").click()
    assert view_box(page)[2] == pytest.approx(home[2], rel=0.01)

    # From the keyboard: the map takes focus, arrows move it, + zooms, 0 shows it whole.
    svg.focus()
    before = view_box(page)
    page.keyboard.press("ArrowRight")
    assert view_box(page)[0] > before[0]
    page.keyboard.press("+")
    assert view_box(page)[2] == pytest.approx(before[2] / 1.5, rel=0.01)
    page.keyboard.press("0")
    assert view_box(page) == home
    page_guard.assert_clean()


def test_tie_map_pinches_on_a_phone(browser: Browser, live_server: LiveServer) -> None:
    load_demo()
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    try:
        page.goto(live_server.url + "/entities/amazon/?rollup=1")
        svg = page.locator("svg.tiemap.pannable")
        expect(svg).to_be_visible()
        home = view_box(page)
        # Two fingers moving apart, as touch pointers.
        page.evaluate(
            """() => {
                const svg = document.querySelector('svg.tiemap');
                const r = svg.getBoundingClientRect();
                const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
                const fire = (type, id, x) => svg.dispatchEvent(new PointerEvent(type, {
                    pointerId: id, pointerType: 'touch', isPrimary: id === 1,
                    clientX: x, clientY: cy, bubbles: true, cancelable: true}));
                fire('pointerdown', 1, cx - 20); fire('pointerdown', 2, cx + 20);
                for (let d = 25; d <= 80; d += 5) {
                    fire('pointermove', 1, cx - d); fire('pointermove', 2, cx + d);
                }
                fire('pointerup', 1, cx - 80); fire('pointerup', 2, cx + 80);
            }"""
        )
        zoomed = view_box(page)
        assert zoomed[2] == pytest.approx(home[2] / 4, rel=0.05), "fingers 4x apart zoom in 4x"
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360
    finally:
        context.close()
