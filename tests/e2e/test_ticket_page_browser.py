"""The ticket page in a real browser: the buttons each lifecycle state offers, a ticket walked
from report to close by clicking, and two agents changing the same ticket (the second is told).

Tickets are put into each state through the desk's own service (as the API would); the page
is then read as a person sees it. The expected buttons are written out here, per state.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page

from tests.e2e.browser import expect, screenshot, tabs
from tests.forms import post_form
from tests.harness import Hotline, running_hotline
from tickets.lifecycle import Actor
from tickets.schemas import (
    DepartmentCreate,
    TechnicianCreate,
    TicketCreate,
    WorkOrderCreate,
    WorkOrderReport,
)
from tickets.service import ServiceDesk

pytestmark = pytest.mark.browser

SUP = Actor("sup", "supervisor")

AGENT_BUTTONS = {
    "reported": {"accept", "cancel", "wait", "complaint", "note", "merge"},
    "accepted": {"dispatch", "resolve", "cancel", "wait", "complaint", "note", "merge"},
    "dispatched": {"dispatch", "cancel", "wait", "complaint", "note", "merge"},  # an open order: no resolve
    "resolved": {"close", "reopen", "note", "merge"},
    "reopened": {"accept", "dispatch", "resolve", "cancel", "wait", "complaint", "note", "merge"},
    "closed": {"note"},
    "cancelled": {"note"},
}


async def ticket_in(desk: ServiceDesk, state: str, *, subject: str = "电梯故障 lift stuck") -> int:
    made = await desk.tickets.create(TicketCreate(subject=subject, caller="+8613800138000"), SUP)
    tid, version = made.id, made.version
    if state == "reported":
        return tid
    if state == "cancelled":
        await desk.tickets.cancel(tid, version=version, actor=SUP)
        return tid
    version = (await desk.tickets.accept(tid, version=version, actor=SUP)).version
    if state == "dispatched":
        await desk.work_orders.dispatch(tid, WorkOrderCreate(version=version), SUP)
    if state in ("resolved", "closed", "reopened"):
        version = (await desk.tickets.resolve(tid, version=version, actor=SUP)).version
    if state == "closed":
        await desk.tickets.close(tid, version=version, actor=SUP)
    if state == "reopened":
        await desk.tickets.reopen(tid, version=version, actor=SUP)
    return tid


async def offered(page: Page) -> set[str]:
    forms = page.locator("#actions form.action")
    return {str(await forms.nth(i).get_attribute("data-action")) for i in range(await forms.count())}


async def test_each_state_offers_only_its_legal_actions_in_both_languages(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        desk = hotline.container.desk
        tickets = {state: await ticket_in(desk, state) for state in AGENT_BUTTONS}
        alice = await people.signed_in("1001")  # zh-CN
        bob = await people.signed_in("1002")  # en
        for state, tid in tickets.items():
            for page, lang in ((alice, "zh"), (bob, "en")):
                await page.goto(f"/tickets/{tid}")
                await expect(page.locator("#state")).to_have_attribute("data-state", state)
                assert await offered(page) == AGENT_BUTTONS[state], (state, lang)
                if state in ("accepted", "resolved"):
                    await screenshot(page, f"ticket-{state}-{lang}")
        await expect(alice.locator("#do-accept")).to_have_count(0)  # last: cancelled
        await alice.goto(f"/tickets/{tickets['accepted']}")
        await expect(alice.locator("#do-resolve")).to_have_text("处理完成")
        await bob.goto(f"/tickets/{tickets['accepted']}")
        await expect(bob.locator("#do-resolve")).to_have_text("Resolve")

        sup = await people.signed_in("sup")
        await sup.goto(f"/tickets/{tickets['resolved']}")
        assert await offered(sup) == {"close", "reopen", "note", "edit", "merge"}
        auditor = await people.signed_in("audit")
        await auditor.goto(f"/tickets/{tickets['accepted']}")
        assert await offered(auditor) == set()
        await expect(auditor.locator("#no-actions")).to_be_visible()


async def test_an_agent_walks_a_ticket_from_report_to_close_and_the_timeline_shows_each_step(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        desk = hotline.container.desk
        dept = await desk.work_orders.add_department(DepartmentCreate(code="maint", name="工程维修部"), SUP)
        await desk.work_orders.add_department(DepartmentCreate(code="clean", name="保洁部"), SUP)
        tech = await desk.work_orders.add_technician(
            TechnicianCreate(name="李师傅", phone="13900139000", department_id=dept.id), SUP
        )
        tid = await ticket_in(desk, "reported", subject="3 号楼电梯困人")
        page = await people.signed_in("1002")  # Bob reads English
        await page.goto(f"/tickets/{tid}")
        await page.locator("#do-accept").click()
        await expect(page.locator("#done")).to_have_text("Accepted.")
        await expect(page.locator("#state")).to_have_attribute("data-state", "accepted")

        await page.locator("#note-text").fill("客户在电梯里，已安抚 <b>calm</b>")
        await page.locator("#note-visibility").select_option("customer")
        await page.locator("#do-note").click()
        await expect(page.locator("#done")).to_have_text("Note added.")

        await page.locator("#dispatch-department").select_option(str(dept.id))
        await page.locator("#dispatch-technician").select_option(str(tech.id))
        await page.locator("#dispatch-from").fill("2026-12-02T09:00")
        await page.locator("#dispatch-until").fill("2026-12-02T11:00")
        await page.locator("#dispatch-note").fill("urgent")
        await screenshot(page, "ticket-dispatch-form-en")
        await page.locator("#do-dispatch").click()
        await expect(page.locator("#state")).to_have_attribute("data-state", "dispatched")
        await expect(page.locator("#work-orders tbody tr")).to_contain_text("李师傅")
        await expect(page.locator("#do-resolve")).to_have_count(0)  # the order is open

        [order] = await desk.work_orders.for_ticket(tid)
        await desk.work_orders.complete(order.id, WorkOrderReport(version=order.version, note="fixed"), SUP)
        await page.goto(f"/tickets/{tid}")
        await expect(page.locator("#state")).to_have_attribute("data-state", "resolved")
        await page.locator("#do-reopen").click()
        await page.locator("#resolve-code").select_option("workaround")
        await page.locator("#resolve-note").fill("reset the controller")
        await page.locator("#do-resolve").click()
        await expect(page.locator("#resolution")).to_have_text("workaround")
        await page.locator("#do-close").click()
        await expect(page.locator("#state")).to_have_attribute("data-state", "closed")
        timeline = page.locator("#timeline tbody")
        await expect(timeline).to_contain_text("<b>calm</b>")  # escaped, shown as text
        await expect(timeline.locator("tr[data-kind=transition]")).to_have_count(6)
        await expect(timeline).to_contain_text("1002")
        await screenshot(page, "ticket-closed-timeline-en")
        entries = await desk.timeline.for_ticket(tid)
        assert [e.to_state for e in entries if e.kind == "transition"] == [
            "accepted",
            "dispatched",
            "resolved",
            "reopened",
            "resolved",
            "closed",
        ]


async def test_two_agents_change_the_same_ticket_and_the_second_is_told_and_sees_the_fresh_state(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        tid = await ticket_in(hotline.container.desk, "reported")
        alice = await people.signed_in("1001")
        bob = await people.signed_in("1002")
        await alice.goto(f"/tickets/{tid}")
        await bob.goto(f"/tickets/{tid}")
        await alice.locator("#do-complaint").click()
        await expect(alice.locator("#complaint-badge")).to_be_visible()

        await bob.locator("#do-accept").click()  # Bob's page still holds the old version
        await expect(bob.locator("#message")).to_contain_text("Someone else changed this ticket")
        await expect(bob.locator("#complaint-badge")).to_be_visible()  # the fresh state
        await expect(bob.locator("#state")).to_have_attribute("data-state", "reported")
        await screenshot(bob, "ticket-conflict-en")
        await bob.locator("#do-accept").click()  # now with the fresh version
        await expect(bob.locator("#state")).to_have_attribute("data-state", "accepted")
        await alice.locator("#do-accept").click()  # Alice's page is stale now
        await expect(alice.locator("#message")).to_contain_text("其他人刚刚修改了此工单")
        await screenshot(alice, "ticket-conflict-zh")
        ticket = await hotline.container.desk.tickets.get(tid)
        assert ticket.state == "accepted" and ticket.owner_agent_id == "1002"


async def test_an_illegal_post_changes_nothing_and_says_why(database_url: str, tmp_path: Path) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        tid = await ticket_in(hotline.container.desk, "reported")
        await illegal_close(hotline, tid)


async def illegal_close(hotline: Hotline, tid: int) -> None:
    client = await hotline.sign_in("1002")
    before = await hotline.container.desk.tickets.get(tid)
    answer = await post_form(
        client, f"/tickets/{tid}/close", {"version": str(before.version)}, page=f"/tickets/{tid}"
    )
    assert answer.status_code == 409 and 'id="message"' in answer.text
    after = await hotline.container.desk.tickets.get(tid)
    assert after.version == before.version and after.state == "reported"
    await client.aclose()
