"""The desk's one-round-trip reads on PostgreSQL: several at once, and a server that dropped them."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import Integer, bindparam, func, literal_column, select
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


async def test_reads_queued_behind_others_get_their_own_rows_errors_and_cancels_stay_theirs(
    sessions: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    """More reads than connections are pipelined: each answer still reaches its own reader, in
    between a refused statement and a reader that gave up waiting."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's read connections")
    reads = Reads(sessions)
    echo = select(bindparam("n", type_=Integer).label("n"), func.pg_backend_pid().label("pid"))
    slow = select(
        literal_column("pg_sleep(0.2)::text").label("slept"), bindparam("n", type_=Integer).label("n")
    )
    bad = select((literal_column("1") / bindparam("n", type_=Integer)).label("x"))
    try:

        async def one(n: int) -> object:
            if n % 7 == 3:
                with pytest.raises(psycopg.errors.DivisionByZero):
                    await reads.first(bad, {"n": 0})
                return "refused"
            if n % 11 == 5:
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(reads.first(slow, {"n": n}), 0.05)
                return "gave up"
            row = await reads.first(echo, {"n": n})
            assert row is not None
            return row["n"], row["pid"]

        n = 10 * PG_READERS
        got = await asyncio.gather(*(one(i) for i in range(n)))
        answered = [g for g in got if isinstance(g, tuple)]
        assert [a[0] for a in answered] == [i for i in range(n) if i % 7 != 3 and i % 11 != 5]
        assert 1 < len({a[1] for a in answered}) <= PG_READERS  # pipelined on the few connections
        assert got.count("refused") == len([i for i in range(n) if i % 7 == 3])
        row = await reads.first(echo, {"n": -1})  # the connections are still in order after all that
        assert row is not None and row["n"] == -1
    finally:
        reads.close()
