"""The Redis hub on a real Redis: per-channel order, catch-up on another process's hub, bounded
streams. Each test works under a key prefix of its own; the tests skip when Redis is down."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from cluster.redis_hub import RedisHub, Subscriber, shared_client

REDIS_URL = os.environ.get("HOTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Redis, str]]:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisConnectionError, OSError):
        await client.aclose()
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"hotline-test:{uuid.uuid4().hex[:10]}:"
    try:
        yield client, prefix
    finally:
        async for key in client.scan_iter(match=f"{prefix}*"):
            await client.delete(key)
        await client.aclose()


@contextlib.asynccontextmanager
async def running(hub: RedisHub) -> AsyncIterator[RedisHub]:
    task = asyncio.create_task(hub.run())
    try:
        await asyncio.wait_for(hub.ready.wait(), 5) if hub.read else None
        yield hub
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await hub.close()


async def receive(sub: Subscriber, n: int) -> list[dict[str, Any]]:
    return [m for m in [await asyncio.wait_for(sub.queue.get(), 5) for _ in range(n)] if m is not None]


async def test_a_publisher_reaches_a_subscriber_of_another_process_in_order(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    async with (
        running(RedisHub(client, prefix=prefix, read=False)) as router,
        running(RedisHub(client, prefix=prefix)) as web,
    ):
        sub = web.subscribe("agent:a1")
        other = web.subscribe("agent:a2")
        for i in range(50):
            router.to_agent("a1", {"type": "pop", "n": i})
        router.to_agent("a2", {"type": "pop", "n": 99})
        got = await receive(sub, 50)
        assert [m["n"] for m in got] == list(range(50))
        assert [m["seq"] for m in got] == list(range(1, 51))
        assert (await receive(other, 1))[0] == {"type": "pop", "n": 99, "seq": 1}
        assert sub.queue.empty()


async def test_a_console_reconnecting_to_another_worker_gets_what_it_missed(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    publisher = RedisHub(client, prefix=prefix, read=False)
    for i in range(1, 11):
        assert await publisher.publish_now("agent:a1", {"n": i}) == i
    async with running(RedisHub(client, prefix=prefix)) as second:
        sub = second.subscribe("agent:a1", after_seq=7)
        await publisher.publish_now("agent:a1", {"n": 11})  # live, while the catch-up may be under way
        got = await receive(sub, 4)
        assert [m["seq"] for m in got] == [8, 9, 10, 11]
        assert [m["n"] for m in got] == [8, 9, 10, 11]
        await asyncio.sleep(0.1)
        assert sub.queue.empty()  # nothing twice


async def test_streams_stay_bounded(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    hub = RedisHub(client, prefix=prefix, backlog=50, firehose_len=100, read=False)
    async with running(hub):
        for i in range(2_000):
            hub.to_supervisors({"n": i})
        await asyncio.wait_for(hub.flushed(), 10)
    slack = int(str((await client.config_get("stream-node-max-entries"))["stream-node-max-entries"]))
    assert hub.sent == 2_000
    assert 50 <= await client.xlen(f"{prefix}ch:supervisors") <= 50 + slack
    assert 100 <= await client.xlen(f"{prefix}all") <= 100 + slack
    newest = await client.xrevrange(f"{prefix}ch:supervisors", count=1)
    assert newest and newest[0][0] == b"2000-0"


async def test_a_full_outbound_queue_counts_what_it_drops(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    hub = RedisHub(client, prefix=prefix, outbound_size=3, read=False)  # not running: nothing drains
    for i in range(5):
        hub.to_agent("a1", {"n": i})
    assert hub.dropped == 2


async def test_a_subscriber_that_stops_reading_is_cut_off(redis: tuple[Redis, str]) -> None:
    client, prefix = redis
    async with running(RedisHub(client, prefix=prefix)) as hub:
        sub = hub.subscribe("agent:slow")
        for i in range(300):
            hub.to_agent("slow", {"n": i})
        await asyncio.wait_for(hub.flushed(), 10)
        for _ in range(100):
            if sub.dropped:
                break
            await asyncio.sleep(0.02)
        assert sub.dropped


async def test_a_burst_of_catch_ups_larger_than_the_redis_pool_still_gets_every_backlog(
    redis: tuple[Redis, str],
) -> None:
    """A worker taking over a killed worker's consoles catches them all up at once: a catch-up that
    finds no free connection tries again rather than serving live messages after a gap (#17)."""
    client, prefix = redis
    publisher = RedisHub(client, prefix=prefix, read=False)
    for n in range(40):
        for i in range(3):
            await publisher.publish_now(f"agent:b{n}", {"n": i})
    small = Redis.from_url(REDIS_URL, max_connections=4)  # redis-py's pool: MaxConnectionsError past 4
    try:
        async with running(RedisHub(small, prefix=prefix)) as web:
            subs = [web.subscribe(f"agent:b{n}", after_seq=0) for n in range(40)]
            got = [await receive(sub, 3) for sub in subs]
    finally:
        await small.aclose()
    assert [[m["seq"] for m in messages] for messages in got] == [[1, 2, 3]] * 40


async def test_a_catch_up_that_cannot_reach_redis_closes_the_socket_so_the_console_asks_again() -> None:
    unreachable = Redis.from_url("redis://127.0.0.1:1/0")  # nothing listens there: refused at once
    hub = RedisHub(unreachable, read=False, catchup_s=0.3)
    try:
        sub = hub.subscribe("agent:a1", after_seq=5)
        assert await asyncio.wait_for(sub.queue.get(), 5) is None  # the websocket closes (1013)
        hub.publish("agent:a1", {"n": 1})
        sub.offer({"n": 1, "seq": 6})  # a live message after the cut is not sent past the gap
        assert sub.queue.empty()
    finally:
        await hub.close()
        await unreachable.aclose()


async def test_the_shared_client_waits_for_a_free_connection_instead_of_failing(
    redis: tuple[Redis, str],
) -> None:
    _client, prefix = redis
    shared = shared_client(f"{REDIS_URL}{'&' if '?' in REDIS_URL else '?'}max_connections=4")
    try:
        replies = await asyncio.gather(*(shared.xrange(f"{prefix}none") for _ in range(200)))
    finally:
        await shared.aclose()
    assert replies == [[]] * 200


async def test_head_is_the_channels_newest_seq_and_none_when_redis_does_not_answer(
    redis: tuple[Redis, str],
) -> None:
    client, prefix = redis
    async with running(RedisHub(client, prefix=prefix)) as hub:
        assert await hub.head("agent:h1") == 0
        for i in range(3):
            await hub.publish_now("agent:h1", {"n": i})
        assert await hub.head("agent:h1") == 3
    unreachable = Redis.from_url("redis://127.0.0.1:1/0")
    try:
        assert await RedisHub(unreachable, read=False).head("agent:h1") is None
    finally:
        await unreachable.aclose()


async def test_a_catch_up_on_a_worker_still_starting_misses_nothing_published_meanwhile(
    redis: tuple[Redis, str],
) -> None:
    """Consoles reconnect to a worker whose firehose reader has not started: their backlog is read
    once it has, else what came between the read and the reader's start would reach no one."""
    client, prefix = redis
    publisher = RedisHub(client, prefix=prefix, read=False)
    await publisher.publish_now("agent:s1", {"n": 1})
    starting = RedisHub(client, prefix=prefix)
    sub = starting.subscribe("agent:s1", after_seq=0)
    await asyncio.sleep(0.2)  # a catch-up that did not wait has read its backlog by now
    for n in (2, 3):
        await publisher.publish_now("agent:s1", {"n": n})
    async with running(starting):
        got = await receive(sub, 3)
    assert [m["n"] for m in got] == [1, 2, 3]
