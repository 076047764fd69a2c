"""Observe mode: a wrap-up hold left on app_queue by a Hotline that restarted is lifted.

Hotline holds a member paused (reason WRAPUP_HOLD_REASON) while the agent is in wrap-up and
unpauses them at "Done". A Hotline restarted during the wrap-up never sends that unpause:
after the restart its resync reads the member paused with our own reason, which the router
ignores (it is not the agent's pause), and shows the agent available while app_queue never
rings them again. The ACD now lifts a hold it finds on an agent the router has available;
a hold with a wrap-up in progress stays.

Full stack: simulated PBX over TCP, the AMI link's resync at its re-login, bus, ACD.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from routing.agent_state import WRAPUP_HOLD_REASON, AgentState
from tests.harness import running_hotline

INTERFACE = "Local/1001@agents/n"


async def test_a_wrap_up_hold_nobody_will_lift_is_lifted_at_the_resync(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        running_hotline(database_url, tmp_path, mode="observe") as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        await hotline.console(stack, "1001")
        member = hotline.pbx.core.queues["support"].member(INTERFACE)
        assert member is not None and not member.paused
        router = hotline.container.acd.router
        assert router.agent_state("1001") is AgentState.AVAILABLE

        # What a Hotline restarted in the middle of 1001's wrap-up leaves behind: the hold, and
        # nobody to lift it. Hotline hears none of it until its re-login's resync.
        async with hotline.pbx_unreachable():
            await hotline.act_unheard(
                "QueuePause", Interface=INTERFACE, Paused="true", Reason=WRAPUP_HOLD_REASON
            )
            assert (member.paused, member.reason) == (True, WRAPUP_HOLD_REASON)

        async with asyncio.timeout(5):
            while member.paused:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        await hotline.container.bus.join()
        assert router.agent_state("1001") is AgentState.AVAILABLE
        unpauses = [
            a
            for a in hotline.pbx.actions_received
            if a.get("Action") == "QueuePause"
            and a.get("Interface") == INTERFACE
            and a.get("Paused") == "false"
        ]
        assert unpauses  # Hotline's own order lifted it, not the simulator


async def test_a_hold_with_its_wrap_up_in_progress_is_kept_through_a_resync(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        running_hotline(database_url, tmp_path, mode="observe") as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        _, ws, _ = await hotline.console(stack, "1001")
        member = hotline.pbx.core.queues["support"].member(INTERFACE)
        assert member is not None
        router = hotline.container.acd.router
        await hotline.place_call("+8613800138000", name="王小明", talk=30)  # 3 s at speed 10, then hangs up
        async with asyncio.timeout(15):
            while router.agent_state("1001") is not AgentState.WRAP_UP or not member.paused:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        assert member.reason == WRAPUP_HOLD_REASON
        await hotline.container.bus.join()  # the hold's own echo (QueueMemberPause) has been handled
        assert member.paused

        async with hotline.pbx_unreachable():  # a re-login: the resync reads the hold again
            pass
        await hotline.container.bus.join()
        await asyncio.sleep(0.3)
        await hotline.container.bus.join()
        assert router.agent_state("1001") is AgentState.WRAP_UP
        assert (member.paused, member.reason) == (True, WRAPUP_HOLD_REASON)  # "Done" has not been said

        await ws.send('{"type": "ready"}')  # "Done": the hold is lifted as before
        async with asyncio.timeout(5):
            while member.paused:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        assert router.agent_state("1001") is AgentState.AVAILABLE
