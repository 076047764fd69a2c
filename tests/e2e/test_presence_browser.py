"""Presence: calls go only to agents really at a console.

Signing out, closing the page and a killed browser each log the agent off (the last two after the
grace, HOTLINE_PRESENCE_GRACE_S); a call ringing an agent whose console vanished goes to the next
agent at once; two tabs of one agent share one state and signing out in one closes the other; in
observe mode Asterisk's queue is told with QueuePause.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from playwright.async_api import Browser, async_playwright

from config.settings import SAMPLE_CALLCENTER
from cti.simulator import AgentBehaviour
from routing.agent_state import AgentState
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, expect, tabs
from tests.harness import PASSWORD, Hotline, running_hotline

pytestmark = pytest.mark.browser

GRACE_S = 1.0


async def state_becomes(hotline: Hotline, agent: str, state: AgentState, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while hotline.container.router.agent_state(agent) is not state:  # noqa: ASYNC110 - the router is the condition
            await asyncio.sleep(0.02)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def own_chromium(profile: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, Browser]]:
    """A Chromium in its own process (so that the test can kill -9 it), driven over CDP."""
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless=new", f"--remote-debugging-port={port}", f"--user-data-dir={profile}",
        *CHROMIUM_ARGS, "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        async with async_playwright() as playwright:
            browser = None
            async with asyncio.timeout(30):
                while browser is None:
                    try:
                        browser = await playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
                    except Exception:  # not listening yet
                        await asyncio.sleep(0.1)
            yield proc, browser
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.wait_for(proc.wait(), 10)


async def test_sign_out_closing_the_page_and_a_killed_browser_each_log_the_agent_off(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    async with (
        running_hotline(database_url, tmp_path, presence_grace_s=GRACE_S) as hotline,
        tabs(browser, hotline.base_url) as people,
    ):
        presence = hotline.container.presence
        # Two tabs of one agent: one state; signing out in one logs off and closes the other.
        first = await people.signed_in("1001")
        await expect(first.locator("#state")).to_have_attribute("data-state", "available")
        second = await first.context.new_page()
        await second.goto("/agent")
        await expect(second.locator("#state")).to_have_attribute("data-state", "available")
        await first.get_by_role("button", name="小休", exact=True).click()
        await expect(second.locator("#state")).to_have_attribute("data-state", "paused")
        await first.get_by_role("button", name="就绪", exact=True).click()
        await expect(second.locator("#state")).to_have_attribute("data-state", "available")
        await first.locator("#sign-out").click()
        await expect(first).to_have_url(f"{hotline.base_url}/login")
        assert hotline.container.router.agent_state("1001") is AgentState.LOGGED_OUT  # at once
        await expect(second).to_have_url(f"{hotline.base_url}/login")

        # Closing the page: logged off once the grace has passed, not before the socket is gone.
        page = await people.signed_in("1001")
        await expect(page.locator("#state")).to_have_attribute("data-state", "available")
        await page.close()
        await state_becomes(hotline, "1001", AgentState.LOGGED_OUT)
        assert presence.consoles("1001") == 0 and presence.pending("1001") is None

        # A call now waits: nobody is at a console.
        await hotline.place_call("+8613800138000", name="王小明", talk=600)
        async with asyncio.timeout(5):
            while not any(q.waiting for q in hotline.container.router.snapshot(0).queues):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        assert hotline.container.router.agent_state("1001") is AgentState.LOGGED_OUT

        # A killed browser (kill -9, no goodbye): the same, and the waiting call is not offered to it.
        async with own_chromium(tmp_path / "profile") as (proc, remote):
            context = remote.contexts[0] if remote.contexts else await remote.new_context()
            killed = await context.new_page()
            await killed.goto(f"{hotline.base_url}/login")
            await killed.locator("#login").fill("1002")
            await killed.locator("#password").fill(PASSWORD)
            await killed.locator("#sign-in").click()
            await expect(killed.locator("#pop")).to_be_visible()  # 1002 is offered the waiting call ...
            await state_becomes(hotline, "1002", AgentState.ON_CALL)
            os.killpg(proc.pid, signal.SIGKILL)
            await asyncio.wait_for(proc.wait(), 10)
        # ... on the call when the browser died: logged off once the call ends, not cut off.
        assert hotline.container.router.agent_state("1002") is AgentState.ON_CALL
        await hotline.container.link.hangup(hotline.container.router.snapshot(0).agent("1002").call_id or "")  # type: ignore[union-attr]
        await state_becomes(hotline, "1002", AgentState.LOGGED_OUT)


def _long_ring_center(tmp_path: Path) -> Path:
    center = yaml.safe_load(SAMPLE_CALLCENTER.read_text(encoding="utf-8"))
    for queue in center["queues"]:
        queue["ring_timeout_s"] = 300  # a re-offer seen in this test is not the ring timeout's
    path = tmp_path / "callcenter.yaml"
    path.write_text(yaml.safe_dump(center, allow_unicode=True), encoding="utf-8")
    return path


async def test_a_call_ringing_an_agent_whose_console_vanished_goes_to_the_next_agent_at_once(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    agents = {"1001": AgentBehaviour(ring_s=None), "1002": AgentBehaviour(ring_s=2)}  # 1001 never answers
    async with (
        running_hotline(
            database_url,
            tmp_path,
            agents=agents,
            callcenter_file=_long_ring_center(tmp_path),
            presence_grace_s=30,
        ) as hotline,
        tabs(browser, hotline.base_url) as people,
    ):
        gone = await people.signed_in("1001")
        await expect(gone.locator("#state")).to_have_attribute("data-state", "available")
        hello_since = hotline.container.router.snapshot(0).agent("1001").since  # type: ignore[union-attr]
        await hotline.router_clock_passes(hello_since)
        next_agent = await people.signed_in("1002")
        await expect(next_agent.locator("#state")).to_have_attribute("data-state", "available")

        await hotline.place_call("+8613800138000", name="王小明", talk=600)
        await expect(gone.locator("#pop")).to_be_visible()  # ringing the longest-idle agent, 1001
        assert hotline.container.router.agent_state("1001") is AgentState.RESERVED
        await gone.close()
        await expect(next_agent.locator("#pop-caller")).to_contain_text("+8613800138000")
        await state_becomes(hotline, "1002", AgentState.ON_CALL)
        assert hotline.container.router.agent_state("1001") is AgentState.LOGGED_OUT


async def test_observe_mode_tells_asterisks_queue_with_queuepause_on_sign_out(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path, mode="observe", presence_grace_s=GRACE_S) as hotline:
        client = await hotline.sign_in("1001")
        async with await hotline.agent_socket(client) as ws:
            await ws.recv()  # hello: logged in
            await client.post("/api/auth/logout")
        await client.aclose()
        away = [
            a for a in hotline.pbx.actions_received if a["Action"] == "QueuePause" and a["Paused"] == "true"
        ]
        # the shape of the recorded Asterisk 22 QueuePause (tests/fixtures/ami/05-pause-add-remove.sent)
        assert {(a["Queue"], a["Interface"], a["Reason"]) for a in away} == {
            ("support", "Local/1001@agents/n", "logged-out"),
            ("billing", "Local/1001@agents/n", "logged-out"),
        }  # fmt: skip
        assert hotline.container.router.agent_state("1001") is AgentState.LOGGED_OUT
