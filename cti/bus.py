"""In-process event bus with per-call ordering and bounded queues.

Events are sharded by `call_id` (agent events by agent id): one worker per
shard delivers each event to every subscriber in subscription order, so all
handlers see one call's events in the order they happened, while different
calls proceed in parallel. Queues are bounded: a publisher waits when its shard
is full (back-pressure on the PBX reader) instead of memory growing without end.

A handler that raises is logged with the event and counted; the other handlers
and later events still run (one broken consumer must not stop screen pops).
The exception is not swallowed silently: it is in the log and in `stats`.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from routing.events import AgentEvent, CallEvent, Event

log = logging.getLogger(__name__)

Handler = Callable[[Event], Awaitable[None]]


@dataclass
class BusStats:
    published: int = 0
    delivered: int = 0
    handler_errors: dict[str, int] = field(default_factory=dict)


class EventBus:
    def __init__(self, *, shards: int = 8, maxsize: int = 1000) -> None:
        if shards < 1:
            raise ValueError("shards must be >= 1")
        self._queues: list[asyncio.Queue[Event]] = [asyncio.Queue(maxsize) for _ in range(shards)]
        self._handlers: list[tuple[str, Handler]] = []
        self.stats = BusStats()

    def subscribe(self, name: str, handler: Handler) -> None:
        """Register a handler; call before `run()`. Handlers must be idempotent."""
        self._handlers.append((name, handler))

    def _shard(self, event: Event) -> asyncio.Queue[Event]:
        key = event.call_id if isinstance(event, CallEvent) else f"agent:{event.agent}"
        return self._queues[zlib.crc32(key.encode()) % len(self._queues)]

    async def publish(self, event: Event) -> None:
        await self._shard(event).put(event)
        self.stats.published += 1

    async def join(self) -> None:
        """Wait until every published event has been handled (tests, shutdown)."""
        for queue in self._queues:
            await queue.join()

    async def run(self) -> None:
        """Deliver events until cancelled. Run it as a task of the app's TaskGroup."""
        async with asyncio.TaskGroup() as group:
            for index, queue in enumerate(self._queues):
                group.create_task(self._worker(queue), name=f"bus-shard-{index}")

    async def _worker(self, queue: asyncio.Queue[Event]) -> None:
        while True:
            event = await queue.get()
            try:
                for name, handler in self._handlers:
                    try:
                        await handler(event)
                    except Exception:
                        self.stats.handler_errors[name] = self.stats.handler_errors.get(name, 0) + 1
                        log.exception("handler %s failed on %s", name, _describe(event))
                self.stats.delivered += 1
            finally:
                queue.task_done()


def _describe(event: Event) -> str:
    if isinstance(event, AgentEvent):
        return f"agent event {event.kind} agent={event.agent} id={event.event_id}"
    return f"call event {event.kind} call={event.call_id} id={event.event_id}"
