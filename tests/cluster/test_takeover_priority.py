"""A VIP caller keeps their priority, and every caller their arrival, when another Hotline takes over.

Control mode (Hotline is the ACD): two callers wait at the simulated PBX with no agent signed in,
an ordinary one first, then a VIP (the sample's customer 王小明). The first Hotline goes; a second
one starts on the same database and PBX and rebuilds from them: the resync finds both callers
(their channels' age is their arrival), the desk finds the VIP's customer again (the ticket the
first one opened), so the router has the VIP ahead with its tier's priority, and the agent who
signs in is offered the VIP first. This is the state path of a standby taking over (the new
leader starts from the database and the PBX, nothing in memory), in one process, on SQLite and
PostgreSQL; the process test with `kill -9` is test_takeover_queue.py."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

from agent_ui.app import create_app
from agent_ui.bootstrap import Container, build
from agent_ui.seed import seed_demo
from config.callcenter import load_callcenter
from config.settings import SAMPLE_CALLCENTER, load_settings
from cti.simulator import AgentBehaviour, SimulatedPbx
from cti.wiring import simulated_queues
from routing.commands import LoginAgent
from routing.decisions import ConnectCall, Decision
from routing.snapshot import WaitingCallView
from tests.harness import AMI_SECRET, SESSION_SECRET, Hotline
from tests.serve import serving

ORDINARY = "+86 139 0000 0101"  # no customer: ordinary
VIP = "+86 138 0013 8000"  # the sample's VIP customer


@contextlib.asynccontextmanager
async def hotline_on(
    pbx: SimulatedPbx, database_url: str, tmp_path: Path, *, seed: bool
) -> AsyncIterator[Hotline]:
    settings = load_settings(
        database_url=database_url, session_secret=SESSION_SECRET, ami_secret=AMI_SECRET, ami_port=pbx.port,
        mode="control", pbx="asterisk", recordings_dir=tmp_path / "recordings",
        pbx_recordings_dir=tmp_path / "pbx-recordings", callcenter_file=SAMPLE_CALLCENTER,
    )  # fmt: skip
    container: Container = build(settings)
    if seed:
        await seed_demo(container.sessions, container.callcenter, settings.default_region)
    async with serving(create_app(settings, container=container)) as base_url:
        assert container.link is not None
        await container.link.wait_connected(timeout=10)
        await asyncio.wait_for(container.recovered.wait(), 15)
        yield Hotline(settings, container, pbx, base_url)


def _waiting(hotline: Hotline) -> list[WaitingCallView]:
    router = hotline.container.router
    return list(router.snapshot(hotline.container.acd.clock()).queue("support").waiting)


async def _until(check: object, timeout: float = 15.0) -> None:  # noqa: ASYNC109
    assert callable(check)
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110 - the router's state, fed by the PBX over TCP
            await asyncio.sleep(0.05)


async def test_a_vip_keeps_their_priority_and_callers_their_arrival_when_another_hotline_takes_over(
    database_url: str, tmp_path: Path
) -> None:
    pbx = SimulatedPbx(
        secret=AMI_SECRET, agents={"1001": AgentBehaviour(ring_s=1)}, speed=10.0,
        recordings_dir=tmp_path / "pbx-recordings",
        queues=simulated_queues(load_callcenter(SAMPLE_CALLCENTER)),
    )  # fmt: skip
    async with asyncio.TaskGroup() as group:
        running = group.create_task(pbx.run())
        await pbx.wait_ready()
        try:
            async with hotline_on(pbx, database_url, tmp_path, seed=True) as first:
                placed = time.time()
                await first.place_call(ORDINARY, talk=600)
                await _until(lambda: len(_waiting(first)) == 1)
                await asyncio.sleep(1.2)  # the VIP arrives a whole second later at least
                await first.place_call(VIP, talk=600)
                await _until(lambda: len(_waiting(first)) == 2)
                before = [(c.caller, c.tier, c.priority) for c in _waiting(first)]
                await asyncio.sleep(3.0)  # they wait a while before the first Hotline goes
            async with hotline_on(pbx, database_url, tmp_path, seed=False) as second:
                await _until(lambda: len(_waiting(second)) == 2)
                after = _waiting(second)
                taken_at = time.time()
                connected: list[str] = []

                async def heard(decision: Decision) -> None:
                    if isinstance(decision, ConnectCall):
                        connected.append(decision.call_id)

                second.container.acd.add_listener(heard)
                await second.container.acd.command(LoginAgent("1001"))
                vip_id = next(c.call_id for c in after if c.tier == "vip")
        finally:
            running.cancel()
    assert [tier for _, tier, _ in before] == ["vip", "ordinary"], before
    assert [(c.tier, c.priority) for c in after] == [(t, p) for _, t, p in before]
    ordinary = next(c for c in after if c.tier == "ordinary")
    assert ordinary.waited_s >= taken_at - placed - 1.5  # since it arrived (whole seconds), not the takeover
    assert connected == [vip_id]
