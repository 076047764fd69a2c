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

On SQLite the thread hop itself was most of the write's time on a loaded host (the write ~1 ms
of CPU, the hop to the thread and back 5 ms p50, 30 ms p99 at load ~5, docs/BENCHMARKS.md
"Intake"). With `loop_first=True`, when no write of ours is in the thread, the write first runs
in the event-loop thread on a connection with `busy_timeout=0`: it never waits for the lock, it
blocks the loop for the ~0.3-1 ms of the write itself. If another connection holds the write
lock (SQLITE_BUSY) that attempt is rolled back and the write goes to the thread, which waits for
the lock as before. That loop connection does not checkpoint on commit (`wal_autocheckpoint=0`:
a checkpoint copies up to 1,000 pages and would stall the loop); every `CHECKPOINT_EVERY` of its
commits a passive checkpoint runs in the writer thread instead (the engine's other connections
still checkpoint on their own commits).

`loop_first` is off by default: under a call storm (docs/BENCHMARKS.md, "Main after the
intake's loop-thread write") the loop-first write lost 128 and 216 of 960 calls at 48 calls/s
where the thread-only write lost none. The loop it holds is the one the AMI reader and the lane
behind (recordings, call ends) run on, and every SQLITE_BUSY attempt is paid twice. A 5 ms hop
on the intake costs less than a call without its recording.

The function may run more than once (a retried transaction): it must build what it writes
from its arguments each time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.pool import StaticPool
from sqlmodel.ext.asyncio.session import AsyncSession

from config.database import install_sqlite_pragmas, sync_url

T = TypeVar("T")

CHECKPOINT_EVERY = 200  # loop-thread commits between two passive WAL checkpoints in the thread
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _loop_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """After the engine's pragmas (listeners run in order): never wait for the lock, never
    checkpoint on commit, in the event loop's thread."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


class OfferWriter:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, loop_first: bool = False) -> None:
        """`loop_first=True`: a write tries the event-loop thread first (faster alone, worse
        under a storm: see the module docstring). A bulk write, such as a customer import's
        batch, must keep it off: it would hold the loop for its whole length."""
        bind = sessions.kw.get("bind")
        self._engine = bind if isinstance(bind, AsyncEngine) else None
        self._sync: Engine | None = None
        self._loop_engine: Engine | None = None
        self._loop_conn: Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._in_thread_now = 0  # our writes queued or running in the thread
        self._since_checkpoint = 0
        self._checkpoint: Future[None] | None = None
        if self._engine is not None:
            url = self._engine.url
            if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
                self._sync = create_sync_engine(
                    sync_url(url.render_as_string(hide_password=False)),
                    poolclass=StaticPool,  # one connection, used by the one writer thread
                    connect_args={"check_same_thread": False},
                )
                install_sqlite_pragmas(self._sync)
            if self._sync is not None and loop_first:
                self._loop_engine = create_sync_engine(
                    sync_url(url.render_as_string(hide_password=False)),
                    poolclass=StaticPool,  # one connection, used only from the loop thread
                    connect_args={"check_same_thread": False},
                )
                install_sqlite_pragmas(self._loop_engine)
                event.listen(self._loop_engine, "connect", _loop_pragmas)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` in one transaction, committed when it returns, rolled back if it raises."""
        if self._sync is not None:
            if self._in_thread_now == 0 and self._loop_engine is not None:
                if self._loop_conn is None:  # kept open: a checkout and its reset cost ~0.2 ms
                    self._loop_conn = self._loop_engine.connect()
                try:
                    result = _in_transaction(self._loop_conn, work)
                except OperationalError as e:
                    if getattr(e.orig, "sqlite_errorcode", None) not in _BUSY:
                        raise
                else:
                    self._committed_in_loop()
                    return result
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="hotline-offers")
            loop = asyncio.get_running_loop()
            self._in_thread_now += 1
            try:
                return await loop.run_in_executor(self._thread, self._in_thread, work)
            finally:
                self._in_thread_now -= 1
        if self._engine is None:
            raise RuntimeError("the session factory has no AsyncEngine bound")
        async with self._engine.connect() as conn:
            return await conn.run_sync(_in_transaction, work)

    def _committed_in_loop(self) -> None:
        self._since_checkpoint += 1
        if self._since_checkpoint < CHECKPOINT_EVERY or (
            self._checkpoint is not None and not self._checkpoint.done()
        ):
            return
        self._since_checkpoint = 0
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="hotline-offers")
        self._checkpoint = self._thread.submit(self._passive_checkpoint)

    def _passive_checkpoint(self) -> None:
        """Copy what readers no longer need from the WAL into the database (never waits for
        readers or writers; a busy database is checkpointed by the next one)."""
        assert self._sync is not None
        with self._sync.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").close()

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
        if self._loop_conn is not None:
            self._loop_conn.close()
            self._loop_conn = None
        if self._loop_engine is not None:
            self._loop_engine.dispose()


def _in_transaction(conn: Connection, work: Callable[[Connection], T]) -> T:
    with conn.begin():
        return work(conn)
