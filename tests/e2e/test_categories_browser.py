"""Categories and dispatch rules in a real browser: a supervisor adds and edits a rule (both
languages); a ticket given that category is routed and, on accept, dispatched by the rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.e2e.browser import expect, screenshot, tabs
from tests.harness import running_hotline
from tickets.lifecycle import Actor
from tickets.schemas import DepartmentCreate, TechnicianCreate, TicketCreate

pytestmark = pytest.mark.browser

SUP = Actor("sup", "supervisor")


async def test_a_supervisor_sets_a_rule_and_accepting_a_ticket_of_that_category_dispatches_it(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        desk = hotline.container.desk
        lifts = await desk.work_orders.add_department(DepartmentCreate(code="lifts", name="电梯维保组"), SUP)
        li = await desk.work_orders.add_technician(
            TechnicianCreate(name="李师傅", department_id=lifts.id), SUP
        )
        sup = await people.signed_in("sup")  # zh-CN
        await sup.goto("/desk/categories")
        await sup.locator("#new-code").fill("lift")
        await sup.locator("#new-name-zh").fill("电梯故障")
        await sup.locator("#new-name-en").fill("Lift fault")
        await sup.locator("#new-department").select_option(str(lifts.id))
        await sup.locator("#add-category").click()
        await expect(sup.locator("#saved")).to_contain_text("lift")
        row = sup.locator("#categories tr[data-code=lift]")
        await row.locator("select[name=technician_id]").select_option(str(li.id))
        await row.locator("input[name=auto_dispatch]").check()
        await sup.locator("#save-lift").click()
        await expect(sup.locator("#saved")).to_be_visible()
        await screenshot(sup, "categories-zh")

        await sup.locator("#new-code").fill("Bad Code!")  # the browser's pattern stops it; post anyway
        await sup.evaluate("document.getElementById('new-category').noValidate = true")
        await sup.locator("#add-category").click()
        await expect(sup.locator("#message")).to_contain_text(
            "请检查以下字段：代码"
        )  # the label, not the attribute

        ticket = await desk.tickets.create(TicketCreate(subject="2 号梯困人", category="lift"), SUP)
        assert ticket.department_id == lifts.id
        bob = await people.signed_in("1002")  # en
        await bob.goto(f"/tickets/{ticket.id}")
        await expect(bob.locator("#edit-category")).to_have_count(0)  # agents do not edit
        await bob.locator("#do-accept").click()
        await expect(bob.locator("#state")).to_have_attribute("data-state", "dispatched")
        await expect(bob.locator("#work-orders tbody")).to_contain_text("李师傅")

        admin = await people.signed_in("admin")
        await admin.locator("#language").select_option("en")
        await admin.locator(".lang-form button").click()
        await admin.goto("/desk/categories")
        await expect(admin.locator("h1")).to_have_text("Categories and dispatch rules")
        await screenshot(admin, "categories-en")
        agent = await people.signed_in("1001")
        await agent.goto("/desk/categories")
        await expect(agent.locator("#forbidden")).to_be_visible()
