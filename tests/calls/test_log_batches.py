"""The call log's group commit: many calls' events in few transactions, each handler back only once
its own event is committed, and every row as if each event had been written alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from calls.log import CallLog
from calls.models import CallRecord
from routing.events import CallEvent, CallEventKind

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LIFE = [CallEventKind.OFFERED, CallEventKind.RINGING, CallEventKind.ANSWERED, CallEventKind.HUNG_UP]


def _event(call: int, step: int) -> CallEvent:
    kind = LIFE[step]
    return CallEvent(
        call_id=f"call-{call}",
        kind=kind,
        at=T0 + timedelta(seconds=call + step),
        event_id=f"call-{call}:{step}",
        caller=f"+86138{call:08d}",
        queue="support",
        agent="1001" if kind is CallEventKind.ANSWERED else None,
        source="asterisk",
    )


async def test_events_of_many_calls_at_once_share_transactions_and_every_row_is_whole(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    calllog = CallLog(sessions)
    calls = 40

    async def one_call(call: int) -> None:  # a bus shard: the events of one call, one after the other
        for step in range(len(LIFE)):
            await calllog.handle(_event(call, step))

    await asyncio.gather(*(one_call(n) for n in range(calls)))
    assert calllog.batched_events == calls * len(LIFE)
    assert calllog.batches < calls * len(LIFE)  # grouped: fewer transactions than events
    async with sessions() as session:
        rows = {r.call_id: r for r in (await session.exec(select(CallRecord))).all()}
    assert len(rows) == calls
    for n in range(calls):
        row = rows[f"call-{n}"]
        assert row.offered_at == T0 + timedelta(seconds=n)
        assert row.answered_at == T0 + timedelta(seconds=n + 2)
        assert row.ended_at == T0 + timedelta(seconds=n + 3)
        assert (row.agent_id, row.outcome, row.caller) == ("1001", "answered", f"+86138{n:08d}")


async def test_a_handler_returns_only_once_its_event_is_committed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    calllog = CallLog(sessions)
    await asyncio.gather(*(calllog.handle(_event(n, 0)) for n in range(5)))
    async with sessions() as session:  # another session sees them: committed, not merely flushed
        offered = (await session.exec(select(CallRecord.call_id))).all()
    assert sorted(offered) == [f"call-{n}" for n in range(5)]


async def test_an_event_delivered_twice_in_one_batch_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    calllog = CallLog(sessions)
    first, again = _event(1, 0), _event(1, 0)
    later = CallEvent(
        call_id="call-1", kind=CallEventKind.OFFERED, at=T0 + timedelta(hours=1), event_id="x", queue="other"
    )
    await asyncio.gather(calllog.handle(first), calllog.handle(again), calllog.handle(later))
    async with sessions() as session:
        row = (await session.exec(select(CallRecord))).one()
    assert (row.offered_at, row.queue) == (T0 + timedelta(seconds=1), "support")


async def test_a_batch_from_the_bus_is_one_transaction_and_the_same_batch_again_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    calllog = CallLog(sessions)
    batch = [_event(call, step) for step in range(len(LIFE)) for call in range(10)]
    await calllog.handle_batch(batch)
    assert (calllog.batches, calllog.batched_events) == (1, 40)
    await calllog.handle_batch(batch)  # the bus hands a failed batch again: idempotent
    async with sessions() as session:
        rows = {r.call_id: r for r in (await session.exec(select(CallRecord))).all()}
    assert len(rows) == 10
    for n in range(10):
        row = rows[f"call-{n}"]
        assert (row.offered_at, row.ended_at) == (T0 + timedelta(seconds=n), T0 + timedelta(seconds=n + 3))
        assert (row.agent_id, row.outcome) == ("1001", "answered")
