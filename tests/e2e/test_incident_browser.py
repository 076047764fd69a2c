"""Incidents and ticket merge in Chromium, as supervisors and agents use them.

Incident: a supervisor declares a power cut for 阳光花园 on the incidents page (Chinese); an
affected customer calls: the agent's pop says it is known with the expected time, the ticket is
a child of the incident with no dispatch offered, the wallboard lists the incident with its call;
the supervisor (now in English) resolves it: the child is resolved, the caller gets one text.

Merge: two tickets of one leak; from the first one's page it is merged into the second, which
now carries its call and note; both timelines say so, in Chinese and in English.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.e2e.browser import expect, screenshot, tabs
from tests.e2e.test_dispatch_field_browser import switch_language
from tests.harness import running_hotline
from tests.ui.desk_center import desk_callcenter, sms_settings, texts_sent, twilio_standin
from tickets.categories import CategoryIn
from tickets.lifecycle import Actor
from tickets.schemas import CustomerCreate, DepartmentCreate, PhoneIn, TicketCreate

pytestmark = pytest.mark.browser

SUPERVISOR = Actor("sup", "supervisor")
AGENT = Actor("1001", "agent")
CALLER = "+8613911112222"


async def test_a_supervisor_declares_an_outage_the_pop_says_it_is_known_and_resolving_texts_the_caller(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        standin = await stack.enter_async_context(twilio_standin())
        settings = sms_settings(standin, desk_callcenter(tmp_path))
        hotline = await stack.enter_async_context(running_hotline(database_url, tmp_path, **settings))
        people = await stack.enter_async_context(tabs(browser, hotline.base_url))
        desk = hotline.container.desk
        dept = await desk.work_orders.add_department(
            DepartmentCreate(code="power", name="供电组"), SUPERVISOR
        )
        rule = CategoryIn(
            code="power", name_zh="停电", name_en="Power cut", department_id=dept.id, auto_dispatch=True
        )
        await desk.categories.save(rule, SUPERVISOR)
        customer = CustomerCreate(name="赵住户", phones=[PhoneIn(number=CALLER)], address="阳光花园 5栋 301")
        await desk.customers.create(customer, SUPERVISOR)

        # 1. The supervisor declares it (Chinese); a declaration without whom is refused, naming it.
        sup = await people.signed_in("sup")
        await sup.goto("/incidents")
        await expect(sup.locator("html")).to_have_attribute("lang", "zh-CN")
        await sup.locator("#inc-category").select_option("power")
        await sup.locator("#inc-zh").fill("阳光花园停电")
        await sup.locator("#inc-en").fill("a power cut at Sunshine Garden")
        await sup.locator("#do-declare").click()
        await expect(sup.locator("#message")).to_contain_text("客户分组")  # the label, not the attribute
        await sup.locator("#inc-area").fill("阳光花园")
        await sup.locator("#inc-expected").fill("2030-06-01T18:30")
        await screenshot(sup, "incident-declare-zh-CN")
        await sup.locator("#do-declare").click()
        await expect(sup.locator("#done")).to_contain_text("已发布")
        await expect(sup.locator("#inc-who")).to_contain_text("1 位客户")
        await expect(sup.locator("#inc-category-name")).to_have_text("停电")  # its name, not the code
        incident_id = int(await sup.locator("#incident").get_attribute("data-incident-id") or 0)

        # 2. The affected customer calls: the pop says it is known, with the expected time.
        console = await people.signed_in("1001")
        await expect(console.locator("#state")).to_have_attribute("data-state", "available")
        await hotline.place_call(CALLER, name="赵住户", talk=120)
        await expect(console.locator("#pop")).to_be_visible()
        await expect(console.locator("#pop-incident")).to_be_visible()
        await expect(console.locator("#pop-incident")).to_contain_text("已知故障事件")
        await expect(console.locator("#pop-incident")).to_contain_text("6月1日 18:30")
        await screenshot(console, "incident-pop-zh-CN")
        await expect(console.locator("#ticket-no")).to_have_text(re.compile(r"#\d+"))
        ticket_id = int((await console.locator("#ticket-no").inner_text()).lstrip("#"))

        # 3. Its ticket is a child: accepting it dispatches nothing, and no dispatch is offered.
        ticket = await console.context.new_page()
        await ticket.goto(f"/tickets/{ticket_id}")
        await expect(ticket.locator("#incident-link")).to_contain_text(f"#{incident_id}")
        await ticket.locator("#do-accept").click()
        await expect(ticket.locator("#state")).to_have_attribute("data-state", "accepted")
        await expect(ticket.locator("#act-dispatch")).to_have_count(0)
        assert await desk.work_orders.for_ticket(ticket_id) == []
        await screenshot(ticket, "incident-child-ticket-zh-CN")

        # 4. The wallboard lists the open incident with its call.
        await sup.goto("/supervisor")
        row = sup.locator(f'#incidents tr[data-incident="{incident_id}"]')
        await expect(row).to_be_visible(timeout=10_000)
        await expect(row.locator(".calls")).to_have_text("1")
        await screenshot(sup, "incident-wallboard-zh-CN")

        # 5. Resolved by the supervisor, now in English: the child resolves, the caller gets one text.
        await switch_language(sup, "en")
        await sup.goto("/incidents")
        open_row = sup.locator(f'tr[data-incident="{incident_id}"]').first
        await expect(open_row.locator(".badge")).to_have_text("Power cut")
        await sup.goto(f"/incidents/{incident_id}")
        await expect(sup.locator("#inc-expected")).to_contain_text("18:30")
        await expect(sup.locator("#inc-category-name")).to_have_text("Power cut")
        await screenshot(sup, "incident-open-en")
        await sup.locator("#resolve-note").fill("Power is back")
        await sup.locator("#do-resolve").click()
        await expect(sup.locator("#done")).to_contain_text("Resolved")
        await expect(sup.locator("#inc-state")).to_have_attribute("data-state", "resolved")
        await expect(sup.locator(f'#children tr[data-ticket="{ticket_id}"]')).to_have_attribute(
            "data-state", "resolved"
        )
        await screenshot(sup, "incident-resolved-en")
        await texts_sent(desk)
        texts = standin.texts_to(CALLER)
        assert len(texts) == 1 and "阳光花园停电已恢复" in texts[0], texts
        await sup.goto("/incidents")
        await expect(sup.locator(f'#past-incidents tr[data-incident="{incident_id}"]')).to_be_visible()
        await screenshot(sup, "incidents-list-en")
        await switch_language(sup, "zh-CN")
        await sup.goto(f"/incidents/{incident_id}")
        await screenshot(sup, "incident-resolved-zh-CN")


async def test_two_tickets_of_one_leak_are_merged_from_the_ticket_page(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        desk = hotline.container.desk
        first = await desk.tickets.create(TicketCreate(subject="楼道漏水 leak on floor 3"), AGENT)
        await desk.tickets.add_note(first.id, "三楼楼梯口 at the stairs", AGENT)
        second = await desk.tickets.create(TicketCreate(subject="三楼渗水 water on floor 3"), AGENT)

        page = await people.signed_in("1001")
        await page.goto(f"/tickets/{first.id}")
        await expect(page.locator("#act-merge")).to_be_visible()
        await page.locator("#merge-into").fill(str(second.id))
        await page.locator("#merge-note").fill("同一处漏水")
        await screenshot(page, "ticket-merge-form-zh-CN")
        await page.locator("#do-merge").click()
        await expect(page).to_have_url(re.compile(rf"/tickets/{second.id}\?done=merge"))
        await expect(page.locator("#done")).to_contain_text("已合并")
        timeline = page.locator("#timeline")
        await expect(timeline.locator('tr[data-kind="merge"]')).to_contain_text(f"ticket {first.id}")
        await expect(timeline.locator('tr[data-kind="note"]')).to_contain_text("三楼楼梯口 at the stairs")
        await screenshot(page, "ticket-merge-survivor-zh-CN")

        await page.goto(f"/tickets/{first.id}")
        await expect(page.locator("#state")).to_have_attribute("data-state", "merged")
        await expect(page.locator("#merged-into")).to_contain_text(f"#{second.id}")
        await expect(page.locator("#act-merge")).to_have_count(0)
        await expect(page.locator("#do-accept")).to_have_count(0)
        await screenshot(page, "ticket-merged-zh-CN")
        await switch_language(page, "en")
        await page.goto(f"/tickets/{first.id}")
        await expect(page.locator("#merged-into")).to_contain_text("Merged into ticket")
        await expect(page.locator("#timeline")).to_contain_text("merged into ticket")
        await screenshot(page, "ticket-merged-en")
        await page.goto(f"/tickets/{second.id}")
        await screenshot(page, "ticket-merge-survivor-en")

        # a merge into a ticket that does not exist is refused on the page, and nothing moved
        third = await desk.tickets.create(TicketCreate(subject="another"), AGENT)
        await page.goto(f"/tickets/{third.id}")
        await page.locator("#merge-into").fill("999999")
        await page.locator("#do-merge").click()
        await expect(page.locator("#message")).to_be_visible()
        assert (await desk.tickets.get(third.id)).state.value == "reported"
