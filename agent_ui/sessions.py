"""Server-side sessions: a random token in the cookie, its SHA-256 in `web_session`.

Why not a signed cookie: a signed cookie cannot be taken back. Here requests look
their token up, joined with the account, so signing out, disabling the account or
changing its role holds from the next request, and a forged or stale cookie names
nothing. The lookup is one indexed read; on SQLite it runs on the desk's synchronous
read connection (`tickets.reads.Reads`), ~20 µs, no thread hop; on PostgreSQL it is a
round trip, as dear as the ticket read it guards.

So a found session is kept for `SESSION_CACHE_S` (2 s) in this process. Every change made
here (sign-out, an admin ending sessions, a role, an account disabled, a password set or
changed) empties that cache after its commit (`SessionStore.forget`, called through
`SocketRegistry` and `Accounts`): it holds from the next request, as before. A change made
by another process (the CLI, a second web worker, SQL by hand) holds here within
`SESSION_CACHE_S`. Expiry is checked on every request; unknown tokens are never cached.

Only the hash is stored: a copy of the database yields no usable cookie.

Several web workers (`--role web`, issue #17) need nothing more: the session is in the
shared database, so a cookie issued by one worker is honoured by every other, and an
ending made on one holds on the others within `SESSION_CACHE_S` (requests) and
`RECHECK_S` (their open sockets). Sign-in counts are shared in Redis
(agent_ui.shared_throttle).

Open websockets register here (`SocketRegistry`), so ending a session closes the
sockets it opened in this process at once; sockets also re-check their session
every `RECHECK_S`, which covers a session ended by another process (the CLI, a
second web worker).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.models import Role, User, WebSession
from config.database import utcnow
from tickets.reads import Reads

SESSION_MAX_AGE = timedelta(hours=12)  # one long shift
TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is a hint for people, not worth a write per request
RECHECK_S = 15.0
SESSION_CACHE_S = 2.0  # how long a change made by another process may take to hold here
SESSION_CACHE_MAX = 10_000  # sessions kept at most (beyond: emptied, then refilled by use)
CLOSE_SESSION_ENDED = 4401  # the console's "go to the sign-in page" code

Clock = Callable[[], datetime]


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionUser:
    """Who a request is from, as the database says now (not as it said at sign-in)."""

    id: int
    login: str
    name: str
    role: Role
    language: str
    session_id: str = ""  # the row id (token hash): what logout and the socket registry name
    must_change_password: bool = False  # only the password page answers until it is changed

    @property
    def agent_id(self) -> str | None:
        """Agents sign in with their agent id as login."""
        return self.login if self.role == Role.AGENT else None


_W = WebSession.__table__  # type: ignore[attr-defined]
_U = User.__table__  # type: ignore[attr-defined]
_LOOKUP = (
    select(
        _W.c.id,
        _W.c.expires_at,
        _W.c.last_seen_at,
        _U.c.id.label("user_id"),
        _U.c.login,
        _U.c.name,
        _U.c.role,
        _U.c.language,
        _U.c.must_change_password,
    )
    .join(_U, _U.c.id == _W.c.user_id)
    .where(_W.c.id == bindparam("id"), _W.c.revoked_at.is_(None), _U.c.active.is_(True))
)


class SessionStore:
    """Create, resolve and revoke sessions. Writes join the caller's transaction."""

    def __init__(
        self,
        db: async_sessionmaker[AsyncSession],
        reads: Reads,
        clock: Clock = utcnow,
        max_age: timedelta = SESSION_MAX_AGE,
        cache_s: float = SESSION_CACHE_S,
    ) -> None:
        self._db = db
        self._reads = reads
        self._clock = clock
        self.max_age = max_age
        self.cache_s = cache_s
        # session id -> (monotonic deadline, looked-up row, its user); see the module docstring
        self._cache: dict[str, tuple[float, dict[str, Any], SessionUser]] = {}
        self._generation = 0  # bumped by forget(): a lookup begun before it is not kept

    def forget(self) -> None:
        """Drop every kept session: call after committing any change to sessions or accounts
        (rare, so the whole cache goes rather than finding the account's entries)."""
        self._cache.clear()
        self._generation += 1

    async def add(
        self, session: AsyncSession, user_id: int, *, source_ip: str | None, user_agent: str
    ) -> tuple[str, str]:
        """A new session for `user_id`: (cookie token, session id). Also drops the user's
        expired rows, so the table holds at most one shift's sessions per account."""
        now = self._clock()
        token = secrets.token_urlsafe(32)
        sid = token_id(token)
        await session.exec(
            delete(WebSession).where(col(WebSession.user_id) == user_id, col(WebSession.expires_at) < now)
        )
        session.add(
            WebSession(
                id=sid,
                user_id=user_id,
                created_at=now,
                expires_at=now + self.max_age,
                last_seen_at=now,
                source_ip=source_ip,
                user_agent=user_agent[:200],
            )
        )
        await session.flush()
        return token, sid

    async def resolve(self, token: str) -> SessionUser | None:
        """The session's user if the token names a live session of an active account, else None.

        Every few minutes of use it also writes `last_seen_at` (awaited, on the request's path:
        a web request may wait for the database, telephony never does)."""
        if not token or len(token) > 100:
            return None
        sid = token_id(token)
        now_m = time.monotonic()
        kept = self._cache.get(sid)
        if kept is not None and kept[0] > now_m:
            _, row, user = kept
        else:
            generation = self._generation
            found = await self._reads.first(_LOOKUP, {"id": sid})
            if found is None:
                self._cache.pop(sid, None)
                return None
            try:
                role = Role(found["role"])
            except ValueError:  # a role this version does not know grants nothing
                return None
            row = found
            user = SessionUser(
                row["user_id"],
                row["login"],
                row["name"],
                role,
                row["language"],
                sid,
                bool(row["must_change_password"]),
            )
            if generation == self._generation and self.cache_s > 0:
                if len(self._cache) >= SESSION_CACHE_MAX:
                    self._cache.clear()
                self._cache[sid] = (now_m + self.cache_s, row, user)
        now = self._clock()
        if row["expires_at"] <= now:
            self._cache.pop(sid, None)
            return None
        if now - row["last_seen_at"] >= TOUCH_EVERY:
            async with self._db() as session:
                touch = update(WebSession).where(col(WebSession.id) == sid).values(last_seen_at=now)
                await session.exec(touch)
                await session.commit()
            row["last_seen_at"] = now  # the kept row too: one touch per TOUCH_EVERY, not per request
        return user

    async def revoke(self, session: AsyncSession, sid: str) -> bool:
        """Inside the caller's transaction; `SocketRegistry.end_session` after the commit
        empties the cache (a lookup between the two may still find the old row)."""
        self.forget()
        result = await session.exec(
            update(WebSession)
            .where(col(WebSession.id) == sid, col(WebSession.revoked_at).is_(None))
            .values(revoked_at=self._clock())
        )
        return bool(result.rowcount)

    async def revoke_user(self, session: AsyncSession, user_id: int) -> int:
        """End every live session of the account; returns how many."""
        self.forget()
        result = await session.exec(
            update(WebSession)
            .where(col(WebSession.user_id) == user_id, col(WebSession.revoked_at).is_(None))
            .values(revoked_at=self._clock())
        )
        return int(result.rowcount or 0)


@dataclass(eq=False)
class OpenSocket:
    """One accepted websocket; `ended` is set when its session no longer holds."""

    session_id: str
    user_id: int
    ended: asyncio.Event


class SocketRegistry:
    """Which websockets each session and account holds open in this process. Every caller
    that ended sessions calls `end_session` / `end_user` after its commit: that is also when
    `on_end` (the session store's `forget`) empties the kept sessions."""

    def __init__(self, on_end: Callable[[], None] | None = None) -> None:
        self._sockets: set[OpenSocket] = set()
        self._on_end = on_end

    @contextmanager
    def opened(self, user: SessionUser) -> Iterator[OpenSocket]:
        socket = OpenSocket(user.session_id, user.id, asyncio.Event())
        self._sockets.add(socket)
        try:
            yield socket
        finally:
            self._sockets.discard(socket)

    def end_session(self, session_id: str) -> int:
        return self._end(lambda s: s.session_id == session_id)

    def end_user(self, user_id: int, *, keep: str | None = None) -> int:
        """Close the account's sockets, but those of session `keep` (the one that changed
        its own password)."""
        return self._end(lambda s: s.user_id == user_id and s.session_id != keep)

    def _end(self, match: Callable[[OpenSocket], bool]) -> int:
        if self._on_end is not None:
            self._on_end()
        hit = [s for s in self._sockets if match(s)]
        for socket in hit:
            socket.ended.set()
        return len(hit)

    def __len__(self) -> int:
        return len(self._sockets)
