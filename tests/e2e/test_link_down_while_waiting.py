"""Control mode: the AMI link drops while a caller waits (issue #15, item 4).

An agent pressing Ready during the outage used to get three "AMI link is down"
refusals in a millisecond, was moved reserved → paused (no-answer), and nobody was
offered the call after the link came back. A refusal is not a no-answer: the agent
stays available, the call keeps waiting, and it is offered as soon as the link is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

from routing.agent_state import AgentState
from tests.harness import next_message, running_hotline


async def test_ready_during_an_outage_is_no_miss_and_the_call_is_offered_when_the_link_is_back(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        router = hotline.container.router
        alice, ws, _ = await hotline.console(stack, "1001")
        await ws.send(json.dumps({"type": "pause", "reason": "coffee"}))
        async with asyncio.timeout(5):
            while router.agent_state("1001") is not AgentState.PAUSED:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        await hotline.place_call("+8613800138000", name="王小明", talk=300)  # 30 s on the line
        async with asyncio.timeout(5):
            while router.kpis(hotline.container.acd.clock()).queue("support").waiting != 1:  # noqa: ASYNC110
                await asyncio.sleep(0.02)

        async with hotline.pbx_unreachable():
            await ws.send(json.dumps({"type": "ready"}))  # the router offers her the call: Redirect refused
            async with asyncio.timeout(5):
                while router.telephony_up:  # noqa: ASYNC110 - the ACD has seen the link is down
                    await asyncio.sleep(0.02)
            assert router.agent_state("1001") is AgentState.AVAILABLE  # not paused for "no answer"
            view = router.snapshot(hotline.container.acd.clock()).agent("1001")
            assert view.missed == 0
            assert router.kpis(hotline.container.acd.clock()).queue("support").waiting == 1
        pop = await next_message(ws, "pop", timeout=10)  # offered once the link is back
        assert [c["name"] for c in pop["customers"]] == ["王小明"]
        redirects = [a for a in hotline.pbx.actions_received if a["Action"] == "Redirect"]
        assert redirects and redirects[-1]["Context"] == "hotline-connect"
        await alice.aclose()
