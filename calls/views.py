"""The call log's read side: what the console and the reports ask of it.

Routes call these instead of `select()`ing `CallRecord` themselves, so the
table stays calls/'s own and what a route gets back is a plain read model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from calls.models import CallRecord
from calls.reports import talk_s


@dataclass(frozen=True, slots=True)
class LoggedCall:
    call_id: str
    caller: str | None
    caller_name: str | None
    queue: str | None
    agent_id: str | None
    offered_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    talk_s: float | None
    pbx: str = "main"  # the PBX that carried it


def _logged(record: CallRecord) -> LoggedCall:
    return LoggedCall(
        call_id=record.call_id,
        caller=record.caller,
        caller_name=record.caller_name,
        queue=record.queue,
        agent_id=record.agent_id,
        offered_at=record.offered_at,
        answered_at=record.answered_at,
        ended_at=record.ended_at,
        outcome=record.outcome,
        talk_s=talk_s(record),
        pbx=record.pbx,
    )


class CallViews:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def answered_by(self, call_id: str, agent_id: str) -> bool:
        """True if the log says `agent_id` answered this call."""
        async with self._sessions() as session:
            record = await session.get(CallRecord, call_id)
        return record is not None and record.agent_id == agent_id

    async def find(self, call_id: str) -> LoggedCall | None:
        """The logged call, if the log has it (who answered it, its queue)."""
        async with self._sessions() as session:
            record = await session.get(CallRecord, call_id)
        return None if record is None else _logged(record)

    async def recent_for_agent(self, agent_id: str, limit: int) -> list[LoggedCall]:
        """The agent's own last calls, newest first."""
        async with self._sessions() as session:
            rows = (
                await session.exec(
                    select(CallRecord)
                    .where(CallRecord.agent_id == agent_id)
                    .order_by(col(CallRecord.offered_at).desc())
                    .limit(limit)
                )
            ).all()
        return [_logged(r) for r in rows]

    async def recent_from(self, numbers: Iterable[str], *, besides: str, limit: int) -> list[LoggedCall]:
        """The last calls from any of these E.164 numbers, newest first, other than call `besides`."""
        wanted = list(numbers)
        if not wanted:
            return []
        async with self._sessions() as session:
            rows = (
                await session.exec(
                    select(CallRecord)
                    .where(col(CallRecord.caller_e164).in_(wanted), CallRecord.call_id != besides)
                    .order_by(col(CallRecord.offered_at).desc())
                    .limit(limit)
                )
            ).all()
        return [_logged(r) for r in rows]
