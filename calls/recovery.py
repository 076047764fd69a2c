"""The call log's read side for reconciliation after a restart: what is open, what is known, since when.

A restarted Hotline knows nothing in memory; the call log's rows are what it
knew. Reconciliation (agent_ui.recovery) asks the PBX about the rows still open
and about calls since the last moment Hotline saw anything, and needs to know
which calls the log already has so a call is never entered twice.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from calls.models import CallRecord
from config.settings import MAIN_PBX

_PAGE = 1000


@dataclass(frozen=True, slots=True)
class UnfinishedCall:
    call_id: str
    source: str
    pbx_ref: str | None
    offered_at: datetime | None
    answered_at: datetime | None
    agent_id: str | None
    queue: str | None
    caller: str | None


def _unfinished(row: CallRecord) -> UnfinishedCall:
    return UnfinishedCall(
        row.call_id,
        row.source,
        row.pbx_ref,
        row.offered_at,
        row.answered_at,
        row.agent_id,
        row.queue,
        row.caller,
    )


async def open_calls(sessions: async_sessionmaker[AsyncSession]) -> list[UnfinishedCall]:
    """Every call the log has no hang-up for."""
    query = select(CallRecord).where(col(CallRecord.ended_at).is_(None)).order_by(col(CallRecord.call_id))
    async with sessions() as session:
        return [_unfinished(row) for row in (await session.exec(query)).all()]


async def calls_by_id(
    sessions: async_sessionmaker[AsyncSession], call_ids: Collection[str]
) -> list[UnfinishedCall]:
    """These calls as the log has them (ended or not)."""
    if not call_ids:
        return []
    query = select(CallRecord).where(col(CallRecord.call_id).in_(sorted(call_ids)))
    async with sessions() as session:
        return [_unfinished(row) for row in (await session.exec(query)).all()]


async def last_seen(sessions: async_sessionmaker[AsyncSession]) -> datetime | None:
    """The newest moment the log holds: Hotline saw the PBX at least until then."""
    async with sessions() as session:
        offered = (await session.exec(select(func.max(CallRecord.offered_at)))).one()
        ended = (await session.exec(select(func.max(CallRecord.ended_at)))).one()
    return max((t for t in (offered, ended) if t is not None), default=None)


async def known_since(sessions: async_sessionmaker[AsyncSession], since: datetime) -> frozenset[str]:
    """Call ids and PBX refs of every call offered or ended since `since`, or still open.

    A ref is a Uniqueid, unique on its own PBX only: another PBX's are given as `<pbx>:<ref>`,
    the way its call ids read (cti.multi). Raw, an east call's ref was also the main PBX's call
    id of its twin (two PBXs started in the same second number their channels alike), and the
    main PBX's reconciliation took that call, which Hotline never saw, for known: not told."""
    recent = or_(
        col(CallRecord.offered_at) >= since,
        col(CallRecord.ended_at) >= since,
        col(CallRecord.ended_at).is_(None),
    )
    known: set[str] = set()
    after = ""
    async with sessions() as session:
        while True:
            query = (
                select(CallRecord.call_id, CallRecord.pbx_ref, CallRecord.pbx)
                .where(recent, col(CallRecord.call_id) > after)
                .order_by(col(CallRecord.call_id))
                .limit(_PAGE)
            )
            rows = (await session.exec(query)).all()
            for call_id, ref, pbx in rows:
                known.add(call_id)
                if ref:
                    known.add(ref if pbx == MAIN_PBX else f"{pbx}:{ref}")
            if len(rows) < _PAGE:
                return frozenset(known)
            after = rows[-1][0]
