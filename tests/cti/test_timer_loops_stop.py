"""The presence loop stops when cancelled, even while it is woken.

It waits for its next deadline or a wake-up (as do the ACD's timer loop and the wallboard's).
Through `asyncio.wait_for` a cancellation that landed as the wake-up fired was lost on Python
3.11 (CPython gh-86296: wait_for returns the finished wait instead of raising): the loop went
on, and the TaskGroup stopping the process (`Container.run`, a router's takeover or shutdown)
waited for it for ever. Here the loop is woken on every turn while it is cancelled; it must end
within half a second. Before the change 40 of 40 loops went on.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from agent_ui.presence import Presence
from cti.acd import AcdService
from routing.agent_state import AgentState
from tests.routing.helpers import make_router

TRIALS = 40


async def _went_on(run: Callable[[], Coroutine[Any, Any, None]], wake: Callable[[], Awaitable[None]]) -> int:
    """How many of TRIALS loops, woken without pause, did not end within 0.5 s of their cancel."""
    rng = random.Random(17)
    stuck = 0
    for _ in range(TRIALS):
        loop = asyncio.create_task(run())

        async def waking() -> None:
            while True:
                await wake()
                await asyncio.sleep(0)

        waker = asyncio.create_task(waking())
        await asyncio.sleep(rng.uniform(0.001, 0.01))
        loop.cancel()
        done, _ = await asyncio.wait({loop}, timeout=0.5)
        waker.cancel()
        if not done:
            stuck += 1
            loop.cancel()  # nothing wakes it now: this cancel lands
        await asyncio.wait({loop, waker}, timeout=1.0)
    return stuck


async def test_the_presence_loop_stops_when_cancelled_as_it_is_woken() -> None:
    async def on_a_call(_agent: str) -> AgentState:
        return AgentState.ON_CALL

    acd = AcdService(make_router(mode="control"), None, control=True)
    presence = Presence(acd, grace_s=60.0, clock=lambda: 0.0, state_of=on_a_call)

    async def console_closed() -> None:  # schedules a log-off after the grace: a wake-up
        await presence.connected("a1")
        await presence.disconnected("a1")

    stuck = await _went_on(presence.run, console_closed)
    assert stuck == 0, f"{stuck} of {TRIALS} presence loops went on after their cancellation"
