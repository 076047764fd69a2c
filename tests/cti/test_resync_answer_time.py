"""Found on a real Asterisk 22.10.1 (tests/fixtures/live-22.10.1/observe-outage-relogin.ami): a call
answered during an AMI outage got `answered_at` equal to its offer time after the resync. Its agent
leg is a Local channel app_queue made when it began ringing the member, so the leg's age says when
the ring began, not the answer. app_queue's QEHOLDTIME on the caller's channel (queues.conf
`setqueueentryvar = yes`, as shipped) says how long the caller waited before the answer."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlmodel import select

from calls.models import CallRecord
from calls.reports import is_answered, wait_s
from cti.simulator import AgentBehaviour
from tests.harness import running_hotline

RING_S = 3.0


async def test_a_call_answered_during_an_outage_keeps_the_pbx_answer_time(
    database_url: str, tmp_path: Path
) -> None:
    agents = {"1001": AgentBehaviour(ring_s=RING_S), "1002": AgentBehaviour(ring_s=RING_S)}
    async with (
        running_hotline(database_url, tmp_path, mode="observe", speed=1.0, agents=agents) as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        await hotline.console(stack, "1001")
        await hotline.console(stack, "1002")
        async with hotline.pbx_unreachable():
            await hotline.act_unheard(
                "Originate",
                Channel="Local/support@hotline",
                Context="phones",
                Exten="talk-30",  # live at the resync
                Priority="1",
                CallerID="+8613800138002",
                Async="true",
            )
            await asyncio.sleep(RING_S + 1.5)  # rung for RING_S, then answered, all unheard

        sessions = hotline.container.sessions
        async with asyncio.timeout(10):
            while True:
                await hotline.container.bus.join()
                async with sessions() as session:
                    records = (await session.exec(select(CallRecord))).all()
                if records and records[0].answered_at is not None:
                    break
                await asyncio.sleep(0.1)
        (record,) = records
        assert record.offered_at is not None and record.answered_at is not None
        waited = (record.answered_at - record.offered_at).total_seconds()
        # whole seconds on both sides (the channel's age, QEHOLDTIME): within a second of the ring
        assert RING_S - 1.0 <= waited <= RING_S + 1.0, waited


async def test_without_a_pbx_time_the_answer_time_is_left_unknown_and_the_call_answered(
    database_url: str, tmp_path: Path
) -> None:
    """queues.conf without `setqueueentryvar`: no QEHOLDTIME, nothing dates the answer. The row
    keeps answered_at empty (not the offer time), and the call still counts as answered."""
    agents = {"1001": AgentBehaviour(ring_s=RING_S), "1002": AgentBehaviour(ring_s=RING_S)}
    async with (
        running_hotline(database_url, tmp_path, mode="observe", speed=1.0, agents=agents) as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        await hotline.console(stack, "1001")
        await hotline.console(stack, "1002")
        async with hotline.pbx_unreachable():
            await hotline.act_unheard(
                "Originate",
                Channel="Local/support@hotline",
                Context="phones",
                Exten="talk-9",  # live at the resync, over a few seconds after it
                Priority="1",
                CallerID="+8613800138002",
                Async="true",
            )
            await asyncio.sleep(RING_S + 1.5)
            for channel in hotline.pbx.core.channels.values():
                channel.variables.pop("QEHOLDTIME", None)

        sessions = hotline.container.sessions
        async with asyncio.timeout(15):
            while True:
                await hotline.container.bus.join()
                async with sessions() as session:
                    records = (await session.exec(select(CallRecord))).all()
                if records and records[0].ended_at is not None:
                    break
                await asyncio.sleep(0.1)
        (record,) = records
        assert record.agent_id in ("1001", "1002") and record.outcome == "answered"
        assert record.offered_at is not None and record.answered_at is None
        assert is_answered(record) and wait_s(record) is None
