"""The agent console and the wallboard in a real browser (Debian chromium, headless).

The spine as people see it: an agent signs in, a simulated call pops the right
customer before it is answered, the agent writes the ticket from the pop, hangs
up and wraps up, while a supervisor's wallboard follows the queue and the
agent's state live. Screenshots of both pages land in var/screenshots/.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import pytest
import yaml
from playwright.async_api import Browser, WebSocketRoute
from sqlmodel import col, select

from config.settings import SAMPLE_CALLCENTER
from tests.e2e.browser import expect, screenshot, tabs
from tests.harness import next_message, running_hotline
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.browser


def long_wrapup_center(tmp_path: Path) -> Path:
    """The sample call center with a long wrap-up, so the test sees wrap-up before the timer ends it."""
    center = yaml.safe_load(SAMPLE_CALLCENTER.read_text(encoding="utf-8"))
    for queue in center["queues"]:
        queue["wrapup_s"] = 120
    path = tmp_path / "callcenter.yaml"
    path.write_text(yaml.safe_dump(center, allow_unicode=True), encoding="utf-8")
    return path


async def test_agent_signs_in_and_a_ringing_call_pops_the_callers_card(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        page = await people.signed_in("1001")
        await expect(page).to_have_url(f"{hotline.base_url}/agent")
        await expect(page.locator("#state")).to_have_attribute("data-state", "available")

        await hotline.place_call("+8613800138000", name="王小明", talk=60)

        pop = page.locator("#pop")
        await expect(pop).to_be_visible()
        await expect(page.locator("#pop-caller")).to_contain_text("+8613800138000")
        await expect(pop.locator(".customer-name")).to_have_text("王小明")


async def test_agent_works_a_call_from_pop_to_wrap_up_while_the_wallboard_follows_live(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    center = long_wrapup_center(tmp_path)
    async with (
        running_hotline(database_url, tmp_path, callcenter_file=center) as hotline,
        tabs(browser, hotline.base_url) as people,
    ):
        board = await people.signed_in("sup")
        await expect(board).to_have_url(f"{hotline.base_url}/supervisor")
        support = board.locator('.queue[data-queue="support"]')
        await expect(support.locator("h3")).to_have_text("技术支持")
        row = board.locator('#agents tr[data-agent="1001"]')
        await expect(row).to_have_attribute("data-state", "logged_out")

        agent = await people.signed_in("1001")
        await expect(agent.locator("#state")).to_have_attribute("data-state", "available")
        await expect(row).to_have_attribute("data-state", "available", timeout=2000)

        await hotline.place_call("+8613800138000", name="王小明", talk=600)

        # The pop: the right customer with their card, and the ticket the call opened.
        card = agent.locator("#pop .customer")
        await expect(card.locator(".customer-name")).to_have_text("王小明")
        await expect(card).to_contain_text("阳光物业")
        await expect(card).to_contain_text("大客户，物业维修合同")
        await expect(agent.locator("#pop")).to_have_attribute("data-status", "answered")
        await expect(row).to_have_attribute("data-state", "on_call", timeout=2000)
        await expect(support.locator('[data-k="states"]')).to_contain_text("通话中 1")

        # The ticket from the pop: the suggestion names it; the agent describes the issue and saves.
        await expect(agent.locator("#ticket-suggestion")).to_contain_text("新建工单 #")
        ticket_no = int((await agent.locator("#ticket-no").inner_text()).lstrip("#"))
        await agent.get_by_label("主题").fill("电梯故障 Lift out of order")
        await agent.get_by_label("优先级").select_option("high")
        await agent.get_by_label("问题描述").fill("3 号楼电梯停在 5 层")
        await agent.get_by_role("button", name="保存工单").click()
        await expect(agent.locator("#ticket-status")).to_have_text(f"工单 #{ticket_no} 已保存。")

        await expect(board.locator("#chart-calls")).to_have_attribute("data-total", "1")  # redrawn live
        await screenshot(agent, "agent-console")
        await screenshot(board, "supervisor-wallboard")

        # Hang up from the console, wrap up; the wallboard follows each step.
        await agent.get_by_role("button", name="挂断").click()
        await expect(agent.locator("#pop")).to_have_attribute("data-status", "hung_up")
        await expect(agent.locator("#state")).to_have_attribute("data-state", "wrap_up")
        await expect(row).to_have_attribute("data-state", "wrap_up", timeout=2000)
        await agent.get_by_label("小结代码").select_option("follow_up")
        await agent.get_by_label("小结备注").fill("明天回访")
        await agent.get_by_role("button", name="完成", exact=True).click()
        await expect(agent.locator("#pop")).to_be_hidden()
        await expect(agent.locator("#state")).to_have_attribute("data-state", "available")
        await expect(row).to_have_attribute("data-state", "available", timeout=2000)
        await expect(support.locator('[data-k="counts"]')).to_contain_text("呼入 1，接听 1")
        await expect(agent.locator("#recent tr")).to_have_count(1)

        async with hotline.container.sessions() as session:
            ticket = await session.get(Ticket, ticket_no)
            notes = (
                await session.exec(select(TicketEvent.note).where(col(TicketEvent.ticket_id) == ticket_no))
            ).all()
        assert ticket is not None and ticket.subject == "电梯故障 Lift out of order"
        assert ticket.priority == "high"
        assert any(note.startswith("[wrap-up follow_up]") and note.endswith("明天回访") for note in notes)


async def test_a_console_that_lost_its_connection_catches_up_on_the_pop_it_missed(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        routes: list[WebSocketRoute] = []
        reconnecting = asyncio.Event()
        let_through = asyncio.Event()

        async def relay(route: WebSocketRoute) -> None:
            routes.append(route)
            if len(routes) > 1:
                reconnecting.set()
                await let_through.wait()  # hold the reconnect while the pop is published
            route.connect_to_server()

        context = await people.context()
        await context.route_web_socket(re.compile(r"/ws/agent"), relay)
        page = await context.new_page()
        await page.goto("/login")
        await page.locator("#login").fill("1001")
        await page.locator("#password").fill("demo")
        await page.locator("#sign-in").click()
        await expect(page.locator("#state")).to_have_attribute("data-state", "available")

        try:
            await routes[0].close(code=1012, reason="network dropped")
            await asyncio.wait_for(reconnecting.wait(), timeout=5)
            watcher = await hotline.sign_in("1001")  # a second tab: sees the pop the page is missing
            async with await hotline.agent_socket(watcher) as tab:
                await next_message(tab, "hello")
                await hotline.place_call("+8613800138000", name="王小明", talk=30)
                missed = await next_message(tab, "pop")
            await expect(page.locator("#pop")).to_be_hidden()
            let_through.set()
            await expect(page.locator("#pop .customer-name")).to_have_text("王小明")
            assert await page.locator("#pop").get_attribute("data-call-id") == missed["call_id"]
            await watcher.aclose()
        finally:
            let_through.set()  # never leave the browser's reconnect hanging


async def test_a_console_sent_messages_before_its_hello_resumes_after_them_not_from_zero(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    """A server may send messages before the hello (live ones while it asks the router for the
    greeting, or a catch-up); they are numbered in the hello's epoch, so a console meeting a new
    epoch keeps them: its reconnect asks after the highest seq, not after 0 (which replays the
    whole backlog, old pops included). The same protocol as the cluster test's consoles (#17)."""
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        urls: list[str] = []
        reconnected = asyncio.Event()

        async def server(route: WebSocketRoute) -> None:  # the test plays the server
            urls.append(route.url)
            if len(urls) > 1:
                reconnected.set()
                return
            now = time.time()
            route.send(json.dumps({"type": "state", "agent": "1001", "state": "available", "seq": 7,
                                   "previous": "logged_out", "reason": None, "since": now}))  # fmt: skip
            route.send(json.dumps({"type": "hello", "epoch": "e-new", "agent": "1001", "state": "available",
                                   "since": now, "reason": None, "pending_pause": None, "now": now,
                                   "pop": None}))  # fmt: skip
            await route.close(code=1012, reason="worker gone")

        context = await people.context()
        await context.route_web_socket(re.compile(r"/ws/agent"), server)
        page = await context.new_page()
        await page.goto("/login")
        await page.locator("#login").fill("1001")
        await page.locator("#password").fill("demo")
        await page.locator("#sign-in").click()
        await asyncio.wait_for(reconnected.wait(), timeout=10)
        assert urls[0].endswith("?after=0&epoch=")  # a fresh page: no numbering yet
        assert urls[1].endswith("?after=7&epoch=e-new")
