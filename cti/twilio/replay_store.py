"""Twilio webhooks already answered, kept in the database until they expire.

Twilio signs a request but puts no time in the signature, so a signed request
stays valid forever: whoever captured the `/voice` webhook of a call (a proxy
log, a retry seen twice) can post it again. The in-memory `ReplayCache`
answered such a replay from memory; after a restart it had forgotten, and the
replayed `/voice` of a long-ended call put a phantom caller in the queue.

Each request identity (`replay.request_key`, stored as its SHA-256: fixed
length, nothing of the form in clear) is written with its TwiML answer and an
expiry (`HOTLINE_TWILIO_REPLAY_TTL_S`, default 7 days). The link looks it up
and writes it within its webhook budget (TwilioLink): a slow database must not
keep Twilio waiting, so a lookup that misses the budget lets the request
through (logged and counted) and a write that misses it finishes in the
background. `purge` deletes expired rows (a scheduler job).

Limit: a replay older than the TTL is a new request again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Field, SQLModel, Text, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.database import UTCDateTime, utcnow


class AnsweredWebhook(SQLModel, table=True):
    __tablename__ = "twilio_webhook"

    key_hash: str = Field(primary_key=True, max_length=64)
    answer: str = Field(sa_type=Text)
    seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class DatabaseReplayLedger:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ttl: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions, self._ttl, self._clock = sessions, ttl, clock

    async def recall(self, key: str) -> str | None:
        """The answer given to this request before, if it has not expired."""
        query = select(AnsweredWebhook.answer).where(
            col(AnsweredWebhook.key_hash) == _hashed(key), col(AnsweredWebhook.expires_at) > self._clock()
        )
        async with self._sessions() as session:
            return (await session.exec(query)).first()

    async def remember(self, key: str, answer: str) -> None:
        """Keep the answer (the first one wins: a concurrent twin changes nothing)."""
        now = self._clock()
        values = {"key_hash": _hashed(key), "answer": answer, "seen_at": now, "expires_at": now + self._ttl}
        async with self._sessions.begin() as session:
            insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
            await session.exec(insert(AnsweredWebhook).values(**values).on_conflict_do_nothing())

    def install(self, scheduler: Any) -> None:
        """APScheduler 3: `purge` every hour (idempotent)."""
        scheduler.add_job(
            self.purge,
            trigger="interval",
            hours=1,
            id="twilio.replay_purge",
            replace_existing=True,
            coalesce=True,
        )

    async def purge(self) -> int:
        """Delete expired rows; returns how many."""
        async with self._sessions.begin() as session:
            gone = delete(AnsweredWebhook).where(col(AnsweredWebhook.expires_at) <= self._clock())
            result = await session.exec(gone)
        return int(result.rowcount or 0)
