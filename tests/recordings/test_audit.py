"""The hash-chained audit log on every backend: append, verify, tampering, concurrency."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import AuditIn, AuditLog
from audit.models import GENESIS_HASH, AuditEntry


class SteppingClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


async def _append_many(sessions: async_sessionmaker[AsyncSession], log: AuditLog, n: int) -> None:
    async with sessions() as session:
        for i in range(n):
            await log.append(
                session,
                actor="agent:1001",
                action="recording.play",
                subject=f"recording:{i}",
                detail={"range": [0, 100], "备注": "客户投诉"},
                source_ip="10.0.0.7",
            )
        await session.commit()


async def _tamper(engine: AsyncEngine, sql: str) -> None:
    """Edit rows the way a DBA with full rights could: around the append-only triggers."""
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
            await conn.execute(text(sql))
            await conn.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER USER"))
        else:
            await conn.execute(text("DROP TRIGGER IF EXISTS audit_entry_no_update"))
            await conn.execute(text("DROP TRIGGER IF EXISTS audit_entry_no_delete"))
            await conn.execute(text(sql))


async def test_entries_chain_from_genesis_and_verify_clean(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    log = AuditLog(clock=SteppingClock())
    await _append_many(sessions, log, 5)
    async with sessions() as session:
        entries = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))).all()
        report = await log.verify(session)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert entries[0].detail == {"range": [0, 100], "备注": "客户投诉"}
    assert entries[0].at.tzinfo is not None
    assert report.ok and report.entries == 5 and report.head_seq == 5 and report.head_hash == entries[-1].hash


async def test_empty_log_verifies(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        report = await AuditLog().verify(session)
    assert report.ok and report.entries == 0


async def test_rolled_back_append_leaves_no_entry_and_no_gap(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    log = AuditLog()
    await _append_many(sessions, log, 1)
    async with sessions() as session:
        await log.append(session, actor="x", action="recording.play", subject="recording:9")
        await session.rollback()
    await _append_many(sessions, log, 1)
    async with sessions() as session:
        report = await log.verify(session)
        seqs = (await session.exec(select(AuditEntry.seq))).all()
    assert report.ok and sorted(seqs) == [1, 2]


async def test_the_database_refuses_updates_and_deletes_of_entries(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _append_many(sessions, AuditLog(), 2)
    for sql in ("UPDATE audit_entry SET actor = 'someone-else'", "DELETE FROM audit_entry"):
        async with sessions() as session:
            with pytest.raises((IntegrityError, DBAPIError), match="append-only"):
                await session.exec(text(sql))
            await session.rollback()


async def test_an_edited_row_is_reported_at_its_position(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    log = AuditLog()
    await _append_many(sessions, log, 6)
    await _tamper(engine, "UPDATE audit_entry SET actor = 'agent:1002' WHERE seq = 4")
    async with sessions() as session:
        report = await log.verify(session)
    assert not report.ok and report.first_break is not None
    assert (report.first_break.seq, report.first_break.reason) == (4, "hash")
    assert report.entries == 3


async def test_an_edited_row_with_a_recomputed_hash_breaks_the_next_link(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    log = AuditLog()
    await _append_many(sessions, log, 4)
    await _tamper(engine, "UPDATE audit_entry SET hash = '" + "f" * 64 + "' WHERE seq = 2")
    async with sessions() as session:
        report = await log.verify(session)
    assert report.first_break is not None
    # The forged hash does not match entry 2's content, so entry 2 is reported first.
    assert (report.first_break.seq, report.first_break.reason) == (2, "hash")


async def test_a_deleted_row_is_a_gap_and_a_deleted_tail_is_caught_by_the_head(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    log = AuditLog()
    await _append_many(sessions, log, 5)
    await _tamper(engine, "DELETE FROM audit_entry WHERE seq = 5")
    async with sessions() as session:
        report = await log.verify(session)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.reason) == (5, "head")
    await _tamper(engine, "DELETE FROM audit_entry WHERE seq = 2")
    async with sessions() as session:
        report = await log.verify(session)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.reason) == (2, "gap")


async def test_concurrent_appends_from_many_sessions_never_fork_the_chain(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    log = AuditLog()
    await asyncio.gather(*(_append_many(sessions, log, 10) for _ in range(8)))
    async with sessions() as session:
        report = await log.verify(session)
        seqs = (await session.exec(select(AuditEntry.seq).order_by(col(AuditEntry.seq)))).all()
    assert report.ok, report.first_break
    assert list(seqs) == list(range(1, 81))


async def test_concurrent_appends_from_separate_engines_never_fork_the_chain(database_url: str) -> None:
    """Separate engines stand for separate worker processes (no shared pool)."""
    from config.database import create_engine, session_factory

    engines = [create_engine(database_url) for _ in range(3)]
    log = AuditLog()
    try:
        await asyncio.gather(*(_append_many(session_factory(e), log, 15) for e in engines))
        async with session_factory(engines[0])() as session:
            report = await log.verify(session)
    finally:
        for e in engines:
            await e.dispose()
    assert report.ok and report.entries == 45


async def test_over_long_fields_are_refused_on_every_backend(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        with pytest.raises(ValueError, match="outcome longer than 20"):
            await AuditLog().append(session, actor="a", action="b", subject="c", outcome="x" * 21)


async def test_a_batch_appended_with_one_head_bump_is_the_same_chain_as_one_by_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    log = AuditLog(clock=SteppingClock())
    await _append_many(sessions, log, 2)
    batch = [AuditIn("system", "ticket.create", f"ticket:{i}", {"call_id": f"c{i}"}) for i in range(3)]
    async with sessions() as session:
        written = await log.append_many(session, batch)
        await session.commit()
    await _append_many(sessions, log, 1)
    async with sessions() as session:
        report = await log.verify(session)
        rows = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))).all()
    assert report.ok and report.entries == 6 and report.head_seq == 6
    assert [e.seq for e in written] == [3, 4, 5]
    assert [r.subject for r in rows[2:5]] == ["ticket:0", "ticket:1", "ticket:2"]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))


async def test_a_batch_with_one_bad_entry_writes_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    log = AuditLog(clock=SteppingClock())
    batch = [AuditIn("system", "ticket.create", "ticket:1"), AuditIn("x" * 121, "ticket.create", "ticket:2")]
    async with sessions() as session:
        with pytest.raises(ValueError, match="actor"):
            await log.append_many(session, batch)
        await session.rollback()
    async with sessions() as session:
        report = await log.verify(session)
    assert report.ok and report.entries == 0
