"""In-process message bus: events to every subscriber, commands to their one handler, per-call order.

Events (routing.events) are facts: every subscriber gets each one, in
subscription order, and nothing answers. Commands (routing.commands.BusCommand)
are orders: each kind has exactly one handler, registered with `handle`, and
`send` returns the future of its reply (the handler's result or its error), as
cosmicpython's message bus separates them.

Both are sharded by `call_id` (agent events by agent id): one worker per shard
takes events and commands in the order they were put, so a command about a
call is carried out after the events of that call that came before it (a
caller's "call me back" reaches the router after their OFFERED did), while
different calls proceed in parallel. Queues are bounded: a publisher waits
when its shard is full (back-pressure on the PBX reader) instead of memory
growing without end.

Two lanes per shard. Subscribers registered with `behind=True` (the call log, the
desk's bookkeeping, recordings: whatever writes to the database and nobody on the
line waits for) run on the shard's second worker: the first worker hands each event
on once its own subscribers (intake, router, pops, wallboard) have run, so a pop or
a routing decision never queues behind another call's transactions. Each lane keeps
every call's order; an event reaches the lane behind only after the lane in front
has handled it. The queue between them is bounded too: when persistence falls
behind by `maxsize` events, the front waits, then the publisher, then the PBX
reader, and callers wait in the PBX's queue, so new work is never accepted faster
than it is written. `depths()` counts both lanes (the backlog on the wallboard,
/api/health and /metrics).

A subscriber that raises is logged with the event and counted; the other
subscribers and later events still run (one broken consumer must not stop
screen pops). The exception is not swallowed silently: it is in the log and in
`stats`. A command handler's error is its reply: it goes to the sender.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from routing.commands import BusCommand
from routing.events import AgentEvent, CallEvent, Event

log = logging.getLogger(__name__)

Handler = Callable[[Event], Awaitable[None]]
C = TypeVar("C", bound=BusCommand)
_Run = Callable[[BusCommand], Awaitable[object]]


class NoHandler(LookupError):
    """A command was sent that no handler was registered for (a wiring mistake)."""


@dataclass
class BusStats:
    published: int = 0
    delivered: int = 0
    commands: int = 0
    handler_errors: dict[str, int] = field(default_factory=dict)
    # per subscriber: events handled and the wall time they took (awaits included: what a call waits)
    handled: dict[str, int] = field(default_factory=dict)
    handler_seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Order:
    command: BusCommand
    reply: asyncio.Future[object]


class EventBus:
    def __init__(self, *, shards: int = 8, maxsize: int = 1000, writers_behind: int | None = None) -> None:
        """`writers_behind`: how many shards' lanes behind may deliver at once (None: all). A
        database with one writer (SQLite) is given 1: its transactions then take turns here, in
        order, instead of polling its file lock (busy_timeout sleeps of up to 100 ms each).
        PostgreSQL keeps all (taking turns there made the start-up recovery, which waits for
        every replayed event to be written, too slow for the crash test on a loaded machine)."""
        if shards < 1:
            raise ValueError("shards must be >= 1")
        self._writers = asyncio.Semaphore(writers_behind) if writers_behind else None
        self._queues: list[asyncio.Queue[Event | _Order]] = [asyncio.Queue(maxsize) for _ in range(shards)]
        self._behind: list[asyncio.Queue[Event]] = [asyncio.Queue(maxsize) for _ in range(shards)]
        self._handlers: list[tuple[str, Handler]] = []
        self._behind_handlers: list[tuple[str, Handler]] = []
        self._commands: dict[type[object], _Run] = {}
        self.stats = BusStats()

    def subscribe(self, name: str, handler: Handler, *, behind: bool = False) -> None:
        """Register an event subscriber; call before `run()`. Subscribers must be idempotent.

        `behind=True`: the subscriber runs on the lane behind (persistence), after every
        subscriber in front has had the event; nothing in front waits for it.
        """
        (self._behind_handlers if behind else self._handlers).append((name, handler))

    def handle(self, kind: type[C], handler: Callable[[C], Awaitable[object]]) -> None:
        """Make `handler` the one handler of commands of `kind`. A second handler is a wiring error."""
        key: type[object] = kind
        if key in self._commands:
            raise ValueError(f"{kind.__name__} already has a handler")

        async def run(command: BusCommand) -> object:
            assert isinstance(command, kind)
            return await handler(command)

        self._commands[key] = run

    def _shard(self, key: str) -> asyncio.Queue[Event | _Order]:
        return self._queues[zlib.crc32(key.encode()) % len(self._queues)]

    def depths(self) -> list[int]:
        """How many events and commands wait in each shard, both lanes (health, metrics)."""
        return [front.qsize() + back.qsize() for front, back in zip(self._queues, self._behind, strict=True)]

    @property
    def capacity(self) -> int:
        return self._queues[0].maxsize

    async def publish(self, event: Event) -> None:
        key = event.call_id if isinstance(event, CallEvent) else f"agent:{event.agent}"
        await self._shard(key).put(event)
        self.stats.published += 1

    async def send(self, command: BusCommand) -> asyncio.Future[object]:
        """Queue `command` behind the earlier events of its call; the future gets its reply.

        Waits only while the shard is full, never for the handler: await the
        returned future for the reply (NoHandler if nobody handles this kind).
        """
        reply: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        await self._shard(command.call_id).put(_Order(command, reply))
        self.stats.commands += 1
        return reply

    async def join(self) -> None:
        """Wait until every published event and sent command has been handled (tests, shutdown)."""
        for queue in self._queues:
            await queue.join()
        for behind in self._behind:  # filled by the front lane before its task_done: joined after it
            await behind.join()

    async def run(self) -> None:
        """Deliver until cancelled. Run it as a task of the app's TaskGroup."""
        async with asyncio.TaskGroup() as group:
            for index, (queue, behind) in enumerate(zip(self._queues, self._behind, strict=True)):
                group.create_task(self._worker(queue, behind), name=f"bus-shard-{index}")
                group.create_task(self._worker_behind(behind), name=f"bus-shard-{index}-behind")

    async def _worker(self, queue: asyncio.Queue[Event | _Order], behind: asyncio.Queue[Event]) -> None:
        while True:
            item = await queue.get()
            try:
                if isinstance(item, _Order):
                    await self._carry_out(item)
                else:
                    await self._deliver(item, self._handlers)
                    if self._behind_handlers:
                        await behind.put(item)  # waits while persistence is `maxsize` behind
                    else:
                        self.stats.delivered += 1
            finally:
                queue.task_done()

    async def _worker_behind(self, behind: asyncio.Queue[Event]) -> None:
        while True:
            event = await behind.get()
            try:
                if self._writers is None:
                    await self._deliver(event, self._behind_handlers)
                else:
                    async with self._writers:
                        await self._deliver(event, self._behind_handlers)
                self.stats.delivered += 1
            finally:
                behind.task_done()

    async def _deliver(self, event: Event, handlers: list[tuple[str, Handler]]) -> None:
        stats = self.stats
        for name, handler in handlers:
            began = time.perf_counter()
            try:
                await handler(event)
            except Exception:
                stats.handler_errors[name] = stats.handler_errors.get(name, 0) + 1
                log.exception("handler %s failed on %s", name, _describe(event))
            stats.handled[name] = stats.handled.get(name, 0) + 1
            stats.handler_seconds[name] = stats.handler_seconds.get(name, 0.0) + time.perf_counter() - began

    async def _carry_out(self, order: _Order) -> None:
        run = self._commands.get(type(order.command))
        try:
            if run is None:
                raise NoHandler(f"no handler for {type(order.command).__name__}")
            result = await run(order.command)
        except Exception as exc:  # the reply: the sender decides what a refusal means
            if not order.reply.done():
                order.reply.set_exception(exc)
            return
        if not order.reply.done():
            order.reply.set_result(result)


def _describe(event: Event) -> str:
    if isinstance(event, AgentEvent):
        return f"agent event {event.kind} agent={event.agent} id={event.event_id}"
    return f"call event {event.kind} call={event.call_id} id={event.event_id}"
