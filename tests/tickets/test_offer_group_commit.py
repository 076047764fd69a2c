"""Offered calls' writes are committed in groups: those queued while one is written go in one
transaction, and one that fails costs only itself (`tickets.offer`)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.tickets.conftest import call_event
from tickets.intake import CallIntake
from tickets.offer import OfferWriter
from tickets.service import ServiceDesk

CALLS = 12


async def test_calls_offered_while_the_write_lock_is_held_are_taken_in_by_one_commit_each_with_its_ticket(
    database_url: str, desk: ServiceDesk
) -> None:
    """Another writer holds SQLite's lock for 0.3 s while twelve calls are offered at once: the
    first write waits for the lock, the eleven queued meanwhile go in the next transaction
    together, not one after the other (each would wait for the lock again), and every call has
    its own ticket."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's single writer lock; on PostgreSQL the grouping is the same code")
    path = make_url(database_url).database
    assert path is not None
    await desk.calls.on_call_offered(call_event(call_id="warm", caller="13800138999"))
    writer = desk.ctx.offers
    groups_before = writer.stats.groups
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.3, other.execute, "COMMIT")
    intake = CallIntake(desk, "CN")
    try:
        await asyncio.gather(
            *(intake.on_offered(call_event(call_id=f"g-{n}", caller=f"1380013{n:04d}")) for n in range(CALLS))
        )
    finally:
        other.close()
    assert writer.stats.groups - groups_before <= 3  # not twelve
    assert writer.stats.largest >= CALLS - 2
    tickets = set()
    for n in range(CALLS):
        context = intake.context_of(f"g-{n}")
        assert context is not None and context.ticket_id is not None
        assert (await desk.calls.context(f"g-{n}")).ticket_id == context.ticket_id
        tickets.add(context.ticket_id)
    assert len(tickets) == CALLS  # twelve callers, twelve new tickets


async def test_a_write_that_fails_in_a_group_is_rolled_back_alone_and_the_others_are_committed(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Three writes in one group, the middle one breaking a primary key: its caller gets the
    IntegrityError, the first and the last are committed (their savepoints released)."""
    writer = OfferWriter(sessions)

    def insert(value: int) -> Callable[[Connection], int]:
        def work(conn: Connection) -> int:
            conn.execute(text("INSERT INTO grouped (id) VALUES (:v)"), {"v": value})
            return value

        return work

    try:
        await writer.run(lambda conn: conn.execute(text("CREATE TABLE grouped (id INTEGER PRIMARY KEY)")))
        await writer.run(insert(1))
        first = asyncio.ensure_future(writer.run(insert(2)))  # the group in flight
        await asyncio.sleep(0)  # it holds the turn now: the next three queue behind it
        rest = [
            asyncio.ensure_future(writer.run(insert(v)))
            for v in (3, 1, 4)  # 1 is taken: a duplicate key
        ]
        results = await asyncio.gather(first, *rest, return_exceptions=True)
        ids = await writer.run(
            lambda conn: [r[0] for r in conn.execute(text("SELECT id FROM grouped ORDER BY id"))]
        )
    finally:
        writer.close()
    assert results[0] == 2 and results[1] == 3 and results[3] == 4
    assert isinstance(results[2], IntegrityError)
    assert writer.stats.groups == 5 and writer.stats.largest == 3  # table, {1}, {2}, {3, dup, 4}, read
    assert ids == [1, 2, 3, 4]
