"""The sign-in throttle of several web workers is one count, kept in Redis."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from agent_ui.shared_throttle import RedisThrottle
from agent_ui.throttle import Limit
from tests.roles.conftest import redis_url


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


LIMITS = {"login": Limit(3, 60), "address": Limit(5, 60)}


async def test_the_shared_throttle_counts_refuses_at_the_limit_and_forgets_after_the_window(
    redis: Redis, key_prefix: str
) -> None:
    """The same walk as the in-memory throttle's test (tests/security/test_sign_in.py)."""
    clock = Clock()
    throttle = RedisThrottle(redis, LIMITS, clock=clock, prefix=key_prefix)
    ann = [("login", "ann"), ("address", "10.0.0.1")]
    assert [await throttle.attempt(ann) for _ in range(3)] == [None, None, None]
    clock.now += 10
    assert await throttle.attempt(ann) == 50  # until the first attempt leaves the window
    bob = [("login", "bob"), ("address", "10.0.0.1")]
    assert await throttle.attempt(bob) is None and await throttle.attempt(bob) is None
    assert await throttle.attempt([("login", "cy"), ("address", "10.0.0.1")]) == 50  # the address is full
    await throttle.succeeded(bob)  # a correct password gives its attempt back
    assert await throttle.attempt([("login", "cy"), ("address", "10.0.0.1")]) is None
    assert await throttle.retry_after(("address", "10.0.0.1")) == 50
    clock.now += 51
    assert await throttle.attempt(ann) is None
    assert await throttle.retry_after(("login", "ann")) is None


async def test_two_web_workers_share_one_count_per_login(redis: Redis, key_prefix: str) -> None:
    """Attempts spread over two workers are counted together: the fourth is refused wherever it lands."""
    clock = Clock()
    first = RedisThrottle(redis, LIMITS, clock=clock, prefix=key_prefix)
    other_worker = Redis.from_url(redis_url())  # its own connections, as another process has
    try:
        second = RedisThrottle(other_worker, LIMITS, clock=clock, prefix=key_prefix)
        ann = [("login", "ann")]
        assert await first.attempt(ann) is None
        assert await second.attempt(ann) is None
        assert await first.attempt(ann) is None
        assert await second.attempt(ann) == 60
    finally:
        await other_worker.aclose()


async def test_concurrent_attempts_never_slip_past_the_limit(redis: Redis, key_prefix: str) -> None:
    throttle = RedisThrottle(redis, LIMITS, clock=Clock(), prefix=key_prefix)
    results = await asyncio.gather(*(throttle.attempt([("login", "ann")]) for _ in range(50)))
    assert sum(r is None for r in results) == 3


async def test_the_shared_counts_expire_with_their_window(redis: Redis, key_prefix: str) -> None:
    throttle = RedisThrottle(redis, {"address": Limit(2, 60)}, clock=Clock(), prefix=key_prefix)
    await throttle.attempt([("address", "10.0.0.9")])
    ttl = await redis.pttl(f"{key_prefix}address:10.0.0.9")
    assert 59_000 < ttl <= 60_000
