"""No page is wider than the screen it is read on: a wide table or row of inputs scrolls inside its
card, and the header's links wrap as whole words.

Before: on a 375 px phone every list page (tickets, customers, reports, the wallboard, accounts...)
scrolled sideways, and in Chinese the header's links were squeezed to one character a line
('工单类别' read as four lines); at 1280 px the categories page pushed its cards past the header.
Screenshots land in var/screenshots/ (widths-*).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.browser import expect, screenshot, tabs
from tests.e2e.test_dispatch_field_browser import PHONE, switch_language
from tests.harness import running_hotline

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}


async def _nav_paths(page: Page) -> list[str]:
    paths: list[str] = await page.eval_on_selector_all(
        "header nav a", "links => links.map(a => a.getAttribute('href'))"
    )
    assert paths, "no header links: the walk would check nothing"
    return paths


async def _page_width(page: Page) -> int:
    width: int = await page.evaluate("document.documentElement.scrollWidth")
    return width


async def _wrapped_links(page: Page) -> list[str]:
    """Header links taller than one line of their text."""
    wrapped: list[str] = await page.eval_on_selector_all(
        "header nav a",
        """links => links.filter(a => {
            const line = parseFloat(getComputedStyle(a).lineHeight);
            return a.getBoundingClientRect().height > line * 1.5;
        }).map(a => a.innerText)""",
    )
    return wrapped


async def test_every_page_of_the_supervisors_header_fits_a_phone_in_both_languages(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        phone = await people.signed_in("sup", viewport=PHONE)
        for language in ("zh-CN", "en"):
            await switch_language(phone, language)
            for path in await _nav_paths(phone):
                await phone.goto(path)
                await expect(phone.locator("html")).to_have_attribute("lang", language)
                width = await _page_width(phone)
                assert width <= PHONE["width"], f"{path} ({language}) scrolls sideways on a phone: {width} px"
                assert await _wrapped_links(phone) == [], f"{path} ({language}): header links broken mid-word"
            await phone.goto("/tickets")
            await screenshot(phone, f"widths-tickets-phone-{language}")


async def test_the_admin_pages_fit_a_phone_and_the_categories_table_fits_a_desktop(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        phone = await people.signed_in("admin", viewport=PHONE)
        for path in ("/admin/users", "/admin/queues", "/admin/agents", "/admin/center", "/audit"):
            await phone.goto(path)
            width = await _page_width(phone)
            assert width <= PHONE["width"], f"{path} scrolls sideways on a phone: {width} px"

        desk = await people.signed_in("admin", viewport=DESKTOP)
        await switch_language(desk, "en")
        await desk.goto("/desk/categories")
        await expect(desk.locator("#categories")).to_be_visible()
        width = await _page_width(desk)
        assert width <= DESKTOP["width"], f"the categories page is wider than 1280 px: {width} px"
        await screenshot(desk, "widths-categories-en")
