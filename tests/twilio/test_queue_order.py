"""Two callers in one queue hear their places in the order they came, whichever intake ends first.

The desk's intake of an offered call (customer match, ticket: a database write) runs on the call's
bus shard ahead of the router, each call on its own: the second caller's intake may end first. The
router used to number the calls in the order their intakes ended, so with equal arrival times (a
clock that has not moved on between two webhooks: a coarse one, a stepped-back one, the tests'
virtual one) the second caller was placed first (CI, PostgreSQL: "place 1" for the second caller);
and while the first caller's intake was still running, the second was told "place 1" although the
first would be put ahead of them a moment later: both callers heard "place 1".

Here the first caller's intake is held until the second caller (on another bus shard) is placed,
the race made certain.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from pathlib import Path

from routing.events import CallEvent
from tests.twilio.harness import TwilioHotline, spoken, twilio_hotline
from tickets.schemas import CallContext
from tickets.service import ServiceDesk


class HeldIntake:
    """The real service desk, whose intake of one caller's offer waits until released."""

    def __init__(self, desk: ServiceDesk, caller: str) -> None:
        self.desk, self.caller = desk, caller
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def on_call_offered(self, event: CallEvent) -> CallContext:
        if event.caller == self.caller:
            self.reached.set()
            await asyncio.wait_for(self.release.wait(), 10)
        return await self.desk.on_call_offered(event)

    def __getattr__(self, name: str) -> object:
        return getattr(self.desk, name)


async def _turn(hotline: TwilioHotline, held: ET.Element, sid: str, caller: str) -> ET.Element:
    redirect = held.find("Redirect")
    assert redirect is not None and redirect.text is not None, ET.tostring(held)
    return await hotline.twiml(redirect.text, hotline.call_params(sid, caller))


async def test_the_first_caller_is_ahead_even_when_the_second_callers_intake_ends_first(
    database_url: str, tmp_path: Path
) -> None:
    first, second = "+8613900000021", "+8613900000022"
    async with twilio_hotline(database_url, tmp_path) as hotline:
        intake = hotline.container.intake
        held = HeldIntake(intake.desk, first)
        intake.desk = held  # type: ignore[assignment]
        sid1, hold1 = await hotline.waiting(first)
        await asyncio.wait_for(held.reached.wait(), 10)
        # Calls on one shard take turns there anyway: the race is between two shards.
        sid2, menu2 = await hotline.incoming(second)
        while hotline.container.bus.shard_of(sid2) == hotline.container.bus.shard_of(sid1):
            sid2, menu2 = await hotline.incoming(second)
        hold2 = await hotline.choose(menu2, sid2, second, Digits="1")
        async with asyncio.timeout(10):  # the second caller is placed while the first's intake waits
            while hotline.container.router.position(sid2, hotline.clock()) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        meanwhile = await _turn(hotline, hold2, sid2, second)
        held.release.set()
        await hotline.settle()
        turn1 = await _turn(hotline, hold1, sid1, first)
        turn2 = await _turn(hotline, meanwhile, sid2, second)
    # never "place 1" while a caller who came first is on the way
    assert "您目前排在第 2 位" in spoken(meanwhile), spoken(meanwhile)
    assert "您目前排在第 1 位" in spoken(turn1), spoken(turn1)
    assert "您目前排在第 2 位" in spoken(turn2), spoken(turn2)
