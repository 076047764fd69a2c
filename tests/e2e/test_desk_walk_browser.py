"""The service desk end to end, in Chromium, as the people who use it:

pop → ticket → accept → dispatch to a technician → the technician's phone page (375x667) marks
on the way / arrived / done → the ticket resolves → the customer's texts reach the Twilio
stand-in → the follow-up falls due → the agent calls, records the result and a score →
closed; the ticket's timeline shows every step with who and when. The agent works in Chinese,
the technician in English; the final timeline is looked at in both.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.e2e.browser import expect, screenshot, tabs
from tests.e2e.test_dispatch_field_browser import PHONE, switch_language
from tests.harness import running_hotline
from tests.ui.desk_center import desk_callcenter, sms_settings, twilio_standin

pytestmark = pytest.mark.browser

CALLER = "+8613800138000"  # 王小明 in the sample file (lang: zh-CN by default)


async def test_a_reported_fault_is_walked_from_the_pop_to_closed_by_agent_technician_and_customer(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        standin = await stack.enter_async_context(twilio_standin())
        settings = sms_settings(standin, desk_callcenter(tmp_path))
        hotline = await stack.enter_async_context(running_hotline(database_url, tmp_path, **settings))
        people = await stack.enter_async_context(tabs(browser, hotline.base_url))
        desk = hotline.container.desk

        # 1. The call pops on the agent's console (Chinese) with its ticket.
        console = await people.signed_in("1001")
        await expect(console.locator("#state")).to_have_attribute("data-state", "available")
        await hotline.place_call(CALLER, name="王小明", talk=120)
        await expect(console.locator("#pop")).to_be_visible()
        await expect(console.locator("#ticket-no")).to_have_text(re.compile(r"#\d+"))
        ticket_id = int((await console.locator("#ticket-no").inner_text()).lstrip("#"))

        # 2. The ticket page: accept, then dispatch to 李师傅 with a window.
        ticket = await console.context.new_page()  # the same agent (cookies), a second tab
        await ticket.goto(f"/tickets/{ticket_id}")
        await expect(ticket.locator("#state")).to_have_attribute("data-state", "reported")
        await ticket.locator("#do-accept").click()
        await expect(ticket.locator("#state")).to_have_attribute("data-state", "accepted")
        departments = {d.code: d.id for d in await desk.work_orders.departments()}
        li = next(t for t in await desk.work_orders.technicians() if t.login == "tech")
        await ticket.locator("#dispatch-department").select_option(str(departments["facilities"]))
        await ticket.locator("#dispatch-technician").select_option(str(li.id))
        await ticket.locator("#dispatch-from").fill("2026-12-02T10:00")
        await ticket.locator("#dispatch-until").fill("2026-12-02T12:00")
        await ticket.locator("#dispatch-instructions").fill("带电容和冷媒")
        await ticket.locator("#do-dispatch").click()
        await expect(ticket.locator("#state")).to_have_attribute("data-state", "dispatched")

        # 3. The technician works the order on a phone, in English.
        phone = await people.signed_in("tech", viewport=PHONE)
        await switch_language(phone, "en")
        order = phone.locator(".field-order").first
        await expect(order).to_have_attribute("data-state", "assigned")
        order_id = (await order.get_attribute("id") or "").removeprefix("wo-")
        await expect(phone.locator(f"#wo-{order_id}-tel")).to_have_attribute("href", f"tel:{CALLER}")
        await phone.locator(f"#wo-{order_id}-accept").click()
        await phone.locator(f"#wo-{order_id}-on_the_way").click()
        await expect(phone.locator(f"#wo-{order_id}-state")).to_have_text("on the way")
        await phone.locator(f"#wo-{order_id}-arrive").click()
        await expect(phone.locator(f"#wo-{order_id}-state")).to_have_text("on site")
        await phone.locator(f"#wo-{order_id}-note").fill("Replaced the capacitor; cooling again.")
        await phone.locator(f"#wo-{order_id}-complete").click()
        await expect(phone.locator("#field-none")).to_be_visible()

        # 4. The ticket resolved by itself.
        await ticket.goto(f"/tickets/{ticket_id}")
        await expect(ticket.locator("#state")).to_have_attribute("data-state", "resolved")

        # 5. The customer's two texts, in Chinese, at the Twilio stand-in (the worker's tick).
        await desk.notices.tick()
        texts = standin.texts_to(CALLER)
        assert len(texts) == 2, texts
        assert "李师傅" in texts[0] and "12月2日 10:00至12:00" in texts[0]
        assert f"#{ticket_id}" in texts[1] and "回复 1-5" in texts[1]
        await desk.notices.tick()  # again: nothing twice
        assert len(standin.texts_to(CALLER)) == 2

        # 6. The follow-up is due: call the customer, record the result and a score.
        await ticket.goto("/follow-ups")
        item = ticket.locator(f'.followup[data-ticket="{ticket_id}"]')
        await expect(item).to_be_visible()
        follow_id = (await item.get_attribute("id") or "").removeprefix("fu-")
        await screenshot(ticket, "followups-zh-CN")
        await ticket.locator(f"#fu-{follow_id}-call").click()
        await expect(ticket.locator("#done")).to_contain_text("正在呼叫")
        await ticket.locator(f"#fu-{follow_id}-outcome").fill("客户确认已修好，很满意")
        await ticket.locator(f"#fu-{follow_id}-score").select_option("5")
        await ticket.locator(f"#fu-{follow_id}-record").click()
        await expect(ticket.locator("#done")).to_have_text("已记录。")
        await expect(ticket.locator(f"#fu-{follow_id}")).to_have_count(0)

        # 7. Close it; the timeline shows every step with who and when.
        await ticket.goto(f"/tickets/{ticket_id}")
        await expect(ticket.locator("#follow-ups")).to_contain_text("5")
        await ticket.locator("#do-close").click()
        await expect(ticket.locator("#state")).to_have_attribute("data-state", "closed")
        rows = ticket.locator("#timeline tbody tr")
        seen = []
        for i in range(await rows.count()):
            row = rows.nth(i)
            cells = [await c.inner_text() for c in await row.locator("td").all()]
            seen.append((await row.get_attribute("data-kind"), cells[1].strip(), cells[0].strip()))
            if cells[1].strip() == "系统自动":  # Hotline's own steps, named in Chinese (it read 'system')
                assert await row.locator("td").nth(1).get_attribute("data-actor") == "system"
        kinds = [k for k, _, _ in seen]
        for kind in ("transition", "work_order", "notification", "follow_up"):
            assert kind in kinds, (kind, kinds)
        actors = {who for _, who, _ in seen}
        assert {"1001", "tech", "系统自动"} <= actors, actors
        assert all(when for _, _, when in seen), "every step has its time"
        await screenshot(ticket, "ticket-walk-zh-CN")
        await switch_language(ticket, "en")
        await expect(ticket.locator("#state")).to_have_attribute("data-state", "closed")
        await screenshot(ticket, "ticket-walk-en")
        await ticket.goto("/follow-ups")
        await screenshot(ticket, "followups-en")
