"""The Twilio link's call book, mirrored in the database so a standby router can take it over.

Every webhook's answer (TwiML) depends on the book (`calls.CallBook`): where the caller is
(menu, hold loop, ringing), which agents the current <Dial> rings, which attempt a callback
is at. The book stays in the router's memory, where the webhooks are answered; with one
router process a restart lost it together with the router's queue. With a router and a
standby (`--role router`, issue #17) the standby must find it: after each webhook and each
router order the link writes the calls it touched (`CallBook.touched`) here, one row per
call or callback, as JSON, with an expiry; a link that starts loads the unexpired rows
before it takes its first webhook.

Writes never keep Twilio waiting: the link waits for a write within its webhook budget and
lets a slower one finish behind (TwilioLink._persist). They are serialised, and each one
reads the book when it runs, not when it was asked for, so a slow write never overwrites a
newer state with an older one. Rows expire `CALL_STATE_TTL` after their last write (no
Twilio call lasts a day: its maximum is 24 h, the default 4 h); `purge` deletes them on a
schedule (the router's jobs).

What can be lost: a write the budget let through to the background when the process is
killed before it finishes (kill -9 in the ~ms after a webhook). The standby then holds the
call's previous phase; the moves table (`calls.MOVES`) refuses what no longer fits, and the
next webhook of the call recreates what it must (`CallFlow._call`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Field, SQLModel, Text, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.database import UTCDateTime, utcnow
from cti.twilio.calls import CALL, CALLBACK, Callback, CallBook, Phase, TwilioCall

CALL_STATE_TTL = timedelta(hours=24)


class TwilioCallState(SQLModel, table=True):
    __tablename__ = "twilio_call"

    kind: str = Field(primary_key=True, max_length=16)  # "call" (a caller leg) or "callback"
    key: str = Field(primary_key=True, max_length=128)  # the CallSid, or the callback's call id
    state: str = Field(sa_type=Text)  # the dataclass as JSON
    updated_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)


def encode(entry: TwilioCall | Callback) -> str:
    return json.dumps(dataclasses.asdict(entry), separators=(",", ":"))


def decode_call(state: str) -> TwilioCall:
    fields: dict[str, Any] = json.loads(state)
    fields["phase"] = Phase(fields["phase"])
    return TwilioCall(**fields)


def decode_callback(state: str) -> Callback:
    return Callback(**json.loads(state))


class DatabaseCallStore:
    """The book's rows: `save` what was touched, `load` the unexpired ones, `purge` the rest."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ttl: timedelta = CALL_STATE_TTL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions, self._ttl, self._clock = sessions, ttl, clock

    async def save(self, book: CallBook, touched: Iterable[tuple[str, str]]) -> int:
        """Write the current state of the touched calls (one transaction); returns rows written.
        A touched key the book no longer holds (trimmed) is left to expire."""
        now = self._clock()
        rows = []
        for kind, key in sorted(set(touched)):
            entry: TwilioCall | Callback | None = (
                book.calls.get(key) if kind == CALL else book.callbacks.get(key)
            )
            if entry is not None:
                rows.append(
                    {"kind": kind, "key": key, "state": encode(entry), "updated_at": now,
                     "expires_at": now + self._ttl}
                )  # fmt: skip
        if not rows:
            return 0
        async with self._sessions.begin() as session:
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            insert = dialect.insert(TwilioCallState).values(rows)
            upsert = insert.on_conflict_do_update(
                index_elements=["kind", "key"],
                set_={
                    "state": insert.excluded.state,
                    "updated_at": insert.excluded.updated_at,
                    "expires_at": insert.excluded.expires_at,
                },
            )
            await session.exec(upsert)
        return len(rows)

    async def load(self, book: CallBook) -> int:
        """Put the unexpired rows into `book` (oldest first, as the book keeps them); returns how many."""
        query = (
            select(TwilioCallState.kind, TwilioCallState.key, TwilioCallState.state)
            .where(col(TwilioCallState.expires_at) > self._clock())
            .order_by(col(TwilioCallState.updated_at))
        )
        async with self._sessions() as session:
            rows = (await session.exec(query)).all()
        for kind, key, state in rows:
            if kind == CALL:
                book.calls[key] = decode_call(state)
            elif kind == CALLBACK:
                book.callbacks[key] = decode_callback(state)
        book.touched.clear()  # what was just read needs no write back
        return len(rows)

    def install(self, scheduler: Any) -> None:
        """APScheduler 3: `purge` every hour (idempotent)."""
        scheduler.add_job(
            self.purge,
            trigger="interval",
            hours=1,
            id="twilio.call_state_purge",
            replace_existing=True,
            coalesce=True,
        )

    async def purge(self) -> int:
        """Delete expired rows; returns how many."""
        async with self._sessions.begin() as session:
            gone = delete(TwilioCallState).where(col(TwilioCallState.expires_at) <= self._clock())
            result = await session.exec(gone)
        return int(result.rowcount or 0)
