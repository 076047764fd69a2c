"""Agent states when another Hotline takes over in control mode (issue #17 item 3).

Control mode tells app_queue nothing of a sign-in or a pause (cti/acd.py `_member_order`: no
QueueAdd, no QueuePause; the recorded control-mode trace 07g sends neither), so the PBX's queue
members are not Hotline's agents: they are queues.conf's static members, or dynamic ones someone
else added. The first test pins that a fresh control-mode router does not sign anyone in from them
(the resync's QueueMember items, which the simulated PBX sends with the fields of the real trace).

The second is the acceptance test of keeping them (cti.agent_store): agents sign in and one
pauses with a reason; the first Hotline goes; the second one, on the same database and PBX, shows
the same agents signed in, the paused one paused with their reason, and offers a new call only to
the ready one. Both on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from config.callcenter import load_callcenter
from config.settings import SAMPLE_CALLCENTER
from cti.simulator import AgentBehaviour, SimulatedPbx
from cti.simulator.queues import SimMember
from cti.simulator.standalone import simulated_queues
from routing.agent_state import AgentState
from routing.commands import LoginAgent, PauseAgent, SetAgentReady
from routing.decisions import ConnectCall, Decision
from tests.cluster.test_takeover_priority import _until, _waiting, hotline_on
from tests.harness import AMI_SECRET


def _pbx(tmp_path: Path) -> SimulatedPbx:
    return SimulatedPbx(
        secret=AMI_SECRET, agents={"1001": AgentBehaviour(ring_s=1), "1002": AgentBehaviour(ring_s=1)},
        speed=10.0, recordings_dir=tmp_path / "pbx-recordings",
        queues=simulated_queues(load_callcenter(SAMPLE_CALLCENTER)),
    )  # fmt: skip


async def test_a_fresh_control_mode_router_signs_nobody_in_from_the_pbx_queue_members(
    database_url: str, tmp_path: Path
) -> None:
    pbx = _pbx(tmp_path)
    support = pbx.core.queues["support"]
    # 1002 is a dynamic member, paused: as if QueueAdd'ed (by someone else, or by observe mode)
    support.members = [m for m in support.members if m.agent != "1002"]
    support.members.append(
        SimMember(
            interface="Local/1002@agents/n", name="b", membership="dynamic", paused=True, reason="lunch"
        )
    )
    async with asyncio.TaskGroup() as group:
        running = group.create_task(pbx.run())
        await pbx.wait_ready()
        try:
            async with hotline_on(pbx, database_url, tmp_path, seed=True) as hotline:
                router = hotline.container.router
                states = {a: router.agent_state(a) for a in ("1001", "1002", "1003")}
                queues = {a: router.agent_queues(a) for a in ("1001", "1002", "1003")}
        finally:
            running.cancel()
    assert states == dict.fromkeys(states, AgentState.LOGGED_OUT), states
    assert all(not q for q in queues.values()), queues


async def test_signed_in_and_paused_agents_stay_so_when_another_hotline_takes_over(
    database_url: str, tmp_path: Path
) -> None:
    pbx = _pbx(tmp_path)
    connected: list[str] = []
    async with asyncio.TaskGroup() as group:
        running = group.create_task(pbx.run())
        await pbx.wait_ready()
        try:
            async with hotline_on(pbx, database_url, tmp_path, seed=True) as first:
                await first.container.acd.command(LoginAgent("1001"))
                await first.container.acd.command(LoginAgent("1002"))
                await first.container.acd.command(PauseAgent("1002", "lunch"))
                before = {a.agent_id: (a.state, a.reason) for a in first.container.router.snapshot(0).agents}
            async with hotline_on(pbx, database_url, tmp_path, seed=False) as second:
                router = second.container.router
                after = {a.agent_id: (a.state, a.reason) for a in router.snapshot(0).agents}

                async def heard(decision: Decision) -> None:
                    if isinstance(decision, ConnectCall):
                        connected.append(decision.agent_id)

                second.container.acd.add_listener(heard)
                if after == before:  # else nobody is signed in to take it: the assertions below say so
                    await second.place_call("+86 139 0000 0102", talk=5)
                    await _until(lambda: bool(connected))
        finally:
            running.cancel()
    assert before["1001"][0] is AgentState.AVAILABLE, before
    assert before["1002"] == (AgentState.PAUSED, "lunch"), before
    assert after == before, after
    assert connected == ["1001"]


async def test_an_agent_in_wrap_up_stays_in_it_when_another_hotline_takes_over(
    database_url: str, tmp_path: Path
) -> None:
    """Wrap-up is kept too (acd_agent): the agent restored in it is offered no call until it ends
    (the sample's wrap-up ends at the agent's "Done"), and it counts from when it began."""
    pbx = _pbx(tmp_path)
    connected: list[str] = []
    async with asyncio.TaskGroup() as group:
        running = group.create_task(pbx.run())
        await pbx.wait_ready()
        try:
            async with hotline_on(pbx, database_url, tmp_path, seed=True) as first:
                router = first.container.router
                await first.container.acd.command(LoginAgent("1001"))
                await first.place_call("+86 139 0000 0103", talk=5)
                await _until(lambda: router.agent_state("1001") is AgentState.WRAP_UP)
                before = router.agent_wrapup("1001")
            async with hotline_on(pbx, database_url, tmp_path, seed=False) as second:
                router = second.container.router
                state = router.agent_state("1001")
                after = router.agent_wrapup("1001")

                async def heard(decision: Decision) -> None:
                    if isinstance(decision, ConnectCall):
                        connected.append(decision.agent_id)

                second.container.acd.add_listener(heard)
                await second.place_call("+86 139 0000 0104", talk=100)  # waits up to 10 s
                await _until(lambda: len(_waiting(second)) == 1)
                await asyncio.sleep(0.5)  # a router that took 1001 for ready would have rung it by now
                offered_in_wrapup = list(connected)
                await second.container.acd.command(SetAgentReady("1001"))  # "Done"
                await _until(lambda: bool(connected))
        finally:
            running.cancel()
    assert before is not None and before[1] == "support", before
    assert state is AgentState.WRAP_UP, state
    assert after == before  # since when, the queue and the call: as the first Hotline had them
    assert offered_in_wrapup == []
    assert connected == ["1001"]
