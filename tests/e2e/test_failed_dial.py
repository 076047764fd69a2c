"""Control mode: an agent whose phone cannot be rung (issue #15, item 2).

The dial string is the agent's `interface` from the call-center file (Setvar
HOTLINE_DIAL); a dial that fails at once (DialEnd CONGESTION / CHANUNAVAIL, or only
the dialplan's `UserEvent HotlineDialEnd` when no channel was made) hands the call
to the next agent at once, without waiting out the ring timeout, and the agent is
paused "phone-unreachable" (on the wallboard) instead of being counted a miss.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from cti.simulator import AgentBehaviour
from routing.agent_state import AgentState
from tests.harness import next_message, running_hotline


async def test_a_failed_dial_offers_the_next_agent_at_once_and_marks_the_phone_unreachable(
    database_url: str, tmp_path: Path
) -> None:
    agents = {"1001": AgentBehaviour(reachable=False), "1002": AgentBehaviour(ring_s=2)}
    async with (
        running_hotline(database_url, tmp_path, agents=agents) as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        alice, _alice_ws, hello = await hotline.console(stack, "1001")  # longest idle: offered first
        await hotline.router_clock_passes(hello["since"])
        bob, bob_ws, _ = await hotline.console(stack, "1002")
        await hotline.place_call("+8613800138000", name="王小明", talk=100)

        pop = await next_message(bob_ws, "pop", timeout=5)
        assert [c["name"] for c in pop["customers"]] == ["王小明"]
        router = hotline.container.router
        view = router.snapshot(hotline.container.acd.clock()).agent("1001")
        assert (view.state, view.reason, view.missed) == (AgentState.PAUSED, "phone-unreachable", 0)
        board = hotline.container.wallboard.view(hotline.container.acd.clock())
        [row] = [a for a in board["agents"] if a["id"] == "1001"]
        assert row["state"] == "paused" and row["reason"] == "phone-unreachable"
        dials = [
            a["Value"]
            for a in hotline.pbx.actions_received
            if a["Action"] == "Setvar" and a["Variable"] == "HOTLINE_DIAL"
        ]
        assert dials[:2] == ["Local/1001@agents/n", "Local/1002@agents/n"]
        for client in (alice, bob):
            await client.aclose()
