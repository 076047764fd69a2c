"""Control mode: an agent who does not answer in time is skipped and the next agent is rung."""

from __future__ import annotations

import contextlib
from pathlib import Path

import yaml

from config.settings import SAMPLE_CALLCENTER
from cti.simulator import AgentBehaviour
from tests.harness import next_message, no_message, running_hotline


def short_ring_callcenter(tmp_path: Path) -> Path:
    data = yaml.safe_load(SAMPLE_CALLCENTER.read_text(encoding="utf-8"))
    for queue in data["queues"]:
        queue["ring_timeout_s"] = 1
    path = tmp_path / "callcenter.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def test_unanswered_agent_is_skipped_and_the_next_agent_gets_the_call_and_the_pop(
    database_url: str, tmp_path: Path
) -> None:
    agents = {"1001": AgentBehaviour(ring_s=None), "1002": AgentBehaviour(ring_s=0.3)}
    async with (
        running_hotline(
            database_url, tmp_path, agents=agents, speed=1.0, callcenter_file=short_ring_callcenter(tmp_path)
        ) as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        alice, alice_ws, _ = await hotline.console(stack, "1001")
        bob, bob_ws, _ = await hotline.console(stack, "1002")

        await hotline.place_call("+8613800138000", name="王小明", talk=8)
        first = await next_message(alice_ws, "pop", timeout=5)  # Alice idled longest
        missed = await next_message(alice_ws, "call", timeout=5)
        assert missed["event"] == "ring_no_answer"
        second = await next_message(bob_ws, "pop", timeout=5)
        assert second["call_id"] == first["call_id"]
        assert second["ticket_id"] == first["ticket_id"]  # the same call: no second ticket
        answered = await next_message(bob_ws, "call", timeout=5)
        assert answered["event"] == "answered"
        assert await no_message(alice_ws, "pop", wait=0.3)
        dials = [
            a
            for a in hotline.pbx.actions_received
            if a["Action"] == "Setvar" and a["Variable"] == "HOTLINE_AGENT"
        ]
        assert [a["Value"] for a in dials] == ["1001", "1002"]
        await alice.aclose()
        await bob.aclose()
