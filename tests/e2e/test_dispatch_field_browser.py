"""In the browser: the dispatcher's board reassigns an order; the technician works it on a phone.

Screenshots of both pages in zh-CN and en land in var/screenshots/ (dispatch-*, field-*).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.browser import expect, screenshot, tabs
from tests.harness import running_hotline
from tests.ui.test_field import _dispatch_to, technicians

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 667}


async def switch_language(page: Page, language: str) -> None:
    await page.locator("#language").select_option(language)
    await page.locator(".lang-form button").click()
    await expect(page.locator("html")).to_have_attribute("lang", language)


async def test_dispatcher_reassigns_on_the_board_and_the_technician_works_the_order_on_a_phone(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        sup_api = await hotline.sign_in("sup")
        li, zhang = await technicians(sup_api)
        first = await _dispatch_to(
            sup_api, "空调不制冷", li, "天河区体育西路 191 号 中石化大厦 B 座 2301", caller="138 0013 8000"
        )
        second = await _dispatch_to(sup_api, "水管漏水", li, "越秀区中山五路 33 号")

        board = await people.signed_in("sup")
        await board.goto("/dispatch")
        await expect(board.locator(f"#bo-{first['id']}-state")).to_have_text("已派工")
        await expect(board.locator("#board-total")).to_contain_text("2")
        assert (
            await board.locator("#board").evaluate("b => parseFloat(getComputedStyle(b).rowGap) || 0") >= 12
        )
        await screenshot(board, "dispatch-zh-CN")
        await board.locator(f"#bo-{second['id']}-tech").select_option(str(zhang))
        await board.locator(f"#bo-{second['id']}-reassign").click()
        lane = board.locator(f'.lane[data-technician="{zhang}"]')
        await expect(lane.locator(f"#bo-{second['id']}")).to_be_visible()
        await switch_language(board, "en")
        await expect(board.locator(f"#bo-{first['id']}-state")).to_have_text("assigned")
        await screenshot(board, "dispatch-en")

        phone = await people.signed_in("tech", viewport=PHONE)
        await expect(phone).to_have_url(f"{hotline.base_url}/field")
        card = phone.locator(f"#wo-{first['id']}")
        await expect(card).to_contain_text("天河区体育西路")
        await expect(phone.locator(f"#wo-{second['id']}")).to_have_count(0)  # moved to Zhang
        # A work order's card keeps the card's padding inside the list (`.plain li` took it away:
        # text touched the card's edge on the phone).
        assert await card.evaluate("e => parseFloat(getComputedStyle(e).paddingLeft)") >= 12
        tel = phone.locator(f"#wo-{first['id']}-tel")
        await expect(tel).to_have_attribute("href", "tel:+8613800138000")
        await screenshot(phone, "field-zh-CN")
        await phone.locator(f"#wo-{first['id']}-accept").click()
        await expect(card).to_have_attribute("data-state", "accepted")
        await phone.locator(f"#wo-{first['id']}-on_the_way").click()
        await expect(card).to_have_attribute("data-state", "on_the_way")
        await board.reload()
        await expect(board.locator(f"#bo-{first['id']}-state")).to_have_text("on the way")
        await phone.locator(f"#wo-{first['id']}-arrive").click()
        await expect(card).to_have_attribute("data-state", "arrived")
        await switch_language(phone, "en")
        await expect(phone.locator(f"#wo-{first['id']}-state")).to_have_text("on site")
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the phone page scrolls sideways ({width} px)"
        await screenshot(phone, "field-en")
        await phone.locator(f"#wo-{first['id']}-note").fill("更换压缩机电容")
        await phone.locator(f"#wo-{first['id']}-complete").click()
        await expect(phone.locator("#field-none")).to_be_visible()
        assert (
            await phone.locator("#field-none").evaluate("e => parseFloat(getComputedStyle(e).paddingTop)")
            >= 12
        )

        ticket = (await sup_api.get(f"/api/tickets/{first['ticket_id']}")).json()
        assert ticket["state"] == "resolved"
        await sup_api.aclose()


async def test_the_customer_page_edits_and_merges_in_both_languages(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        sup_api = await hotline.sign_in("sup")
        survivor = (
            await sup_api.post(
                "/api/customers",
                json={
                    "name": "王小明",
                    "tier": "vip",
                    "address": "天河路 1 号",
                    "phones": [{"number": "13800138000"}],
                },
            )
        ).json()
        duplicate = (
            await sup_api.post(
                "/api/customers", json={"name": "王小明", "phones": [{"number": "13900139000"}]}
            )
        ).json()
        await sup_api.post(
            "/api/tickets",
            json={"subject": "空调不制冷", "customer_id": duplicate["id"], "caller": "13900139000"},
        )
        page = await people.signed_in("sup")
        await page.goto("/customers?q=王小明")
        await expect(page.locator(f'#customer-list tr[data-customer="{duplicate["id"]}"]')).to_be_visible()
        await screenshot(page, "customers-zh-CN")
        await page.goto(f"/customers/{survivor['id']}")
        await page.locator("#merge-duplicate").fill(str(duplicate["id"]))
        await page.locator("#do-merge").click()
        await expect(page.locator("#done")).to_be_visible()
        await expect(page.locator("#customer-tickets tbody tr[data-ticket]")).to_have_count(1)
        # The cards stacked in the right-hand column keep the page's gap between them (they touched).
        tickets_box = await page.locator('section[aria-labelledby="tickets-h"]').bounding_box()
        calls_box = await page.locator('section[aria-labelledby="calls-h"]').bounding_box()
        assert tickets_box and calls_box and calls_box["y"] - (tickets_box["y"] + tickets_box["height"]) >= 12
        await expect(page.locator("#cus-phones")).to_have_value("13800138000\n13900139000")
        await screenshot(page, "customer-zh-CN")
        await switch_language(page, "en")
        await page.locator("#cus-company").fill("Tianhe Property")
        await page.locator("#cus-save").click()
        await expect(page.locator("#done")).to_have_text("Saved.")
        await screenshot(page, "customer-en")
        await page.goto("/customers")
        await screenshot(page, "customers-en")
        await sup_api.aclose()
