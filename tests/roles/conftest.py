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
