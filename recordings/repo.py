"""Small database helpers shared by the ingest side, the archive and retention.

Upserts use INSERT … ON CONFLICT DO NOTHING (both SQLite and PostgreSQL have
it), so two workers racing on the same call or event never raise; rows that are
read to be changed are selected FOR UPDATE (a no-op on SQLite, whose writers are
serialised anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from recordings.access import RecordingFacts
from recordings.models import CallAgent, RecordedCall, Recording, RecordingEvent, RecordingStatus
from recordings.storage import BlobStore


def insert_ignoring_conflicts(session: AsyncSession, table: Any, **values: Any) -> Any:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).values(**values).on_conflict_do_nothing()


async def inserted(session: AsyncSession, table: Any, key: Any, **values: Any) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True if this call inserted the row.

    Told by RETURNING, not rowcount: psycopg's async cursor reports -1 for this statement
    on PostgreSQL, which a `bool(rowcount)` would read as "inserted" every time.
    """
    statement = insert_ignoring_conflicts(session, table, **values).returning(key)
    return (await session.exec(statement)).first() is not None


async def first_time(session: AsyncSession, event_id: str, call_id: str, now: datetime) -> bool:
    """Remember an event id; False if it was applied before (a resend)."""
    return await inserted(
        session, RecordingEvent, RecordingEvent.event_id, event_id=event_id, call_id=call_id, applied_at=now
    )


async def call_for_update(session: AsyncSession, call_id: str, now: datetime) -> RecordedCall:
    await session.exec(
        insert_ignoring_conflicts(session, RecordedCall, call_id=call_id, updated_at=now, legs=[], pauses=[])
    )
    query = select(RecordedCall).where(col(RecordedCall.call_id) == call_id).with_for_update()
    return (await session.exec(query)).one()


async def calls_for_update(
    session: AsyncSession, call_ids: Sequence[str], now: datetime
) -> dict[str, RecordedCall]:
    """`call_for_update` for many calls: one INSERT of the missing rows, one SELECT of them all."""
    if not call_ids:
        return {}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [{"call_id": c, "updated_at": now, "legs": [], "pauses": []} for c in call_ids]
    await session.exec(insert(RecordedCall).values(rows).on_conflict_do_nothing())
    query = (
        select(RecordedCall)
        .where(col(RecordedCall.call_id).in_(call_ids))
        .order_by(col(RecordedCall.call_id))  # one lock order
        .with_for_update()
    )
    return {call.call_id: call for call in (await session.exec(query)).all()}


async def add_agent(session: AsyncSession, call_id: str, agent_id: str) -> bool:
    """Note an agent of the call; True if they were not noted before."""
    return await inserted(session, CallAgent, CallAgent.agent_id, call_id=call_id, agent_id=agent_id)


async def agents_of(session: AsyncSession, call_id: str) -> list[str]:
    query = (
        select(CallAgent.agent_id).where(col(CallAgent.call_id) == call_id).order_by(col(CallAgent.agent_id))
    )
    return list((await session.exec(query)).all())


async def agents_of_calls(session: AsyncSession, call_ids: Sequence[str]) -> dict[str, list[str]]:
    """`agents_of` for many calls, one statement."""
    query = (
        select(CallAgent.call_id, CallAgent.agent_id)
        .where(col(CallAgent.call_id).in_(call_ids))
        .order_by(col(CallAgent.call_id), col(CallAgent.agent_id))
    )
    found: dict[str, list[str]] = {}
    for call_id, agent_id in (await session.exec(query)).all():
        found.setdefault(call_id, []).append(agent_id)
    return found


async def facts_of(session: AsyncSession, recording: Recording) -> RecordingFacts:
    call = await session.get(RecordedCall, recording.call_id)
    queue = recording.queue or (call.queue if call else None)
    return RecordingFacts(agents=frozenset(await agents_of(session, recording.call_id)), queue=queue)


async def drop_blob_if_unreferenced(session: AsyncSession, store: BlobStore, recording: Recording) -> bool:
    """Delete the blob unless another live recording has the same bytes (content addressing)."""
    if recording.storage_key is None:
        return False
    others = await session.exec(
        select(func.count())
        .select_from(Recording)
        .where(
            col(Recording.storage_key) == recording.storage_key,
            col(Recording.id) != recording.id,
            col(Recording.status) != RecordingStatus.DELETED,
        )
    )
    if others.one():
        return False
    await store.delete(recording.storage_key)
    return True


def gaps_within(
    pauses: list[dict[str, str | None]], started_at: datetime, duration_s: float, source_ref: str
) -> list[dict[str, object]]:
    """PCI pauses as offsets into one recording (wall-clock seconds from its start).

    A pause names the file it applies to, or none (then it applies to every
    recording of the call). An open pause (no resume seen) runs to the end of
    the file; pauses entirely outside the recording are left out.
    """
    end = started_at + timedelta(seconds=duration_s)
    gaps: list[dict[str, object]] = []
    for pause in pauses:
        paused_raw, resumed_raw = pause.get("paused_at"), pause.get("resumed_at")
        if paused_raw is None or pause.get("file") not in (None, source_ref):
            continue
        start = max(datetime.fromisoformat(paused_raw), started_at)
        stop = min(datetime.fromisoformat(resumed_raw), end) if resumed_raw else end
        if stop <= start:
            continue
        gaps.append(
            {
                "from_s": round((start - started_at).total_seconds(), 3),
                "to_s": round((stop - started_at).total_seconds(), 3),
                "paused_at": paused_raw,
                "resumed_at": resumed_raw,
            }
        )
    return gaps
