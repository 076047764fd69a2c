"""Changing a queue's strategy or an agent's queues in the browser changes the next routing decision,
with no restart: calls placed before and after each change go to different agents. A change the
running router cannot take is refused with its reason and changes nothing; every change is audited."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.async_api import Browser
from sqlmodel import col, select

from audit.models import AuditEntry
from config.settings import SAMPLE_CALLCENTER
from routing.agent_state import AgentState
from tests.e2e.browser import expect, screenshot, tabs
from tests.harness import Hotline, next_message, running_hotline

pytestmark = pytest.mark.browser


def linear_support(tmp_path: Path) -> Path:
    center = yaml.safe_load(SAMPLE_CALLCENTER.read_text(encoding="utf-8"))
    for queue in center["queues"]:
        if queue["name"] == "support":
            queue["strategy"] = "linear"  # 1001 first (configured first), whoever waited longer
    path = tmp_path / "callcenter.yaml"
    path.write_text(yaml.safe_dump(center, allow_unicode=True), encoding="utf-8")
    return path


async def state_becomes(hotline: Hotline, agent: str, state: AgentState) -> None:
    async with asyncio.timeout(10):
        while hotline.container.router.agent_state(agent) is not state:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def call_goes_to(hotline: Hotline, sockets: dict[str, Any], number: str, ivr: str = "") -> str:
    """Place a call; the agent whose console pops it. The call is then ended and wrapped up."""
    await hotline.place_call(number, talk=600, ivr=ivr)
    waiting = {
        agent: asyncio.create_task(next_message(ws, "pop", timeout=10)) for agent, ws in sockets.items()
    }
    done, pending = await asyncio.wait(waiting.values(), return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await task
    agent = next(a for a, t in waiting.items() if t in done)
    pop = waiting[agent].result()
    await state_becomes(hotline, agent, AgentState.ON_CALL)
    assert hotline.container.link is not None
    await hotline.container.link.hangup(pop["call_id"])
    await state_becomes(hotline, agent, AgentState.WRAP_UP)
    await sockets[agent].send(json.dumps({"type": "ready"}))  # "Done"
    await state_becomes(hotline, agent, AgentState.AVAILABLE)
    return agent


async def test_strategy_and_penalty_changed_in_the_browser_route_the_next_call_differently(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    async with (
        running_hotline(database_url, tmp_path, callcenter_file=linear_support(tmp_path)) as hotline,
        tabs(browser, hotline.base_url) as t,
        contextlib.AsyncExitStack() as stack,
    ):
        bob = await hotline.console(stack, "1002")
        await hotline.router_clock_passes(bob.hello["since"])
        lina = await hotline.console(stack, "1001")
        sockets = {"1001": lina.ws, "1002": bob.ws}

        assert await call_goes_to(hotline, sockets, "+8613800000001") == "1001"  # linear: 1001 first
        admin = await t.signed_in("admin")
        await admin.goto("/admin/queues")
        support = admin.locator('.queue-admin[data-queue="support"]')
        await support.get_by_label("分配策略").select_option("longest-idle")
        await support.get_by_role("button", name="保存").click()
        await expect(admin.locator("#admin-saved")).to_contain_text("support")
        assert await call_goes_to(hotline, sockets, "+8613800000002") == "1002"  # longest idle now

        # 1001 waited longest now; a penalty of 5 in support sends the next call to 1002 all the same.
        await admin.goto("/admin/agents")
        lina_form = admin.locator('.agent-admin[data-agent="1001"]')
        await lina_form.get_by_label("队列（队列:优先级）").fill("support:5, billing:1")
        await lina_form.get_by_role("button", name="保存").click()
        await expect(admin.locator("#admin-saved")).to_contain_text("1001")
        assert await call_goes_to(hotline, sockets, "+8613800000003") == "1002"

        # An unknown queue is refused as strictly as in the file: the reason shown, nothing changed.
        await admin.goto("/admin/agents")
        await (
            admin.locator('.agent-admin[data-agent="1001"]')
            .get_by_label("队列（队列:优先级）")
            .fill("nowhere:0")
        )
        await admin.locator('.agent-admin[data-agent="1001"]').get_by_role("button", name="保存").click()
        await expect(admin.locator("#admin-error")).to_contain_text("nowhere")
        assert dict(hotline.container.callcenter.agent("1001").queues) == {"support": 5, "billing": 1}  # type: ignore[union-attr]

        async with hotline.container.sessions() as session:
            changes = (
                await session.exec(select(AuditEntry).where(col(AuditEntry.action) == "admin.config_change"))
            ).all()
        assert [c.subject for c in changes] == ["config:queues[support]", "config:agents[1001]"]
        detail = json.loads(changes[0].detail_json)
        assert detail["before"]["strategy"] == "linear" and detail["after"]["strategy"] == "longest-idle"


def support_needs_network(tmp_path: Path) -> Path:
    """support routes linear (1001 first) and needs network >= 70: 1001 has 80, 1002 has 60."""
    center = yaml.safe_load(SAMPLE_CALLCENTER.read_text(encoding="utf-8"))
    for queue in center["queues"]:
        if queue["name"] == "support":
            queue.update(strategy="linear", required_skills={"network": 70})
    path = tmp_path / "callcenter.yaml"
    path.write_text(yaml.safe_dump(center, allow_unicode=True), encoding="utf-8")
    return path


async def test_skills_edited_in_the_browser_route_the_next_real_call_to_the_newly_skilled_agent(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    async with (
        running_hotline(database_url, tmp_path, callcenter_file=support_needs_network(tmp_path)) as hotline,
        tabs(browser, hotline.base_url) as t,
        contextlib.AsyncExitStack() as stack,
    ):
        lina = await hotline.console(stack, "1001")
        bob = await hotline.console(stack, "1002")
        sockets = {"1001": lina.ws, "1002": bob.ws}
        assert await call_goes_to(hotline, sockets, "+8613800000011") == "1001"

        # 1001 drops to network 50, 1002 rises to 75: linear would still pick 1001, the skill says 1002.
        admin = await t.signed_in("admin")
        for agent, skills in (("1001", "network:50, billing:40"), ("1002", "network:75")):
            await admin.goto("/admin/agents")
            form = admin.locator(f'.agent-admin[data-agent="{agent}"]')
            await form.get_by_label("技能（技能:熟练度）").fill(skills)
            await form.get_by_role("button", name="保存").click()
            await expect(admin.locator("#admin-saved")).to_contain_text(agent)
        assert await call_goes_to(hotline, sockets, "+8613800000012") == "1002"
        assert await call_goes_to(hotline, sockets, "+8613800000013") == "1002"

        # The queue's requirement itself, edited on the queue page: without it linear picks 1001 again.
        await admin.goto("/admin/queues")
        support = admin.locator('.queue-admin[data-queue="support"]')
        await expect(support.get_by_label("来电所需技能（技能:最低熟练度）")).to_have_value("network:70")
        await screenshot(admin, "admin_queues_required_skills_zh-CN")
        await support.get_by_label("来电所需技能（技能:最低熟练度）").fill("")
        await support.get_by_role("button", name="保存").click()
        await expect(admin.locator("#admin-saved")).to_contain_text("support")
        assert await call_goes_to(hotline, sockets, "+8613800000014") == "1001"


async def hotline_cli(*args: str, database_url: str, cwd: Path) -> tuple[int, str]:
    """`hotline ...` in its own process, as an admin types it in a shell next to the running server."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent_ui.cli", *args, cwd=cwd,
        env={**clean, "COLUMNS": "200", "HOTLINE_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, output.decode()


async def test_a_config_import_in_a_shell_reroutes_the_running_hotline_and_the_admin_page_imports_too(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    async with (
        running_hotline(database_url, tmp_path, callcenter_file=linear_support(tmp_path)) as hotline,
        tabs(browser, hotline.base_url) as t,
        contextlib.AsyncExitStack() as stack,
    ):
        bob = await hotline.console(stack, "1002")
        await hotline.router_clock_passes(bob.hello["since"])
        lina = await hotline.console(stack, "1001")
        sockets = {"1001": lina.ws, "1002": bob.ws}
        assert await call_goes_to(hotline, sockets, "+8613800000021") == "1001"  # linear

        # `hotline config import` while the server runs: support becomes longest-idle (1002 now).
        center = yaml.safe_load((tmp_path / "callcenter.yaml").read_text(encoding="utf-8"))
        center["queues"][0]["strategy"] = "longest-idle"
        (tmp_path / "imported.yaml").write_text(yaml.safe_dump(center, allow_unicode=True), encoding="utf-8")
        code, output = await hotline_cli(
            "config", "import", "imported.yaml", database_url=database_url, cwd=tmp_path
        )
        assert code == 0, output
        version = int(output.split("configuration version ")[1].split()[0])
        admin_service = hotline.container.center_admin
        assert admin_service is not None
        async with asyncio.timeout(30):  # followed on the server's schedule (FOLLOW_S)
            while admin_service.version < version:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert await call_goes_to(hotline, sockets, "+8613800000022") == "1002"

        # The same from the admin page: the file pasted back with linear, 1001 again; a bad file is
        # refused with its place named and changes nothing.
        admin = await t.signed_in("admin")
        await admin.goto("/admin/center")
        bad = yaml.safe_dump({**center, "queues": [{**center["queues"][0], "wrapup_seconds": 3}]})
        await admin.locator("#import-text").fill(bad)
        await admin.locator("#import-submit").click()
        await expect(admin.locator("#admin-error")).to_contain_text("queues[0].wrapup_seconds")
        assert hotline.container.router.config.queues[0].strategy == "longest-idle"
        center["queues"][0]["strategy"] = "linear"
        await admin.locator("#import-text").fill(yaml.safe_dump(center, allow_unicode=True))
        await screenshot(admin, "admin_center_import_zh-CN")
        await admin.locator("#import-submit").click()
        await expect(admin.locator("#admin-saved")).to_contain_text("import")
        assert await call_goes_to(hotline, sockets, "+8613800000023") == "1001"
        exported = await admin.request.get("/admin/center/export.yaml")
        assert exported.ok and "strategy: linear" in await exported.text()
        assert admin_service.version > version

        async with hotline.container.sessions() as session:
            changes = (
                await session.exec(select(AuditEntry).where(col(AuditEntry.action) == "admin.config_change"))
            ).all()
        assert [c.subject for c in changes] == ["config:import imported.yaml", "config:import"]


async def test_a_dialplan_ivr_choice_requires_its_skills_over_the_simulated_pbx(
    database_url: str, tmp_path: Path
) -> None:
    """[hotline-ivr] sets HOTLINE_IVR; HotlineWaiting carries it; the router adds the choice's skills."""
    center = yaml.safe_load(SAMPLE_CALLCENTER.read_text(encoding="utf-8"))
    center["queues"][0]["strategy"] = "linear"  # support: 1001 first
    center["ivr"]["options"][0].update(choice="fibre", skills={"fibre": 40})
    for agent in center["agents"]:
        if agent["id"] == "1002":
            agent["skills"] = {"network": 60, "fibre": 50}
    path = tmp_path / "callcenter.yaml"
    path.write_text(yaml.safe_dump(center, allow_unicode=True), encoding="utf-8")
    async with (
        running_hotline(database_url, tmp_path, callcenter_file=path) as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        lina = await hotline.console(stack, "1001")
        bob = await hotline.console(stack, "1002")
        sockets = {"1001": lina.ws, "1002": bob.ws}
        assert await call_goes_to(hotline, sockets, "+8613800000031", ivr="fibre") == "1002"
        assert await call_goes_to(hotline, sockets, "+8613800000032") == "1001"  # no choice: linear
