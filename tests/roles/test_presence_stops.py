"""The presence beat and watch stop when cancelled, even when redis-py swallows the cancellation.

A cancellation that reaches a Redis command at the moment its send completes is lost: redis-py
sends through `asyncio.wait_for`, which on Python 3.11 returns the finished send's result instead
of raising (CPython gh-86296, fixed in 3.12), and the command then answers normally. A loop that
only stops on CancelledError goes on, and the TaskGroup cancelling it waits for ever: the router's
`PresenceWatch` so held a stopping router's `Container.run`, and the Twilio standby test hung to
its 120 s timeout (tests/twilio/test_call_book_takeover.py; its task dump: the watch "cancelling",
back in its sleep). The loops here beat and read without a pause, so most cancellations land in
a Redis command; each must end the loop within a second.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from redis.asyncio import Redis

from cluster import presence_beat
from cluster.presence_beat import PresenceBeat, PresenceWatch

TRIALS = 40


class Consoles:
    """What the watch feeds (agent_ui.presence.Presence's two calls), counted."""

    def __init__(self) -> None:
        self.open: dict[str, int] = {}

    async def connected(self, agent_id: str) -> None:
        self.open[agent_id] = self.open.get(agent_id, 0) + 1

    async def disconnected(self, agent_id: str) -> None:
        self.open[agent_id] -= 1


async def _still_running_after_cancel(start: Callable[[], Coroutine[Any, Any, None]], trials: int) -> int:
    """Start each loop (`start()` returns its coroutine), cancel it after a few ms of work; how
    many did not end within a second of their cancellation."""
    rng = random.Random(17)
    stuck = 0
    for _ in range(trials):
        task = asyncio.create_task(start())
        await asyncio.sleep(rng.uniform(0.002, 0.02))
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=1.0)
        if not done:
            stuck += 1
            task.cancel()  # once more: it is left running otherwise
            await asyncio.wait({task}, timeout=1.0)
    return stuck


async def test_the_routers_presence_watch_stops_when_cancelled_mid_read(
    redis: Redis, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(presence_beat, "BEAT_S", 0.0)  # read after read: cancellations land in reads
    await PresenceBeat(redis, lambda: ["1001", "1002"], prefix=key_prefix, worker="a").beat()
    consoles = Consoles()
    stuck = await _still_running_after_cancel(
        lambda: PresenceWatch(redis, consoles, prefix=key_prefix).run(), TRIALS
    )
    assert stuck == 0, f"{stuck} of {TRIALS} watches went on after their cancellation"
    assert set(consoles.open) == {"1001", "1002"}  # they did read the worker's consoles


async def test_a_web_workers_presence_beat_stops_when_cancelled_mid_beat(
    redis: Redis, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(presence_beat, "BEAT_S", 0.0)
    stuck = await _still_running_after_cancel(
        lambda: PresenceBeat(redis, lambda: ["1001"], prefix=key_prefix, worker="b").run(), TRIALS
    )
    assert stuck == 0, f"{stuck} of {TRIALS} beats went on after their cancellation"
    assert await redis.exists(f"{key_prefix}presence:b") == 0  # a clean stop removes the set
