"""SQLite's list reads: a short one runs in the event loop's thread, a long one in a worker thread."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from sqlalchemy import Integer, Select, bindparam, literal_column, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tickets.reads import INLINE_BELOW_S, Reads

SHORT = select(bindparam("n", type_=Integer).label("n"))
# ~100,000 rows counted by a recursive CTE: tens of milliseconds of CPU, whatever the tables hold
LONG: Select[Any] = select(
    literal_column(
        "(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100000)"
        " SELECT count(*) FROM c)"
    ).label("counted")
)


async def _yielded(read: Awaitable[object]) -> tuple[object, bool]:
    """(the read's result, whether the event loop ran something else while it was awaited)."""
    ran = asyncio.Event()
    other = asyncio.get_running_loop().call_soon(ran.set)
    try:
        result = await read
    finally:
        other.cancel()
    return result, ran.is_set()


async def test_a_short_read_runs_in_the_loop_thread_after_its_first_run_and_a_long_one_never(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's read threads")
    reads = Reads(sessions)
    try:
        rows, hopped = await _yielded(reads.all(SHORT, {"n": 1}))
        assert rows == [(1,)] and hopped  # first run: in the worker thread, cost unknown
        for n in range(2, 5):
            rows, hopped = await _yielded(reads.all(SHORT, {"n": n}))
            assert rows == [(n,)] and not hopped  # measured short: the loop thread, no hop
        for _ in range(3):
            rows, hopped = await _yielded(reads.all(LONG, {}))
            assert rows == [(100_000,)] and hopped  # measured long: the worker thread every time
        cost = reads._sqlite_statement(LONG).cost
        assert cost is not None and cost >= INLINE_BELOW_S
    finally:
        reads.close()
