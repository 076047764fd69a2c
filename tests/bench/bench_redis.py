"""Pops/s through the Redis hub (cluster.redis_hub) beside the in-process hub, in the same run.

What it measures: N pop-sized messages (a pop's fields, ~600 bytes of JSON) published round
robin to A agents' channels and delivered to one subscriber per agent, each drained by its own
task as `agent_ui.ws._sender` drains a websocket's queue. The Redis path is the one a pop takes
with `--role router` + `--role web`: the publishing hub (the router's, `read=False`: writer
only) and the delivering hub (a web worker's: its one firehose reader) each have their own
Redis client, as two processes would. Figures: pops/s from the first publish to the last
delivery, and each pop's latency from `publish()` to its subscriber's queue handing it over.

Both hubs run in this one process and event loop: the publisher's writer and the worker's
reader share one core here, where a deployment gives each its own process, so the Redis
figures are a lower bound. The publisher keeps at most IN_FLIGHT messages queued and not yet
sent (`RedisHub.sent`), as a router's steady rate would; more would fill the outbound queue
and drop (counted, and checked to be zero here). The in-process baseline publishes in the same
bursts, yielding between them so the subscribers' tasks drain their bounded queues.

Every run checks what it measures: each subscriber got each of its messages exactly once and
in seq order. Redis is `HOTLINE_TEST_REDIS_URL` (default 127.0.0.1:6379), under a key prefix
of its own, deleted afterwards; without Redis the Redis half is skipped, saying so.
Bounded: N pops (BENCH_REDIS_POPS, default 20,000), each half at most TIME_LIMIT_S.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from agent_ui.hub import Hub
from cluster.redis_hub import RedisHub

REDIS_URL = os.environ.get("HOTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
N_POPS = int(os.environ.get("BENCH_REDIS_POPS", "20000"))
N_AGENTS = 100
BURST = 100  # pops published between two yields
IN_FLIGHT = 2_000  # Redis: queued for the writer and not yet sent
N_SINGLE = 300  # pops sent one at a time, for the unloaded latency
TIME_LIMIT_S = 120.0


class _Sub(Protocol):
    queue: asyncio.Queue[dict[str, Any] | None]


def _pop(i: int) -> dict[str, Any]:
    """A pop as agent_ui.console builds it, with its send time (perf_counter) in `t`."""
    return {
        "type": "pop",
        "call_id": f"call-{i:08d}",
        "caller": "+8613800138000",
        "caller_name": "张伟",
        "queue": "support",
        "at": "2026-12-03T07:30:00+00:00",
        "status": "ringing",
        "customers": [{"id": 1000 + i % 977, "name": "张伟", "phone": "+8613800138000", "tier": "vip"}],
        "ticket_id": 50_000 + i,
        "ticket_is_new": i % 3 == 0,
        "context": {"ticket_subject": "打印机无法连接网络", "open_tickets": 2, "last_agent": "a17"},
        "n": i,
        "t": time.perf_counter(),
    }


class Run:
    """Subscribers' drains: they count what arrives, check its order and note each latency."""

    def __init__(self, n: int) -> None:
        self.n, self.got = n, 0
        self.latencies: list[float] = []
        self.done = asyncio.Event()
        self.arrived = asyncio.Event()  # set on every delivery (for _one_at_a_time)
        self.errors: list[str] = []
        self.single: list[float] = []  # latencies of pops sent one at a time (see _one_at_a_time)

    async def drain(self, agent: str, sub: _Sub) -> None:
        last_seq, last_n = 0, -1
        while True:
            message = await sub.queue.get()
            if message is None:
                self.errors.append(f"{agent}: cut off as a slow reader")
                self.done.set()
                return
            self.latencies.append(time.perf_counter() - message["t"])
            if message["seq"] <= last_seq or message["n"] <= last_n:
                self.errors.append(f"{agent}: seq {message['seq']} after {last_seq}")
            last_seq, last_n = message["seq"], message["n"]
            self.got += 1
            self.arrived.set()
            if self.got == self.n:
                self.done.set()


async def _in_process(n: int) -> tuple[float, Run]:
    hub = Hub()
    run = Run(n)
    subs = [hub.subscribe(f"agent:a{a}") for a in range(N_AGENTS)]
    drains = [asyncio.create_task(run.drain(sub.key, sub)) for sub in subs]
    started = time.perf_counter()
    for i in range(n):
        hub.to_agent(f"a{i % N_AGENTS}", _pop(i))
        if i % BURST == BURST - 1:
            await asyncio.sleep(0)
    await asyncio.wait_for(run.done.wait(), TIME_LIMIT_S)
    elapsed = time.perf_counter() - started
    single = Run(N_SINGLE)
    for sub in subs:
        hub.unsubscribe(sub)
    drains += [
        asyncio.create_task(single.drain(f"a{a}", hub.subscribe(f"agent:a{a}"))) for a in range(N_AGENTS)
    ]
    await asyncio.wait_for(_one_at_a_time(hub.to_agent, single, N_SINGLE), TIME_LIMIT_S)
    run.single = single.latencies
    for task in drains:
        task.cancel()
    await asyncio.gather(*drains, return_exceptions=True)
    return elapsed, run


async def _through_redis(n: int, prefix: str) -> tuple[float, Run, int]:
    router_redis, web_redis = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    router_hub = RedisHub(router_redis, prefix=prefix, read=False)
    web_hub = RedisHub(web_redis, prefix=prefix)
    run = Run(n)
    tasks = [
        asyncio.create_task(router_hub.run(), name="router-hub"),
        asyncio.create_task(web_hub.run(), name="web-hub"),
    ]
    try:
        await asyncio.wait_for(web_hub.ready.wait(), 10)
        subs = [web_hub.subscribe(f"agent:a{a}") for a in range(N_AGENTS)]
        tasks += [asyncio.create_task(run.drain(sub.key, sub)) for sub in subs]
        started = time.perf_counter()
        deadline = started + TIME_LIMIT_S
        for i in range(n):
            router_hub.to_agent(f"a{i % N_AGENTS}", _pop(i))
            if i % BURST == BURST - 1:
                await asyncio.sleep(0)
                while i + 1 - router_hub.sent - router_hub.dropped > IN_FLIGHT:
                    if time.perf_counter() > deadline:
                        raise TimeoutError("the Redis hub's writer fell behind for good")
                    await asyncio.sleep(0.001)
        await asyncio.wait_for(run.done.wait(), max(1.0, deadline - time.perf_counter()))
        elapsed = time.perf_counter() - started
        single = Run(N_SINGLE)
        for sub in subs:
            web_hub.unsubscribe(sub)
        subs = [web_hub.subscribe(f"agent:a{a}") for a in range(N_AGENTS)]
        tasks += [asyncio.create_task(single.drain(sub.key, sub)) for sub in subs]
        await asyncio.wait_for(_one_at_a_time(router_hub.to_agent, single, N_SINGLE), TIME_LIMIT_S)
        run.single = single.latencies
        return elapsed, run, router_hub.dropped
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await router_hub.close()
        await web_hub.close()
        async for key in router_redis.scan_iter(match=f"{prefix}*"):
            await router_redis.delete(key)
        await router_redis.aclose()
        await web_redis.aclose()


async def _one_at_a_time(publish: Any, run: Run, n: int) -> None:
    """Unloaded latency: each pop published once the one before it was delivered."""
    for i in range(n):
        run.arrived.clear()
        publish(f"a{i % N_AGENTS}", _pop(i))
        await run.arrived.wait()


def _line(name: str, elapsed: float, run: Run, baseline: float | None = None) -> str:
    lat = sorted(run.latencies)
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
    rate = run.got / elapsed
    one = sorted(run.single)
    ratio = f"  ({rate / baseline:.2f}x the in-process hub)" if baseline else ""
    return (
        f"{name:<34} {rate:>10,.0f} pops/s{ratio}\n"
        f"{'':<34} saturated: latency p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  max {lat[-1] * 1000:7.1f} ms\n"
        f"{'':<34} one at a time: p50 {statistics.median(one) * 1000:7.3f} ms"
        f"  p99 {one[int(len(one) * 0.99)] * 1000:7.3f} ms"
    )


async def _redis_up() -> bool:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
        return True
    except (RedisConnectionError, OSError):
        return False
    finally:
        await client.aclose()


async def _main() -> None:
    print(f"{N_POPS:,} pops to {N_AGENTS} agents' channels; load average {os.getloadavg()[0]:.2f}")
    elapsed, run = await _in_process(N_POPS)
    assert not run.errors and run.got == N_POPS, run.errors[:5]
    base = run.got / elapsed
    print(_line("in-process hub (agent_ui.hub)", elapsed, run))
    if not await _redis_up():
        print(f"Redis hub: skipped, no Redis at {REDIS_URL}")
        return
    elapsed, run, dropped = await _through_redis(N_POPS, f"hotline-bench:{uuid.uuid4().hex[:10]}:")
    assert dropped == 0, f"{dropped} messages dropped by a full outbound queue"
    assert not run.errors and run.got == N_POPS, run.errors[:5]
    print(_line("Redis hub (router -> web worker)", elapsed, run, base))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
