"""The README's "Running it for real", walked in a browser: no demo data, no account but the first
admin that `hotline db upgrade` makes. The admin signs in, creates an agent and a supervisor, sets a
queue's hours; the agent signs in and takes a call from the simulated PBX. Every admin page is
photographed in zh-CN and en."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from playwright.async_api import Browser, Page

from config.settings import SAMPLE_CALLCENTER
from cti.simulator import AgentBehaviour
from tests.e2e.browser import Tabs, expect, screenshot, tabs
from tests.harness import running_hotline

pytestmark = pytest.mark.browser


def empty_center(tmp_path: Path) -> Path:
    """A real center's first file: its queues, nobody yet."""
    sample = yaml.safe_load(SAMPLE_CALLCENTER.read_text(encoding="utf-8"))
    center = {"queues": sample["queues"], "timezone": "Asia/Shanghai"}
    path = tmp_path / "callcenter.yaml"
    path.write_text(yaml.safe_dump(center, allow_unicode=True), encoding="utf-8")
    return path


async def switch_language(page: Page, language: str) -> None:
    await page.locator("#language").select_option(language)
    await page.locator(".lang-form button").click()
    await page.wait_for_load_state("domcontentloaded")


async def first_sign_in(t: Tabs, base_url: str, login: str, once: str, own: str) -> Page:
    page = await t.signed_in(login, once)
    await expect(page).to_have_url(f"{base_url}/account/password")
    await page.locator("#current").fill(once)
    await page.locator("#new").fill(own)
    await page.locator("#again").fill(own)
    await page.locator("#change-password").click()
    await page.wait_for_load_state("domcontentloaded")
    return page


async def issued(page: Page) -> str:
    await expect(page.locator("#issued-password")).to_be_visible()
    return (await page.locator("#issued-password").text_content() or "").strip()


async def test_a_fresh_install_reaches_a_working_center_in_the_browser(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    async with (
        running_hotline(
            database_url, tmp_path, seed=False, callcenter_file=empty_center(tmp_path),
            agents={"2001": AgentBehaviour(ring_s=2)},
        ) as hotline,
        tabs(browser, hotline.base_url) as t,
    ):  # fmt: skip
        made = await hotline.container.accounts.ensure_first_admin(None)  # what `hotline db upgrade` does
        assert made is not None and made[1] is not None
        admin = await first_sign_in(t, hotline.base_url, "admin", made[1], "the admin's own passphrase")
        await expect(admin).to_have_url(f"{hotline.base_url}/supervisor")

        # An agent: in the call center (queues, skills) and an account of the same login.
        await admin.goto("/admin/agents")
        new = admin.locator("#new-agent")
        await new.get_by_label("坐席工号").fill("2001")
        await new.get_by_label("姓名").fill("王芳 Wang Fang")
        await new.get_by_label("队列（队列:优先级）").fill("support:0")
        await new.get_by_label("技能（技能:熟练度）").fill("network:70")
        await new.get_by_role("button", name="新增坐席").click()
        await expect(admin.locator("#admin-saved")).to_contain_text("2001")
        await expect(admin.locator('.agent-admin[data-agent="2001"]')).to_be_visible()
        await screenshot(admin, "admin-agents-zh-CN")
        await admin.goto("/admin/users")
        await admin.locator("#new-login").fill("2001")
        await admin.locator("#new-name").fill("王芳 Wang Fang")
        await admin.locator("#new-role").select_option("agent")
        await admin.locator("#create-submit").click()
        agent_once = await issued(admin)
        await admin.locator("#new-login").fill("lead")
        await admin.locator("#new-name").fill("刘班长 Lead Liu")
        await admin.locator("#new-role").select_option("supervisor")
        await admin.locator("#create-submit").click()
        lead_once = await issued(admin)

        # The supervisor watches support; support keeps opening hours (open now, all week).
        await admin.goto("/admin/center")
        row = admin.locator('#supervisors tr[data-login="lead"]')
        await row.get_by_label("support").check()
        await row.get_by_role("button", name="保存").click()
        await expect(admin.locator("#admin-saved")).to_contain_text("lead")
        await screenshot(admin, "admin-center-zh-CN")
        await admin.goto("/admin/queues")
        support = admin.locator('.queue-admin[data-queue="support"]')
        await support.get_by_label("营业时间").fill("mon-sun: 00:00-24:00")
        await support.get_by_label("节假日（不营业）").fill("2099-01-01")
        await support.get_by_role("button", name="保存").click()
        await expect(admin.locator("#admin-saved")).to_contain_text("support")
        await screenshot(admin, "admin-queues-zh-CN")
        queue = next(q for q in hotline.container.router.config.queues if q.name == "support")
        assert queue.hours is not None and "2099-01-01" in queue.hours.holidays  # in force, no restart
        assert hotline.container.callcenter.supervised_queues("lead") == frozenset({"support"})

        await switch_language(admin, "en")
        for path, name in (
            ("/admin/queues", "queues"),
            ("/admin/agents", "agents"),
            ("/admin/center", "center"),
        ):
            await admin.goto(path)
            await screenshot(admin, f"admin-{name}-en")

        # The supervisor and the agent sign in with their one-time passwords and choose their own.
        lead = await first_sign_in(t, hotline.base_url, "lead", lead_once, "the lead's own passphrase")
        await expect(lead).to_have_url(f"{hotline.base_url}/supervisor")
        agent = await first_sign_in(t, hotline.base_url, "2001", agent_once, "wang fang's passphrase")
        await expect(agent).to_have_url(f"{hotline.base_url}/agent")
        await expect(agent.locator("#state")).to_have_attribute("data-state", "available")
        await expect(lead.locator('#agents tr[data-agent="2001"]')).to_have_attribute(
            "data-state", "available"
        )

        await hotline.place_call("+8613800138000", name="王小明", talk=600)
        await expect(agent.locator("#pop-caller")).to_contain_text("+8613800138000")
        await expect(agent.locator("#pop")).to_have_attribute("data-status", "answered", timeout=10_000)
        await expect(lead.locator('#agents tr[data-agent="2001"]')).to_have_attribute("data-state", "on_call")
        await screenshot(agent, "fresh-install-agent-call")
