"""Wrap-up is the agent's decision: past the queue's maximum the supervisor sees the agent overdue,
nothing the agent typed is lost, and no call is offered until they press Done."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from playwright.async_api import Browser
from sqlmodel import col, select

from config.settings import SAMPLE_CALLCENTER
from routing.agent_state import AgentState
from tests.e2e.browser import expect, screenshot, tabs
from tests.harness import running_hotline
from tickets.models import TicketEvent

pytestmark = pytest.mark.browser


def short_wrapup_center(tmp_path: Path, seconds: float) -> Path:
    center = yaml.safe_load(SAMPLE_CALLCENTER.read_text(encoding="utf-8"))
    for queue in center["queues"]:
        queue["wrapup_s"] = seconds  # wrapup_ends: agent is the default
    path = tmp_path / "callcenter.yaml"
    path.write_text(yaml.safe_dump(center, allow_unicode=True), encoding="utf-8")
    return path


async def test_an_agent_typing_past_the_maximum_loses_nothing_and_gets_no_call_until_done(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    center = short_wrapup_center(tmp_path, 1)
    async with (
        running_hotline(database_url, tmp_path, callcenter_file=center) as hotline,
        tabs(browser, hotline.base_url) as people,
    ):
        router = hotline.container.router
        board = await people.signed_in("sup")
        row = board.locator('#agents tr[data-agent="1001"]')
        agent = await people.signed_in("1001")
        await expect(agent.locator("#state")).to_have_attribute("data-state", "available")

        await hotline.place_call("+8613800138000", name="王小明", talk=600)
        await expect(agent.locator("#pop")).to_have_attribute("data-status", "answered")
        first_call = await agent.locator("#pop").get_attribute("data-call-id")
        await agent.get_by_role("button", name="挂断").click()
        await expect(agent.locator("#state")).to_have_attribute("data-state", "wrap_up")
        await agent.get_by_label("小结代码").select_option("follow_up")
        await agent.get_by_label("小结备注").fill("客户说明天上午")

        # Past the 1 s maximum: overdue on the wallboard, still in wrap-up, the form as typed.
        await expect(row).to_have_attribute("data-overdue", "true", timeout=10_000)
        await expect(row).to_contain_text("话后处理超时")
        assert router.agent_state("1001") is AgentState.WRAP_UP
        await screenshot(board, "supervisor-wrapup-overdue-zh-CN")

        # A second caller waits: nobody is offered it while 1001 is still writing.
        await hotline.place_call("+8613900139000", name="李四", talk=600)
        support = board.locator('.queue[data-queue="support"]')
        await expect(support.locator('[data-k="waiting"]')).to_contain_text("1", timeout=5000)
        await agent.reload()  # a reload keeps the wrap-up and what was typed
        await expect(agent.locator("#state")).to_have_attribute("data-state", "wrap_up")
        await expect(agent.get_by_label("小结备注")).to_have_value("客户说明天上午")
        await agent.get_by_label("小结备注").fill("客户说明天上午再打来")
        assert router.agent_state("1001") is AgentState.WRAP_UP
        assert (await agent.locator("#pop").get_attribute("data-call-id")) == first_call
        await screenshot(agent, "agent-wrapup-zh-CN")

        await agent.get_by_role("button", name="完成", exact=True).click()
        await expect(agent.locator("#pop-caller")).to_contain_text("+8613900139000")  # only now
        async with hotline.container.sessions() as session:
            notes = (
                await session.exec(select(TicketEvent.note).where(col(TicketEvent.note).is_not(None)))
            ).all()
        assert any(
            n and n.startswith("[wrap-up follow_up]") and n.endswith("客户说明天上午再打来") for n in notes
        )
