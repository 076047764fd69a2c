"""Consoles held by web workers, as the router sees them: a web worker killed with its consoles
still logs their agents off.

A web worker's `Presence` logs an agent off once their last console is gone for the grace. A
worker killed with `kill -9` runs no timer: its agents stayed logged in, and the router kept
offering them calls that rang until the ring timeout, caller after caller, when their browsers
did not come back (closed, or the laptop asleep). So each web worker beats its consoles into
Redis (`PresenceBeat`: one set per worker, re-sent every `BEAT_S`, gone `TTL_S` after its last
beat), and the leader router reads every worker's set (`PresenceWatch`) and feeds its own
`Presence` one console per (worker, agent) pair: a pair that appears is `connected`, one that
goes (its worker dead, or the agent's last console there closed) is `disconnected`. The router's
`Presence` then does what a worker's does, with the router's own agent state: the grace, at once
when ringing, after the call when on one. An agent whose consoles moved to another worker keeps
a pair there and is not logged off.

A log-off the dead worker's own timer would have made is thus made by the router, later by at
most `TTL_S` + `BEAT_S`. Both may try one log-off (a live worker and the router): logging off a
logged-off agent does nothing.

Redis down: a worker's beat fails and is tried again; the watch keeps what it last read (it does
not take an unreadable Redis for "every console gone").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from cluster.cancellation import stop_if_cancelled

log = logging.getLogger(__name__)

BEAT_S = 2.0
TTL_S = 7.0  # three beats missed: the worker is gone (a kill -9, its host down)

Pair = tuple[str, str]  # (worker, agent)


class ConsoleCount(Protocol):
    """What the watch feeds: `agent_ui.presence.Presence`, one console per (worker, agent)."""

    async def connected(self, agent_id: str) -> None: ...

    async def disconnected(self, agent_id: str) -> None: ...


def worker_name() -> str:
    """This process's name in the beat: unique per process, readable in redis-cli."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class PresenceBeat:
    """A web worker's consoles, kept in Redis while the worker lives."""

    def __init__(
        self,
        redis: Redis,
        consoles: Callable[[], Iterable[str]],
        *,
        prefix: str,
        worker: str,
        ttl_s: float = TTL_S,
    ) -> None:
        """`consoles`: the agents with a console open on this worker now (`Presence.agents`)."""
        self._redis, self._consoles, self.worker = redis, consoles, worker
        self.ttl_ms = int(ttl_s * 1000)
        self.key = f"{prefix}presence:{worker}"

    async def beat(self) -> None:
        agents = sorted(set(self._consoles()))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.key)
            if agents:
                pipe.sadd(self.key, *agents)
                pipe.pexpire(self.key, self.ttl_ms)
            await pipe.execute()

    async def run(self) -> None:
        """Beat every BEAT_S until cancelled; on the way out the set goes at once."""
        try:
            while True:
                try:
                    await self.beat()
                except (RedisError, OSError) as exc:
                    stop_if_cancelled()
                    log.warning("presence beat of %s not sent: %s", self.worker, exc)
                stop_if_cancelled()
                await asyncio.sleep(BEAT_S)
        finally:  # a clean stop: the router need not wait for the expiry (else: TTL_S)
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                await asyncio.wait_for(self._redis.delete(self.key), 1.0)


class PresenceWatch:
    """The leader router's view of every worker's consoles, fed into its `Presence`."""

    def __init__(self, redis: Redis, presence: ConsoleCount, *, prefix: str) -> None:
        self._redis, self._presence = redis, presence
        self._pattern = f"{prefix}presence:*"
        self._strip = len(f"{prefix}presence:")
        self.pairs: set[Pair] = set()

    async def read(self) -> set[Pair]:
        pairs: set[Pair] = set()
        async for raw_key in self._redis.scan_iter(match=self._pattern, count=100):
            key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
            worker = key[self._strip :]
            for agent in await self._redis.smembers(key):
                pairs.add((worker, agent.decode() if isinstance(agent, bytes) else str(agent)))
        return pairs

    async def step(self) -> None:
        """Read once and apply what changed (Redis unreadable: nothing changes)."""
        try:
            now = await self.read()
        except (RedisError, OSError) as exc:
            stop_if_cancelled()
            log.warning("web workers' consoles not read: %s", exc)
            return
        stop_if_cancelled()  # a stopping router applies no read
        for _, agent in sorted(now - self.pairs):
            await self._presence.connected(agent)
        for worker, agent in sorted(self.pairs - now):
            log.info("agent %s has no console on %s any more", agent, worker)
            await self._presence.disconnected(agent)
        self.pairs = now

    async def run(self) -> None:
        while True:
            await self.step()
            stop_if_cancelled()
            await asyncio.sleep(BEAT_S)
