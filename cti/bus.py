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

Group commit behind. The lane behind has `writers_behind` workers (SQLite: one, its
single writer; default: one per shard), each fed by the front shards by call key, so
each call's events still reach one worker in order. A worker takes everything queued
for it (at most BATCH_MAX events, across calls) and hands the batch to each subscriber
behind in turn: a subscriber registered with `subscribe_batch` writes it in one
transaction instead of one per event ("fewer, bigger transactions"); idle, a batch is
one event. A batch that fails is delivered again event by event (subscribers are
idempotent), so one bad event is logged and counted alone and the others are kept.

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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from routing.commands import BusCommand
from routing.events import AgentEvent, CallEvent, Event

log = logging.getLogger(__name__)

Handler = Callable[[Event], Awaitable[None]]
BatchHandler = Callable[[Sequence[Event]], Awaitable[None]]
BATCH_MAX = 256  # events per batch behind: one transaction's worth, not a whole backlog
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
        """`writers_behind`: how many workers deliver the lane behind (None: one per shard). A
        database with one writer (SQLite) is given 1: its transactions then take turns here, in
        order, each carrying every event queued meanwhile, instead of polling its file lock
        (busy_timeout sleeps of up to 100 ms each)."""
        if shards < 1:
            raise ValueError("shards must be >= 1")
        lanes = writers_behind or shards
        self._queues: list[asyncio.Queue[Event | _Order]] = [asyncio.Queue(maxsize) for _ in range(shards)]
        self._behind: list[asyncio.Queue[Event]] = [asyncio.Queue(maxsize) for _ in range(lanes)]
        self._handlers: list[tuple[str, Handler]] = []
        self._behind_handlers: list[tuple[str, BatchHandler]] = []
        self._commands: dict[type[object], _Run] = {}
        self._on_publish: list[Callable[[Event], None]] = []
        self.stats = BusStats()
        self.batches_behind = 0  # batches delivered behind (events / batches: the group-commit factor)

    def subscribe(self, name: str, handler: Handler, *, behind: bool = False) -> None:
        """Register an event subscriber; call before `run()`. Subscribers must be idempotent.

        `behind=True`: the subscriber runs on the lane behind (persistence), after every
        subscriber in front has had the event; nothing in front waits for it.
        """
        if not behind:
            self._handlers.append((name, handler))
            return

        async def one_by_one(events: Sequence[Event]) -> None:
            for event in events:
                await handler(event)

        self._behind_handlers.append((name, one_by_one))

    def subscribe_batch(self, name: str, handler: BatchHandler) -> None:
        """Register a subscriber behind that takes the events queued meanwhile together, in
        order (per call as published), and should write them in one transaction. Idempotent:
        after a failure the same events come again, one at a time."""
        self._behind_handlers.append((name, handler))

    def handle(self, kind: type[C], handler: Callable[[C], Awaitable[object]]) -> None:
        """Make `handler` the one handler of commands of `kind`. A second handler is a wiring error."""
        key: type[object] = kind
        if key in self._commands:
            raise ValueError(f"{kind.__name__} already has a handler")

        async def run(command: BusCommand) -> object:
            assert isinstance(command, kind)
            return await handler(command)

        self._commands[key] = run

    def shard_of(self, key: str) -> int:
        """The shard a call's (or agent's) events and commands go through, in order."""
        return zlib.crc32(key.encode()) % len(self._queues)

    def _shard(self, key: str) -> asyncio.Queue[Event | _Order]:
        return self._queues[self.shard_of(key)]

    def _lane_behind(self, key: str) -> asyncio.Queue[Event]:
        return self._behind[zlib.crc32(key.encode()) % len(self._behind)]

    def depths(self) -> list[int]:
        """How many events and commands wait in each shard, the lane behind counted with the shard
        of the same number (health, metrics, the wallboard's backlog)."""
        count = max(len(self._queues), len(self._behind))
        front = [q.qsize() for q in self._queues] + [0] * (count - len(self._queues))
        back = [q.qsize() for q in self._behind] + [0] * (count - len(self._behind))
        return [a + b for a, b in zip(front, back, strict=True)]

    @property
    def capacity(self) -> int:
        return self._queues[0].maxsize

    def on_publish(self, observer: Callable[[Event], None]) -> None:
        """`observer` sees every event as it is published, before any shard has it: the one order
        across calls that the bus keeps (shards deliver different calls in parallel). It must be
        quick and must not raise: it runs in the publisher's task (the router notes each offer's
        place in arrival order with it)."""
        self._on_publish.append(observer)

    async def publish(self, event: Event) -> None:
        for observer in self._on_publish:
            observer(event)
        await self._shard(_key(event)).put(event)
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
            for index, queue in enumerate(self._queues):
                group.create_task(self._worker(queue), name=f"bus-shard-{index}")
            for index, behind in enumerate(self._behind):
                group.create_task(self._worker_behind(behind), name=f"bus-behind-{index}")

    async def _worker(self, queue: asyncio.Queue[Event | _Order]) -> None:
        while True:
            item = await queue.get()
            try:
                if isinstance(item, _Order):
                    await self._carry_out(item)
                else:
                    await self._deliver(item, self._handlers)
                    if self._behind_handlers:
                        # waits while persistence is `maxsize` behind
                        await self._lane_behind(_key(item)).put(item)
                    else:
                        self.stats.delivered += 1
            finally:
                queue.task_done()

    async def _worker_behind(self, behind: asyncio.Queue[Event]) -> None:
        while True:
            batch = [await behind.get()]
            while len(batch) < BATCH_MAX and not behind.empty():
                batch.append(behind.get_nowait())
            try:
                await self._deliver_batch(batch)
                self.stats.delivered += len(batch)
                self.batches_behind += 1
            finally:
                for _ in batch:
                    behind.task_done()

    async def _deliver_batch(self, batch: list[Event]) -> None:
        stats = self.stats
        for name, handler in self._behind_handlers:
            began = time.perf_counter()
            try:
                await handler(batch)
            except Exception:
                if len(batch) == 1:
                    stats.handler_errors[name] = stats.handler_errors.get(name, 0) + 1
                    log.exception("handler %s failed on %s", name, _describe(batch[0]))
                else:  # one bad event must not cost the others: each again, alone (idempotent)
                    log.warning("handler %s failed on a batch of %d: again one by one", name, len(batch))
                    for event in batch:
                        try:
                            await handler([event])
                        except Exception:
                            stats.handler_errors[name] = stats.handler_errors.get(name, 0) + 1
                            log.exception("handler %s failed on %s", name, _describe(event))
            stats.handled[name] = stats.handled.get(name, 0) + len(batch)
            stats.handler_seconds[name] = stats.handler_seconds.get(name, 0.0) + time.perf_counter() - began

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


def _key(event: Event) -> str:
    return event.call_id if isinstance(event, CallEvent) else f"agent:{event.agent}"


def _describe(event: Event) -> str:
    if isinstance(event, AgentEvent):
        return f"agent event {event.kind} agent={event.agent} id={event.event_id}"
    return f"call event {event.kind} call={event.call_id} id={event.event_id}"
