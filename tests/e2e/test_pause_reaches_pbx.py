"""Observe mode: a pause, a ready, a sign-out in Hotline reach Asterisk's app_queue (issue #15, item 1).

The console's `{"type": "pause"}` and the supervisor's pause must send QueuePause,
or app_queue rings the "paused" agent anyway. Against the simulated PBX over TCP:
the member's Paused flag in app_queue is the evidence, and so is the call that
then goes to the other agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

from cti.ami.members import SIGNED_OUT_REASON
from cti.simulator.queues import SimMember
from routing.agent_state import WRAPUP_HOLD_REASON
from tests.harness import Hotline, next_message, running_hotline


def member(hotline: Hotline, queue: str, agent: str) -> SimMember:
    [found] = [m for m in hotline.pbx.core.queues[queue].members if m.agent == agent]
    return found


async def until(condition: object, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def pauses(hotline: Hotline) -> list[dict[str, str]]:
    return [
        {k: v for k, v in a.items() if k in ("Interface", "Paused", "Queue", "Reason")}
        for a in hotline.pbx.actions_received
        if a["Action"] == "QueuePause"
    ]


async def test_console_pause_and_ready_pause_and_unpause_the_app_queue_member(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        running_hotline(database_url, tmp_path, mode="observe") as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        alice, ws, _ = await hotline.console(stack, "1001")
        bob, bob_ws, _ = await hotline.console(stack, "1002")
        await until(lambda: not member(hotline, "support", "1001").paused and len(pauses(hotline)) >= 3)

        await ws.send(json.dumps({"type": "pause", "reason": "coffee"}))
        await until(lambda: member(hotline, "support", "1001").paused)
        assert member(hotline, "support", "1001").reason == "coffee"
        assert member(hotline, "billing", "1001").paused  # no Queue: every queue she is in
        assert {"Interface": "Local/1001@agents/n", "Paused": "true", "Reason": "coffee"} in pauses(hotline)

        await hotline.place_call("+8613800138000", name="王小明", talk=40)
        pop = await next_message(bob_ws, "pop")  # app_queue skips the paused member: Bob gets it
        assert [c["name"] for c in pop["customers"]] == ["王小明"]
        state = hotline.container.router.agent_state("1001")
        assert str(state) == "paused"  # not flipped back to available "(pbx)"

        await ws.send(json.dumps({"type": "ready"}))
        await until(lambda: not member(hotline, "support", "1001").paused)
        assert pauses(hotline)[-1] == {"Interface": "Local/1001@agents/n", "Paused": "false"}
        for client in (alice, bob):
            await client.aclose()


async def test_supervisor_pause_and_sign_out_reach_app_queue(database_url: str, tmp_path: Path) -> None:
    async with (
        running_hotline(database_url, tmp_path, mode="observe") as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        alice, _ws, _ = await hotline.console(stack, "1001")
        sup = await hotline.sign_in("sup")
        assert (
            await sup.post("/api/supervisor/agents/1001/pause", json={"reason": "meeting"})
        ).status_code == 204
        await until(lambda: member(hotline, "support", "1001").paused)
        assert member(hotline, "support", "1001").reason == "meeting"

        assert (await sup.post("/api/supervisor/agents/1001/logout")).status_code == 204
        # static members (queues.conf): signed out = paused with the signed-out reason, in each queue
        await until(lambda: member(hotline, "billing", "1001").reason == SIGNED_OUT_REASON)
        assert member(hotline, "support", "1001").reason == SIGNED_OUT_REASON
        assert str(hotline.container.router.agent_state("1001")) == "logged_out"
        for client in (alice, sup):
            await client.aclose()


async def test_observe_mode_holds_the_member_paused_in_wrap_up_until_the_agent_says_done(
    database_url: str, tmp_path: Path
) -> None:
    """app_queue's own wrapuptime (the queue's wrapup_s, 5 s here: 0.5 s at speed 10) runs out long
    before the agent has finished writing: the QueuePause Hotline sends keeps the member from being
    rung until "Done", and its echo does not turn Hotline's wrap-up into a pause."""
    async with (
        running_hotline(database_url, tmp_path, mode="observe") as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        _alice, ws, _ = await hotline.console(stack, "1001")
        _bob, bob_ws, _ = await hotline.console(stack, "1002")
        await bob_ws.send(json.dumps({"type": "pause", "reason": "coffee"}))  # 1001 is the only one
        await until(lambda: member(hotline, "support", "1002").paused)
        await until(lambda: not member(hotline, "support", "1001").paused)
        router = hotline.container.router
        await hotline.place_call("+8613800138000", name="王小明", talk=30)  # 3 s, then the caller hangs up
        first = await next_message(ws, "pop")
        await until(lambda: str(router.agent_state("1001")) == "wrap_up", timeout=15)
        await until(lambda: member(hotline, "support", "1001").paused)
        held = member(hotline, "support", "1001")
        assert held.reason == WRAPUP_HOLD_REASON and member(hotline, "billing", "1001").paused
        await until(lambda: router.ignored_events["wrap-up-hold-echo"] >= 1)  # QueueMemberPause came back
        assert str(router.agent_state("1001")) == "wrap_up"  # and is not a pause

        await hotline.place_call("+8613900139000", name="李四", talk=600)
        queue = hotline.pbx.core.queues["support"]
        await until(lambda: len(queue.waiting) == 1)
        # app_queue's wrapuptime is over and the caller still waits: only the pause keeps 1001 free.
        await until(lambda: time.monotonic() > held.wrapup_until + 0.5)
        assert len(queue.waiting) == 1 and str(router.agent_state("1001")) == "wrap_up"

        await ws.send(json.dumps({"type": "ready"}))  # "Done"
        second = await next_message(ws, "pop", timeout=15)
        assert second["call_id"] != first["call_id"]
        assert {"Interface": "Local/1001@agents/n", "Paused": "false"} in pauses(hotline)
