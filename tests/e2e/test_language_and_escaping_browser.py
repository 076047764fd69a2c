"""In the browser: the language switch, keyboard use, and hostile input shown as text, never run."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.e2e.browser import expect, tabs
from tests.harness import running_hotline
from tickets.errors import TicketConflict
from tickets.lifecycle import Actor
from tickets.schemas import CustomerCreate, PhoneIn

pytestmark = pytest.mark.browser

EVIL_NAME = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
EVIL_NOTES = "</p><b onmouseover=alert(1)>notes</b>"
EVIL_SUBJECT = "<img src=y onerror=window.__xss=3>"


async def test_language_switch_keyboard_use_and_a_hostile_customer_shown_as_text(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        desk = hotline.container.desk
        await desk.customers.create(
            CustomerCreate(name=EVIL_NAME, notes=EVIL_NOTES, phones=[PhoneIn(number="+8613700137000")]),
            Actor("seed", "system"),
        )
        page = await people.signed_in("1002")  # Bob reads English
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.locator("#state")).to_have_text("Ready")

        # Switch to Chinese in the header: the page and the live texts follow, and it sticks.
        await page.get_by_label("Language").select_option("zh-CN")
        await page.get_by_role("button", name="Switch").click()
        await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        await expect(page.locator("#state")).to_have_text("空闲")
        await expect(page.get_by_role("button", name="就绪")).to_be_visible()
        await page.reload()
        await expect(page.locator("#state")).to_have_text("空闲")

        # Keyboard only: focus the pause button and press Enter; Space on Ready returns.
        await page.locator("#pause").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#state")).to_have_attribute("data-state", "paused")
        await page.locator("#ready").focus()
        await page.keyboard.press("Space")
        await expect(page.locator("#state")).to_have_attribute("data-state", "available")

        # The hostile customer calls: the card shows the markup as text, and nothing ran.
        await hotline.place_call("+8613700137000", talk=300)
        card = page.locator("#pop .customer")
        await expect(card.locator(".customer-name")).to_have_text(EVIL_NAME)
        await expect(card.locator(".notes")).to_have_text(EVIL_NOTES)
        assert await page.locator("#pop img, #pop script, #pop b").count() == 0
        ticket_no = int((await page.locator("#ticket-no").inner_text()).lstrip("#"))
        await page.get_by_label("主题").fill(EVIL_SUBJECT)
        await page.get_by_role("button", name="保存工单").click()
        await expect(page.locator("#ticket-status")).to_contain_text("已保存")

        # A supervisor's alert list shows the flagged ticket's subject as text too.
        # The desk bumps the version when the call is answered, which may land in between: re-read and retry.
        for attempt in range(3):
            ticket = await desk.tickets.get(ticket_no)
            try:
                await desk.tickets.flag(
                    ticket_no, EVIL_NAME, version=ticket.version, actor=Actor("seed", "system")
                )
                break
            except TicketConflict:
                if attempt == 2:
                    raise
        board = await people.signed_in("sup")
        alert = board.locator(f'#alerts li[data-ticket="{ticket_no}"]')
        await expect(alert).to_contain_text(EVIL_SUBJECT)
        await expect(alert).to_contain_text(EVIL_NAME)
        assert await board.locator("#alerts img, #alerts script").count() == 0
        for tab in (page, board):
            assert await tab.evaluate("window.__xss") is None
