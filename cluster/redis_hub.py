"""The live-push hub across processes: the router publishes, every web worker delivers.

`agent_ui.hub.Hub` keeps channels in one process's memory. With `--role router` and
`--role web` the router makes the pops and wallboard views while the consoles are
connected to web workers, so the channels live in Redis, with the same contract:

- one stream per channel (`<prefix>ch:<key>`), trimmed with `XADD MAXLEN ~` so it is the
  bounded backlog the in-process ring buffer was;
- each entry's id is `<seq>-0`, seq from an `INCR` per channel in the same Lua script as the
  `XADD`s, so the per-channel numbering a console reconnects with holds across workers (a
  console that reconnects to another worker sends its last seq and is caught up by
  `XRANGE` from that id);
- every publish also goes to one firehose stream (`<prefix>all`), which is what each process
  reads: one `XREAD BLOCK` reader per process, whatever the number of channels, dispatching to
  its local subscribers' bounded queues (a browser that stops reading is cut off, as in Hub).

`publish` stays synchronous (the console and wallboard call it from event handlers): it puts
the message on a bounded outbound queue that the writer task sends, batched in one pipeline.
A full outbound queue (Redis away for long) drops the message and counts it in `dropped`
(overflow is an event, never silent); a console's reconnect then catches up on what Redis has.

What can go wrong: Redis unreachable makes the reader and writer log and retry every
`RETRY_S`; the reader resumes from the last firehose id it saw, so messages kept in the
firehose meanwhile are still delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from cluster.cancellation import cancelled

log = logging.getLogger(__name__)

PREFIX = "hotline:hub:"
BACKLOG = 200  # per channel, as agent_ui.hub.BACKLOG (approximate: MAXLEN ~)
FIREHOSE_LEN = 10_000  # what a reader cut off for a moment can still find
QUEUE_SIZE = 256  # per subscriber, as agent_ui.hub.QUEUE_SIZE
OUTBOUND_SIZE = 10_000
BATCH = 200
BLOCK_MS = 5_000
RETRY_S = 1.0
RETRY_FIRST_S = 0.05  # a catch-up's first retry: a burst of reconnects is over in moments
CATCHUP_S = 10.0  # a catch-up that cannot read Redis this long closes its socket
HEAD_WAIT_S = 2.0  # a hello waits this long for a reader still starting, else it carries no seq

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)

POOL_SIZE = 64  # connections per process (`?max_connections=` in the URL says otherwise)
POOL_WAIT_S = 10.0  # a command waits this long for a free connection before it fails


def shared_client(url: str) -> Redis:
    """The Redis client a process of a cluster shares (hub, command channel, throttles). Its pool
    makes a command wait for a free connection instead of failing at once: redis-py's default
    pool raises MaxConnectionsError past 100 connections in use, and a web worker taking over
    a killed worker's hundred consoles opens that many catch-ups and greetings at once (each
    failure was a console caught up on nothing, its missed pops lost, issue #17)."""
    return Redis.from_pool(
        BlockingConnectionPool.from_url(url, max_connections=POOL_SIZE, timeout=POOL_WAIT_S)
    )


# KEYS: the channel's counter, its stream, the firehose. ARGV: payload, channel maxlen,
# firehose maxlen, channel key. Returns the message's seq.
_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'm', ARGV[1])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'c', ARGV[4], 's', seq, 'm', ARGV[1])
return seq
"""


# What XRANGE and XREAD answer on a client without decode_responses (redis-py types them loosely).
Entries = list[tuple[bytes, dict[bytes, bytes]]]


def _seq(entry_id: bytes) -> int:
    return int(entry_id.split(b"-")[0])


@dataclass(eq=False)
class Subscriber:
    """One open websocket, as agent_ui.hub.Subscriber. While its catch-up is read from Redis,
    live messages are held back and sent after it, those it already had skipped (`last`)."""

    key: str
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: bool = False
    last: int = 0
    held: list[dict[str, Any]] | None = None

    def offer(self, message: dict[str, Any]) -> None:
        if self.held is not None:
            self.held.append(message)
            return
        self._put(message)

    def _put(self, message: dict[str, Any]) -> None:
        if self.dropped or message["seq"] <= self.last:
            return
        self.last = message["seq"]
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("websocket %s is not reading; disconnecting it", self.key)
            self.cut()

    def cut(self) -> None:
        """Close the socket (None on the queue): its console reconnects and catches up."""
        self.dropped, self.held = True, None
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)
            return
        self.queue.get_nowait()
        self.queue.put_nowait(None)

    def caught_up(self, missed: list[dict[str, Any]]) -> None:
        held, self.held = self.held or [], None
        for message in [*missed, *held]:
            self._put(message)


class RedisHub:
    """The Hub's interface (subscribe, unsubscribe, publish, to_agent, to_supervisors,
    connected) over Redis Streams. `run()` is the reader and writer: a task of the process's
    TaskGroup. A publish-only process (the router) runs it too (its writer)."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = PREFIX,
        backlog: int = BACKLOG,
        firehose_len: int = FIREHOSE_LEN,
        outbound_size: int = OUTBOUND_SIZE,
        read: bool = True,
        catchup_s: float = CATCHUP_S,
    ) -> None:
        self.redis, self.prefix, self.backlog_len, self.firehose_len = redis, prefix, backlog, firehose_len
        self.read, self.catchup_s = read, catchup_s
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._outbound: asyncio.Queue[tuple[str, str]] = asyncio.Queue(outbound_size)
        self._catchups: set[asyncio.Task[None]] = set()
        self._script = redis.register_script(_PUBLISH)
        self.dropped = 0  # messages lost to a full outbound queue
        self._idle = asyncio.Event()  # no batch on its way (flushed() waits for it)
        self._idle.set()
        self.sent = 0
        self.ready = asyncio.Event()  # the reader knows where the firehose ends: live from here on

    def _channel(self, key: str) -> str:
        return f"{self.prefix}ch:{key}"

    # ------------------------------------------------------------------ subscribing
    def subscribe(self, key: str, after_seq: int | None = None) -> Subscriber:
        sub = Subscriber(key)
        self._subscribers.setdefault(key, set()).add(sub)
        if after_seq is not None:
            sub.held, sub.last = [], after_seq
            task = asyncio.create_task(self._catch_up(sub, after_seq), name=f"hub-catchup-{key}")
            self._catchups.add(task)
            task.add_done_callback(self._catchups.discard)
        return sub

    async def _catch_up(self, sub: Subscriber, after_seq: int) -> None:
        """Read what the console missed. A failed read is tried again (the backlog is still in
        Redis: giving up would lose the pops published while the console moved between workers);
        if Redis stays away for `catchup_s` the socket is cut (close 1013), so the console
        reconnects and asks again from the same seq, rather than being served live messages
        after a gap it cannot see.

        It reads only once the firehose reader knows where it starts (`ready`): the reader
        delivers what comes after the firehose's end at its start, so a backlog read before
        that (a worker just started, its consoles reconnecting) missed what came in between."""
        deadline = asyncio.get_running_loop().time() + self.catchup_s
        if not await self._reading(self.catchup_s):
            log.warning(
                "the hub reader has not started in %.0f s: closing the socket of %s", self.catchup_s, sub.key
            )
            sub.cut()
            return
        pause = RETRY_FIRST_S
        while True:
            try:
                raw = await self.redis.xrange(self._channel(sub.key), min=f"({after_seq}-0", max="+")
                break
            except REDIS_DOWN as exc:
                if cancelled():
                    raise asyncio.CancelledError from None
                if sub not in self._subscribers.get(sub.key, ()):
                    return  # its socket closed meanwhile
                if asyncio.get_running_loop().time() + pause > deadline:
                    log.warning(
                        "cannot read the backlog of %s from Redis (%r): closing its socket", sub.key, exc
                    )
                    sub.cut()
                    return
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_S)
        sub.caught_up([{**json.loads(fields[b"m"]), "seq": _seq(eid)} for eid, fields in cast(Entries, raw)])

    def unsubscribe(self, sub: object) -> None:
        """`sub` is one this hub's `subscribe` returned (typed loosely: the Hub protocol's
        Channel is agent_ui's, which cluster may not import)."""
        subs = self._subscribers.get(sub.key) if isinstance(sub, Subscriber) else None
        if subs is not None and isinstance(sub, Subscriber):
            subs.discard(sub)

    def connected(self, key: str) -> int:
        """Subscribers in this process. A publish-only hub (the router) cannot see the web
        workers' consoles, so it answers 1: the wallboard keeps publishing its view."""
        return len(self._subscribers.get(key, ())) if self.read else 1

    async def _reading(self, within: float) -> bool:
        """Wait (at most `within` s) until the reader is live: it knows where the firehose ends."""
        try:
            async with asyncio.timeout(within):
                await self.ready.wait()
        except TimeoutError:
            return False
        return True

    async def head(self, key: str) -> int | None:
        """The channel's last seq (its INCR counter; 0 before any message), None if Redis does
        not answer. Read after `subscribe`: every message numbered above it reaches that
        subscriber live (the firehose reader dispatches what it reads after the subscription),
        once the reader is live: before that, None (HEAD_WAIT_S)."""
        if not await self._reading(HEAD_WAIT_S):
            return None
        try:
            value = await self.redis.get(f"{self.prefix}seq:{key}")
        except REDIS_DOWN:
            return None
        return int(value) if value is not None else 0

    # ------------------------------------------------------------------ publishing
    def publish(self, key: str, message: dict[str, Any]) -> dict[str, Any]:
        """Queue `message` for Redis; its seq is given there (the returned dict has none)."""
        try:
            self._outbound.put_nowait((key, json.dumps(message)))
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("Redis hub outbound queue full: message to %s dropped (%d so far)", key, self.dropped)
        return message

    def to_agent(self, agent_id: str, message: dict[str, Any]) -> dict[str, Any]:
        return self.publish(f"agent:{agent_id}", message)

    def to_supervisors(self, message: dict[str, Any]) -> dict[str, Any]:
        return self.publish("supervisors", message)

    async def publish_now(self, key: str, message: dict[str, Any]) -> int:
        """Send one message at once and return its seq (tests, tools)."""
        seq = await self._script(keys=self._keys(key), args=self._args(key, json.dumps(message)))
        return int(seq)

    async def recent(self, keys: list[str], count: int) -> dict[str, list[dict[str, Any]]]:
        """The last `count` messages of each channel in `keys` (with their seq), oldest first: what
        a new leader's console service reads back (agent_ui.console.ConsoleService.restore). One
        round trip for all of them."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.xrevrange(self._channel(key), count=count)
            replies = await pipe.execute()
        return {
            key: [
                {**json.loads(fields[b"m"]), "seq": _seq(eid)} for eid, fields in reversed(cast(Entries, raw))
            ]
            for key, raw in zip(keys, replies, strict=True)
        }

    def _keys(self, key: str) -> list[str]:
        return [f"{self.prefix}seq:{key}", self._channel(key), f"{self.prefix}all"]

    def _args(self, key: str, payload: str) -> list[str | int]:
        return [payload, self.backlog_len, self.firehose_len, key]

    async def flushed(self) -> None:
        """Wait until every queued message went to Redis (tests, shutdown)."""
        while not self._outbound.empty() or not self._idle.is_set():
            await self._idle.wait()
            await asyncio.sleep(0)

    # ------------------------------------------------------------------ the tasks
    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._writer(), name="redis-hub-writer")
            if self.read:
                group.create_task(self._reader(), name="redis-hub-reader")

    async def shared_epoch(self) -> str:
        """The name of this Redis's sequence numbers, the same in every process (a console's
        `epoch`): set once, so a console reconnecting to another worker is caught up; a Redis
        that lost its keys has a new one, and consoles then get the hello without a backlog."""
        key = f"{self.prefix}epoch"
        await self.redis.set(key, uuid.uuid4().hex[:12], nx=True)
        value = await self.redis.get(key)
        return value.decode() if isinstance(value, bytes) else str(value)

    async def close(self) -> None:
        for task in list(self._catchups):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _writer(self) -> None:
        while not cancelled():  # redis-py may swallow a cancellation and return
            batch = [await self._outbound.get()]
            while len(batch) < BATCH and not self._outbound.empty():
                batch.append(self._outbound.get_nowait())
            self._idle.clear()
            try:
                while True:
                    try:
                        async with self.redis.pipeline(transaction=False) as pipe:
                            for key, payload in batch:
                                await self._script(
                                    keys=self._keys(key), args=self._args(key, payload), client=pipe
                                )
                            await pipe.execute()
                        self.sent += len(batch)
                        break
                    except REDIS_DOWN:
                        if cancelled():
                            raise asyncio.CancelledError from None
                        log.warning("Redis unreachable: %d hub messages wait to be sent", len(batch))
                        await asyncio.sleep(RETRY_S)
            finally:
                self._idle.set()

    async def _reader(self) -> None:
        firehose = f"{self.prefix}all"
        last: bytes | None = None
        while not cancelled():  # redis-py may swallow a cancellation and return
            try:
                if last is None:
                    newest = cast(Entries, await self.redis.xrevrange(firehose, count=1))
                    last = newest[0][0] if newest else b"0-0"
                    self.ready.set()
                replies = await self.redis.xread({firehose: last}, count=BATCH, block=BLOCK_MS)
            except REDIS_DOWN:
                if cancelled():
                    raise asyncio.CancelledError from None
                log.warning("Redis unreachable: the hub reader retries in %.0f s", RETRY_S)
                await asyncio.sleep(RETRY_S)
                continue
            for _stream, entries in cast(list[tuple[bytes, Entries]], replies):
                for eid, fields in entries:
                    last = eid
                    self._deliver(fields[b"c"].decode(), int(fields[b"s"]), fields[b"m"])

    def _deliver(self, key: str, seq: int, payload: bytes) -> None:
        subs = self._subscribers.get(key)
        if not subs:
            return
        message = {**json.loads(payload), "seq": seq}
        for sub in list(subs):
            sub.offer(message)
