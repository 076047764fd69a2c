"""Redis for the process-role tests: `HOTLINE_TEST_REDIS_URL`, default the machine's 127.0.0.1:6379.

Tests share the server with other runs, so each works under its own key prefix and deletes
its keys afterwards (never FLUSHDB)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

REDIS_ENV = "HOTLINE_TEST_REDIS_URL"

# Routers built in the test's own process share its GIL with the test, the other router and the
# simulated parts: on a loaded CI runner (load 10+) the elector's keepalive thread once waited
# past the default 1 s lease, the leader was deposed for nothing and the test hung to its timeout
# (2026-12-03, two tests). What these tests check does not hang on the lease's length; the
# separate-process cluster tests keep the default, which is what they measure.
IN_PROCESS_LEASE = {"router_lease_s": 3.0, "router_idle_session_timeout_s": 4.0}


def redis_url() -> str:
    return os.environ.get(REDIS_ENV, "redis://127.0.0.1:6379/0")


def redis_env() -> dict[str, str]:
    """HOTLINE_REDIS_URL and a HOTLINE_REDIS_PREFIX of its own, for the processes of one test:
    runs sharing the server (CI, others' tests) keep apart. Their keys are bounded streams and
    counters under `hotline-test:`."""
    return {
        "HOTLINE_REDIS_URL": redis_url(),
        "HOTLINE_REDIS_PREFIX": f"hotline-test:{uuid.uuid4().hex[:10]}:",
    }


@pytest.fixture
def key_prefix() -> str:
    return f"hotline-test:{uuid.uuid4().hex[:10]}:"


@pytest.fixture
async def redis(key_prefix: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url())
    try:
        yield client
    finally:
        async for key in client.scan_iter(match=f"{key_prefix}*"):
            await client.delete(key)
        await client.aclose()
