"""Live push to browsers: each agent gets only their own messages.

Every message to an agent gets a per-agent sequence number and is kept in a
short ring buffer, so a console that reconnects after a dropped connection sends
the last number it saw and is sent what it missed (no lost screen pop).
Each connection has a bounded queue; a browser that stops reading is cut off
rather than allowed to grow memory or slow the others.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

BACKLOG = 200
QUEUE_SIZE = 256


class Channel(Protocol):
    """One subscription as a websocket reads it: None on its queue means "close"."""

    @property
    def key(self) -> str: ...

    @property
    def queue(self) -> asyncio.Queue[dict[str, Any] | None]: ...


class PushHub(Protocol):
    """What the console, wallboard and websockets need of a hub: this process's `Hub`
    (`--role all`), or `cluster.redis_hub.RedisHub` shared by a router and its web workers."""

    def subscribe(self, key: str, after_seq: int | None = None) -> Channel: ...

    def unsubscribe(self, sub: Channel) -> None: ...

    def publish(self, key: str, message: dict[str, Any]) -> dict[str, Any]: ...

    def to_agent(self, agent_id: str, message: dict[str, Any]) -> dict[str, Any]: ...

    def to_supervisors(self, message: dict[str, Any]) -> dict[str, Any]: ...

    def connected(self, key: str) -> int: ...

    async def head(self, key: str) -> int | None:
        """The seq of the channel's newest message (0: none yet; None: cannot tell now). A
        console subscribed without a catch-up is told it in its hello, so its next reconnect
        asks for what came after it, not for the whole backlog."""
        ...


@dataclass(eq=False)
class Subscriber:
    """One open websocket. `queue` holds messages to send; None means "close"."""

    key: str
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: bool = False

    def offer(self, message: dict[str, Any]) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped = True
            log.warning("websocket %s is not reading; disconnecting it", self.key)
            self.queue.get_nowait()
            self.queue.put_nowait(None)


class Hub:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._backlog: dict[str, deque[dict[str, Any]]] = {}
        self._seq: dict[str, itertools.count[int]] = {}

    # Channel keys: "agent:<id>" for one agent, "supervisors" for the wallboards.
    def subscribe(self, key: str, after_seq: int | None = None) -> Subscriber:
        sub = Subscriber(key)
        self._subscribers.setdefault(key, set()).add(sub)
        if after_seq is not None:
            for message in self._backlog.get(key, ()):
                if message["seq"] > after_seq:
                    sub.offer(message)
        return sub

    def unsubscribe(self, sub: Channel) -> None:
        subs = self._subscribers.get(sub.key)
        if subs is not None and isinstance(sub, Subscriber):
            subs.discard(sub)

    def publish(self, key: str, message: dict[str, Any]) -> dict[str, Any]:
        """Stamp `message` with the channel's next sequence number, keep it, send it."""
        counter = self._seq.setdefault(key, itertools.count(1))
        stamped = {**message, "seq": next(counter)}
        self._backlog.setdefault(key, deque(maxlen=BACKLOG)).append(stamped)
        for sub in list(self._subscribers.get(key, ())):
            sub.offer(stamped)
        return stamped

    def to_agent(self, agent_id: str, message: dict[str, Any]) -> dict[str, Any]:
        return self.publish(f"agent:{agent_id}", message)

    def to_supervisors(self, message: dict[str, Any]) -> dict[str, Any]:
        return self.publish("supervisors", message)

    def connected(self, key: str) -> int:
        return len(self._subscribers.get(key, ()))

    async def head(self, key: str) -> int | None:
        kept = self._backlog.get(key)
        return int(kept[-1]["seq"]) if kept else 0

    def backlog(self, key: str) -> Iterable[dict[str, Any]]:
        return tuple(self._backlog.get(key, ()))
