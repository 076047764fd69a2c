"""The recordings' read side for other parts of Hotline (the console's recent calls, the API).

Routes call these instead of `select()`ing `Recording`; access-checked reads
(list, play, download) stay with the archive (recordings.archive), which audits
them. `RecordingPublic` is what the API shows of a recording.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from recordings.models import Recording, RecordingPublic, RecordingStatus

__all__ = ["RecordingPublic", "RecordingViews", "public"]


def public(recording: Recording) -> RecordingPublic:
    return RecordingPublic.model_validate(recording, from_attributes=True)


class RecordingViews:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def stored_of_calls(self, call_ids: Iterable[str]) -> dict[str, int]:
        """call id -> id of a stored recording of that call (for a play link); others are absent."""
        wanted = list(call_ids)
        if not wanted:
            return {}
        async with self._sessions() as session:
            rows = (
                await session.exec(
                    select(Recording).where(
                        col(Recording.call_id).in_(wanted), Recording.status == RecordingStatus.STORED
                    )
                )
            ).all()
        return {r.call_id: r.id for r in rows if r.id is not None}
