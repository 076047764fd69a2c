"""A sign-in flood leaves the database pool to telephony.

The pool is shared: an offered call's ticket write (tickets.offer, before the call is routed
and popped) takes a connection from it like a sign-in's account look-up and audit entry do.
A failed sign-in holds its connection while its audit entry waits for the audit head's lock,
so when that lock is slow (a long transaction behind, a loaded machine) the failures pile up,
each on a connection: before, 32 sign-ins in flight held the whole pool (20) and the call
waited behind the flood. Here the head lock is held from outside while sign-ins fail.
"""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.auth import MAX_IN_FLIGHT, SIGN_IN_CONNECTIONS, SignInRefused, build_auth
from agent_ui.trail import AuditTrail
from tests.conftest import _libpq
from tickets.reads import Reads


async def test_failed_sign_ins_waiting_on_the_audit_head_leave_the_pool_to_telephony(
    database_url: str, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("one writer on SQLite: the pool there is not what calls wait for")
    await AuditTrail(sessions).record(actor="test", action="test.seed", subject="audit_head")
    auth = build_auth(sessions, Reads(sessions))
    held = 0
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal held
        while not stop.is_set():
            held = max(held, engine.pool.checkedout())  # type: ignore[attr-defined]
            await asyncio.sleep(0.005)

    async def wrong(i: int) -> int:
        try:
            await auth.sign_in(f"nobody{i}", "guess", source_ip=f"10.0.0.{i}")
        except SignInRefused as refused:
            return refused.status
        return 200

    lock = await asyncio.to_thread(psycopg.connect, _libpq(database_url))
    try:
        lock.execute("SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE")  # the audit head, held
        sampler = asyncio.create_task(sample())
        flood = [asyncio.create_task(wrong(i)) for i in range(MAX_IN_FLIGHT)]
        await asyncio.sleep(3.0)  # the hashing pool lets its failures through to the audit entry
        began = time.perf_counter()
        async with asyncio.timeout(10), engine.connect() as conn:  # what an offered call does first
            await conn.execute(text("SELECT 1"))
        waited = time.perf_counter() - began
        stuck = sum(not task.done() for task in flood)
    finally:
        await asyncio.to_thread(lock.rollback)
        await asyncio.to_thread(lock.close)
    statuses = await asyncio.gather(*flood)
    stop.set()
    await sampler
    auth.close()
    print(f"\npool connections out: {held} of 20; telephony's checkout waited {waited:.3f} s; {stuck} stuck")
    assert stuck > 0  # the head lock did hold the failures up
    assert set(statuses) <= {401, 503}
    # the flood's connections and the checkout above; before, all 20 (the pool had none left)
    assert held <= SIGN_IN_CONNECTIONS + 1 <= 10, held
    assert waited < 1.0
