"""The desk's one-round-trip reads on PostgreSQL: several at once, and a server that dropped them."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tickets.reads import PG_READERS, Reads

# Each read reports the server process that ran it, and takes 50 ms so that reads overlap.
WHO = select(func.pg_backend_pid().label("pid"), literal_column("pg_sleep(0.05)::text").label("slept"))


def _libpq(sessions: async_sessionmaker[AsyncSession]) -> str:
    url = sessions.kw["bind"].url
    return str(url.set(drivername="postgresql").render_as_string(hide_password=False))


async def test_concurrent_reads_share_a_few_connections_and_survive_a_server_that_closed_them(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's read connections")
    reads = Reads(sessions)
    try:
        rows = await asyncio.gather(*(reads.first(WHO, {}) for _ in range(3 * PG_READERS)))
        pids = {row["pid"] for row in rows if row is not None}
        assert len(rows) == 3 * PG_READERS
        assert 1 < len(pids) <= PG_READERS  # they ran side by side, on no more than the pool holds

        with psycopg.connect(_libpq(sessions), autocommit=True) as admin:
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        after = [await reads.first(WHO, {}) for _ in range(PG_READERS + 1)]  # each idle one is dead
        assert all(row is not None and row["pid"] not in pids for row in after)
    finally:
        reads.close()


async def test_a_read_the_server_refuses_raises_its_error_and_the_next_read_works(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's read connections")
    reads = Reads(sessions)
    try:
        bad = select(literal_column("1 / 0").label("x"))
        with pytest.raises(psycopg.errors.DivisionByZero):
            await reads.first(bad, {})
        ok = select(literal_column("'电梯'::text").label("t"), func.now().label("at"))
        row = await reads.first(ok, {})
        assert row is not None and row["t"] == "电梯" and row["at"].tzinfo is not None
    finally:
        reads.close()
