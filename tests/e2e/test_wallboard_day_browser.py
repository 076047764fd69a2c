"""In the browser, a supervisor's day at the wallboard: who waits, who talks with whom, what to staff.

One agent signed in, three callers: the first talks with the agent, two wait. The
wallboard lists the waiting callers (the known one by the customer the desk
matched, though the PBX gave no name), shows the agent's current caller and
queue, asks for more agents than are staffed, enables listening only on the
connected call, keeps a pause asked during the call for after it, and shows a
refused order translated — in Chinese, then in English.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser

from cti.simulator import AgentBehaviour
from tests.e2e.browser import expect, screenshot, tabs
from tests.harness import running_hotline

pytestmark = pytest.mark.browser


async def test_the_wallboard_lists_waiting_callers_and_answers_a_supervisors_orders(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    agents = {"1001": AgentBehaviour(ring_s=1, talk_s=600), "1002": AgentBehaviour(ring_s=1)}
    async with (
        running_hotline(database_url, tmp_path, agents=agents) as hotline,
        tabs(browser, hotline.base_url) as people,
    ):
        board = await people.signed_in("sup")
        alice = await people.signed_in("1001")
        await expect(alice.locator("#state")).to_have_attribute("data-state", "available")
        row = board.locator('#agents tr[data-agent="1001"]')
        await expect(row).to_have_attribute("data-state", "available", timeout=3000)

        await hotline.place_call("+8613911112222", name="", talk=600)
        await expect(row).to_have_attribute("data-state", "on_call", timeout=5000)
        await hotline.place_call("+8613800138000", name="", talk=600)  # 王小明, known to the desk
        await hotline.place_call("+4930123456", name="Anna", talk=600)

        waiting = board.locator("#waiting tr")
        await expect(waiting).to_have_count(2, timeout=5000)
        known = board.locator("#waiting tr", has_text="+8613800138000")
        await expect(known).to_contain_text("王小明", timeout=5000)  # the customer, not the PBX's name
        await expect(known).to_contain_text("VIP")
        await expect(known).to_contain_text("技术支持")
        await expect(board.locator("#waiting-none")).to_be_hidden()
        await expect(row.locator(".caller")).to_have_text("+8613911112222")
        await expect(row.locator(".agent-queue")).to_have_text("技术支持")

        support = board.locator('.queue[data-queue="support"]')
        # one talking and two waiting
        await expect(support.locator('[data-k="erlang"]')).to_have_text("3（在岗 1）")
        await expect(support).to_have_class("card queue understaffed")
        await expect(support.locator('[data-k="erlang_basis"]')).to_contain_text("统计窗口：最近 15 分钟")

        # listening: only on the connected call, and the page says which phone rings
        await expect(row.locator('[data-action="spy-listen"]')).to_be_enabled()
        bob = board.locator('#agents tr[data-agent="1002"]')
        await expect(bob.locator('[data-action="spy-listen"]')).to_be_disabled()
        await expect(board.locator("#spy-phone")).to_contain_text("Local/2001@level2")

        # a refused order is explained in the page's language, in the card
        await row.locator('[data-action="logout"]').click()
        await expect(board.locator("#action-status")).to_contain_text("坐席当前状态下无法执行")
        # a pause asked during the call waits for its end
        await row.locator('[data-action="pause"]').click()
        await expect(board.locator("#action-status")).to_contain_text("通话及话后处理结束后即置忙")
        await expect(row.locator(".state")).to_contain_text("本通话结束后置忙")
        await expect(row.locator('[data-action="pause"]')).to_be_disabled()
        # ... and the agent's console says it is coming, with whose reason
        await expect(alice.locator("#pending-pause")).to_have_text("· 本通话结束后小休：班长置忙")
        await screenshot(alice, "console-pause-after-call-zh")
        await screenshot(board, "wallboard-waiting-callers-zh")

        await board.get_by_label("语言").select_option("en")
        await board.get_by_role("button", name="切换").click()
        await expect(board.locator("#waiting-h")).to_have_text("Callers waiting")
        await expect(board.locator("#waiting tr", has_text="+8613800138000")).to_contain_text("VIP")
        await expect(row.locator(".state")).to_contain_text("pauses after this call", timeout=5000)
        await expect(support.locator('[data-k="erlang"]')).to_have_text("3 (staffed 1)")
        await screenshot(board, "wallboard-waiting-callers-en")
