"""In the browser, the loop of issue #20: a technician refuses with a reason → the dispatcher
reassigns → refused again → arbitration → the supervisor decides → done → the follow-up says
"not fixed" → reopened to the same department → fixed → the follow-up confirms → closed; the
ticket's timeline and the responsibility figures show each step.

Screenshots in zh-CN and en land in var/screenshots/ (bounce-*).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page

from tests.e2e.browser import expect, screenshot, tabs
from tests.e2e.test_dispatch_field_browser import PHONE, switch_language
from tests.harness import running_hotline
from tests.ui.desk_center import desk_callcenter

pytestmark = pytest.mark.browser


async def _ids(sup: httpx.AsyncClient) -> dict[str, int]:
    techs = {t["name"]: t for t in (await sup.get("/api/technicians")).json()}
    return {"li": techs["李师傅 Li"]["id"], "zhang": techs["张师傅 Zhang"]["id"]}


async def _refuse_on_phone(phone: Page, order_id: int, reason: str, note: str) -> None:
    await phone.locator(f"#wo-{order_id}-refuse-open").click()
    await phone.locator(f"#wo-{order_id}-reason").select_option(reason)
    await phone.locator(f"#wo-{order_id}-refuse-note").fill(note)
    await phone.locator(f"#wo-{order_id}-refuse").click()


async def _follow_up(page: Page, ticket_id: int, fixed: str, outcome: str) -> None:
    await page.goto("/follow-ups")
    card = page.locator(f'.followup[data-ticket="{ticket_id}"]')
    await expect(card).to_be_visible()
    await card.locator("textarea[name=outcome]").fill(outcome)
    await card.locator("select[name=fixed]").select_option(fixed)
    await card.locator("button[type=submit][id$=-record]").click()
    await expect(page.locator("#done")).to_be_visible()


async def test_refuse_arbitrate_reopen_and_confirm_walk_through_the_desk_pages(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    center = desk_callcenter(tmp_path, confirm_categories=["*"], notifications={"sms": False})
    async with (
        running_hotline(database_url, tmp_path, callcenter_file=center) as hotline,
        tabs(browser, hotline.base_url) as people,
    ):
        sup_api = await hotline.sign_in("sup")
        ids = await _ids(sup_api)
        ticket = (
            await sup_api.post("/api/tickets", json={"subject": "楼道灯不亮", "caller": "13800138000"})
        ).json()
        ticket = (await sup_api.post(f"/api/tickets/{ticket['id']}/accept", json={"version": 1})).json()
        order = (
            await sup_api.post(
                f"/api/tickets/{ticket['id']}/work-orders",
                json={
                    "version": ticket["version"],
                    "technician_id": ids["li"],
                    "site_address": "3 栋 2 单元",
                },
            )
        ).json()
        oid, tid = order["id"], ticket["id"]

        # 1. Li refuses on his phone: without a note it is refused naming what is missing
        li = await people.signed_in("tech", viewport=PHONE)
        await li.locator(f"#wo-{oid}-refuse-open").click()
        await li.locator(f"#wo-{oid}-reason").select_option("not_ours")
        await screenshot(li, "bounce-field-refuse-zh-CN")
        await li.locator(f"#wo-{oid}-refuse").click()
        await expect(li.locator("#field-error")).to_contain_text("说明")
        await _refuse_on_phone(li, oid, "not_ours", "灯具属于空调组管的新风区")
        await expect(li.locator("#field-done")).to_be_visible()
        await expect(li.locator(f"#wo-{oid}")).to_have_count(0)

        # 2. the dispatcher sees it returned, with who and why, and gives it to Zhang (air con)
        board = await people.signed_in("sup")
        await board.goto("/dispatch")
        returned = board.locator(f"#returned #bo-{oid}")
        await expect(returned).to_have_attribute("data-state", "returned")
        await expect(board.locator(f"#bo-{oid}-refusals")).to_contain_text("非本部门职责")
        await expect(board.locator(f"#bo-{oid}-refusals")).to_contain_text("灯具属于空调组管的新风区")
        await screenshot(board, "bounce-dispatch-returned-zh-CN")
        await board.locator(f"#bo-{oid}-tech").select_option(str(ids["zhang"]))
        await board.locator(f"#bo-{oid}-reassign").click()
        await expect(board.locator(f'.lane[data-technician="{ids["zhang"]}"] #bo-{oid}')).to_be_visible()

        # 3. Zhang refuses too: the second refusal goes to arbitration
        zhang = await people.signed_in("tech2", viewport=PHONE)
        await switch_language(zhang, "en")
        await zhang.locator(f"#wo-{oid}-refuse-open").click()
        await expect(zhang.locator(f"#wo-{oid}-reason")).to_contain_text("Needs parts first")
        await screenshot(zhang, "bounce-field-refuse-en")
        await zhang.reload()
        await _refuse_on_phone(zhang, oid, "needs_parts", "No ballast in stock")
        await expect(zhang.locator("#field-done")).to_have_text(
            "The order went back to the dispatcher with your reason."
        )
        await board.goto("/dispatch")
        await expect(board.locator(f"#bo-{oid}")).to_have_attribute("data-state", "arbitration")
        await expect(board.locator(f"#bo-{oid}-arbitration")).to_be_visible()
        await switch_language(board, "en")
        await expect(board.locator(f"#bo-{oid}-state")).to_have_text("in arbitration")
        await screenshot(board, "bounce-dispatch-arbitration-en")

        # 4. the supervisor decides on the arbitration page: Li does it, final
        await board.goto("/arbitration")
        card = board.locator(f"#arb-{oid}")
        await expect(card.locator(f"#arb-{oid}-refusals li")).to_have_count(2)
        await expect(card).to_contain_text("Needs parts first")
        await screenshot(board, "bounce-arbitration-en")
        await switch_language(board, "zh-CN")
        await expect(card).to_contain_text("需先备件")
        await screenshot(board, "bounce-arbitration-zh-CN")
        await board.locator(f"#arb-{oid}-tech").select_option(str(ids["li"]))
        await board.locator(f"#arb-{oid}-decide").click()
        await expect(board.locator("#arb-error")).to_contain_text("裁定说明")  # a decision needs a note
        await board.locator(f"#arb-{oid}-tech").select_option(str(ids["li"]))
        await board.locator(f"#arb-{oid}-note").fill("公共照明属维修部；先用库存镇流器")
        await board.locator(f"#arb-{oid}-decide").click()
        await expect(board.locator("#arb-done")).to_be_visible()
        await expect(board.locator("#arb-none")).to_be_visible()
        auditor = await hotline.sign_in("audit")
        audit = (await auditor.get("/api/audit/entries", params={"action": "work_order.arbitrate"})).json()
        assert any("公共照明属维修部" in str(e) for e in audit), audit
        await auditor.aclose()

        # 5. Li gets it back, final (no refusal offered), and does it
        await li.goto("/field")
        await expect(li.locator(f"#wo-{oid}-final")).to_be_visible()
        await expect(li.locator(f"#wo-{oid}-refuse-open")).to_have_count(0)
        await screenshot(li, "bounce-field-final-zh-CN")
        await li.locator(f"#wo-{oid}-accept").click()
        await li.locator(f"#wo-{oid}-note").fill("换镇流器")
        await li.locator(f"#wo-{oid}-complete").click()
        await expect(li.locator("#field-none")).to_be_visible()
        assert (await sup_api.get(f"/api/tickets/{tid}")).json()["state"] == "resolved"

        # 6. the follow-up says "not fixed": reopened, back to the same department (Li)
        await switch_language(board, "zh-CN")
        await _follow_up(board, tid, "no", "晚上又不亮了")
        reopened = (await sup_api.get(f"/api/tickets/{tid}")).json()
        assert reopened["state"] == "dispatched"
        orders = (await sup_api.get(f"/api/tickets/{tid}/work-orders")).json()
        assert [o["technician_id"] for o in orders] == [ids["li"], ids["li"]]
        again = orders[1]["id"]
        await li.goto("/field")
        await li.locator(f"#wo-{again}-complete").click()
        await expect(li.locator("#field-none")).to_be_visible()

        # 7. a resolved ticket of a verified category cannot be closed by hand; the follow-up closes it
        resolved = (await sup_api.get(f"/api/tickets/{tid}")).json()
        refused = await sup_api.post(f"/api/tickets/{tid}/close", json={"version": resolved["version"]})
        assert refused.status_code == 409 and refused.json()["error_id"] == "confirmation_required"
        await _follow_up(board, tid, "yes", "好了，谢谢")
        assert (await sup_api.get(f"/api/tickets/{tid}")).json()["state"] == "closed"

        # 8. the timeline shows each step, in both languages
        await board.goto(f"/tickets/{tid}")
        timeline = board.locator("#timeline")
        for text in (
            "被退单 — 非本部门职责",
            "被退单 — 需先备件",
            "进入主管仲裁",
            "已裁定（最终）",
            "退回原部门",
        ):
            await expect(timeline).to_contain_text(text)
        await screenshot(board, "bounce-ticket-zh-CN")
        await switch_language(board, "en")
        await expect(timeline).to_contain_text("refused — Needs parts first: No ballast in stock")
        await expect(timeline).to_contain_text("not fixed, back to the same department")
        await screenshot(board, "bounce-ticket-en")

        # 9. the department figures show it: received, refused by reason, arbitrated, reopened
        await board.goto("/responsibility")
        facilities = board.locator('#rsp-departments tr[data-name="维修部 Maintenance"]')
        aircon = board.locator('#rsp-departments tr[data-name="空调组 Air conditioning"]')
        await expect(facilities.locator(".received")).to_have_text("2")
        await expect(facilities.locator(".reason-not_ours")).to_have_text("1")
        await expect(facilities.locator(".arbitrated")).to_have_text("1")
        await expect(facilities.locator(".reopened")).to_have_text("1")
        await expect(facilities.locator(".completed")).to_have_text("2")
        await expect(facilities.locator(".ftr")).to_have_text("0.0%")
        await expect(aircon.locator(".reason-needs_parts")).to_have_text("1")
        await expect(aircon.locator(".bounced")).to_have_text("1")
        await screenshot(board, "bounce-responsibility-en")
        await switch_language(board, "zh-CN")
        await expect(board.locator("#rsp-departments")).to_contain_text("一次办结率")
        await screenshot(board, "bounce-responsibility-zh-CN")
        reply = await sup_api.get("/responsibility.csv")
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(reply.text.lstrip("\ufeff"))))
        by_name = {r[1]: r for r in rows[1:]}
        assert by_name["维修部 Maintenance"][2] == "2" and "李师傅 Li" in by_name
        await sup_api.aclose()
