"""The ticket lists in a real browser: the views' counts, search by phone as typed, by Chinese
text and by number, filters and paging, in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.e2e.browser import expect, screenshot, tabs
from tests.harness import running_hotline
from tickets.lifecycle import Actor
from tickets.schemas import CustomerCreate, PhoneIn, TicketCreate

pytestmark = pytest.mark.browser

SUP = Actor("sup", "supervisor")
ALICE = Actor("1001", "agent")


async def test_views_count_and_search_finds_by_phone_text_and_number(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        desk = hotline.container.desk
        zhao = await desk.customers.create(
            CustomerCreate(name="赵六", phones=[PhoneIn(number="139 1234 5678")]), SUP
        )
        lift = await desk.tickets.create(
            TicketCreate(subject="电梯困人 <i>urgent</i>", customer_id=zhao.id, queue="support"), ALICE
        )
        await desk.tickets.accept(lift.id, version=lift.version, actor=ALICE)
        for n in range(30):
            await desk.tickets.create(TicketCreate(subject=f"停车场照明 lamp {n}", queue="billing"), SUP)

        alice = await people.signed_in("1001")  # zh-CN
        await alice.goto("/tickets")
        await expect(alice.locator("#view-mine")).to_have_attribute("aria-current", "page")
        await expect(alice.locator("[data-count=mine]")).to_have_text("1")
        await expect(alice.locator("[data-count=unassigned]")).to_have_text("30")
        await expect(alice.locator("#ticket-list tbody tr")).to_have_count(1)
        await expect(alice.locator("#ticket-list")).to_contain_text("<i>urgent</i>")  # escaped
        await screenshot(alice, "tickets-mine-zh")

        await alice.locator("#view-all").click()
        await expect(alice.locator("#total")).to_have_text("31")
        await expect(alice.locator("#ticket-list tbody tr")).to_have_count(25)
        await alice.locator("#next").click()
        await expect(alice.locator("#ticket-list tbody tr")).to_have_count(6)

        for typed in ("139-1234-5678", "+86 139 1234 5678", "赵六", "电梯困", f"#{lift.id}"):
            await alice.locator("#search").fill(typed)
            await alice.locator("#apply").click()
            await expect(alice.locator("#ticket-list tbody tr")).to_have_count(1)
            await expect(alice.locator("#ticket-list tbody tr")).to_have_attribute(
                "data-ticket-id", str(lift.id)
            )
        await alice.locator("#search").fill("照明 lamp 1")
        await alice.locator("#filter-state").select_option("reported")
        await alice.locator("#apply").click()
        await expect(alice.locator("#total")).to_have_text("11")  # lamp 1, 10..19
        await screenshot(alice, "tickets-search-zh")
        await alice.locator("#ticket-list tbody tr a").first.click()
        await expect(alice.locator("#state")).to_have_attribute("data-state", "reported")

        bob = await people.signed_in("1002")  # en
        await bob.goto("/tickets?view=all&q=lamp&sort=oldest")
        await expect(bob.locator("#list-h")).to_contain_text("All")
        first = bob.locator("#ticket-list tbody tr").first
        await expect(first).to_contain_text("lamp 0")
        await screenshot(bob, "tickets-all-en")
        await bob.goto("/tickets?view=nonsense&page=-3&priority=zzz&from=yesterday")
        await expect(bob.locator("#total")).to_be_visible()  # bad values are ignored, not a 500
