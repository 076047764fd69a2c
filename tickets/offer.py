"""Where an offered call's write runs: one synchronous unit of work, in one call.

Taking a call in writes a few rows (the ticket, the call's link, two or three timeline
entries, the audit batch with its head bump). Through an AsyncSession on aiosqlite each
statement, flush and the commit is a hop to aiosqlite's thread, ~1 ms apiece on a busy
2-core host: the write cost ~8 ms of hops for ~0.3 ms of SQLite work. So the write is a
plain function of a synchronous `Connection` (Core statements, no ORM unit of work) and
`OfferWriter.run` runs it in a transaction:

* SQLite (a file): on a synchronous connection of its own, in one worker thread: one hop
  for the whole write. The connection has the engine's pragmas (WAL, foreign keys, the busy
  timeout), so a writer holding the lock past the timeout raises the same OperationalError
  (`CallIntake._take` tries again), and a WAL checkpoint on commit blocks that thread, not
  the event loop.
* Elsewhere (PostgreSQL, in-memory SQLite): an `AsyncConnection` from the engine's pool,
  the function through `run_sync`: one round trip per statement, no ORM flushes.

The function may run more than once (a retried transaction): it must build what it writes
from its arguments each time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.pool import StaticPool
from sqlmodel.ext.asyncio.session import AsyncSession

from config.database import install_sqlite_pragmas, sync_url

T = TypeVar("T")


class OfferWriter:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        bind = sessions.kw.get("bind")
        self._engine = bind if isinstance(bind, AsyncEngine) else None
        self._sync: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        if self._engine is not None:
            url = self._engine.url
            if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
                self._sync = create_sync_engine(
                    sync_url(url.render_as_string(hide_password=False)),
                    poolclass=StaticPool,  # one connection, used by the one writer thread
                    connect_args={"check_same_thread": False},
                )
                install_sqlite_pragmas(self._sync)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` in one transaction, committed when it returns, rolled back if it raises."""
        if self._sync is not None:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="hotline-offers")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._thread, self._in_thread, work)
        if self._engine is None:
            raise RuntimeError("the session factory has no AsyncEngine bound")
        async with self._engine.connect() as conn:
            return await conn.run_sync(_in_transaction, work)

    def _in_thread(self, work: Callable[[Connection], T]) -> T:
        assert self._sync is not None
        with self._sync.connect() as conn:
            return _in_transaction(conn, work)

    def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)  # a write in flight finishes before the connection goes
            self._thread = None
        if self._sync is not None:
            self._sync.dispose()


def _in_transaction(conn: Connection, work: Callable[[Connection], T]) -> T:
    with conn.begin():
        return work(conn)
