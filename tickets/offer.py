"""Where an offered call's write runs: one synchronous unit of work, committed in groups.

Taking a call in writes a few rows (the ticket, the call's link, two or three timeline
entries, the audit batch with its head bump). Through an AsyncSession on aiosqlite each
statement, flush and the commit is a hop to aiosqlite's thread, ~1 ms apiece on a busy
2-core host: the write cost ~8 ms of hops for ~0.3 ms of SQLite work. So the write is a
plain function of a synchronous `Connection` (Core statements, no ORM unit of work) and
`OfferWriter.run` runs it in a transaction.

Group commit. The writes queued while one transaction is written go together in the next
one: one writer per database (this object) takes every queued write (at most `BATCH_MAX`),
runs each in a SAVEPOINT of one transaction and commits once. Under a storm the cost of a
write was not the write but the wait for SQLite's write lock (the lane behind holds it for
its batches; the busy handler polls in sleeps of up to 100 ms) and, one write at a time, each
queued write paid that wait again: at 48 calls/s ~175 ms per offered call for ~1 ms of work
(docs/BENCHMARKS.md, "Call storm"). In a group the wait is paid once for all of them, and so
are the commit's fsync and, on PostgreSQL, the audit head's row lock (taken at the first
bump, kept to the commit: the writes of one group never queue on it against each other).

* SQLite (a file): on a synchronous connection of its own, in one worker thread. The batch
  begins with BEGIN IMMEDIATE (the driver's own transaction handling is off on that
  connection: pysqlite's implicit BEGIN would let the first RELEASE commit), so the lock is
  waited for once, under the engine's busy timeout, before any write; a lock held past the
  timeout fails the whole group with the same OperationalError (`CallIntake._take` tries
  each again). A WAL checkpoint on commit blocks that thread, not the event loop.
* Elsewhere (PostgreSQL, in-memory SQLite): an `AsyncConnection` from the engine's pool, the
  batch through `run_sync`: one round trip per statement, no ORM flushes.

A write that raises is rolled back to its savepoint and its caller gets the error; the
others in its group are committed. A failed commit fails every write of the group (none of
them is committed). A group of one runs without a savepoint.

The function may run more than once (a retried transaction): it must build what it writes
from its arguments each time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.pool import StaticPool
from sqlmodel.ext.asyncio.session import AsyncSession

from config.database import install_sqlite_pragmas, sync_url

T = TypeVar("T")

BATCH_MAX = 64  # writes per group: a transaction's worth; the rest wait for the next one


@dataclass(eq=False)
class _Job(Generic[T]):
    work: Callable[[Connection], T]
    done: asyncio.Future[T]
    taken: bool = False  # in a group being written (by whichever caller took it)


@dataclass
class WriterStats:
    groups: int = 0  # transactions committed or failed
    writes: int = 0  # writes in them (writes / groups: the group-commit factor)
    largest: int = 0
    seconds: float = 0.0  # wall time the groups took, the wait for SQLite's lock included


def _own_transactions(dbapi_connection: Any, _record: Any) -> None:
    """pysqlite begins a transaction by itself before DML and not before SAVEPOINT, so a
    RELEASE of the first savepoint would commit; with its handling off, `_begin` says when."""
    dbapi_connection.isolation_level = None


def _begin_immediate(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now, waited for once (busy timeout)


class OfferWriter:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        bind = sessions.kw.get("bind")
        self._engine = bind if isinstance(bind, AsyncEngine) else None
        self._sync: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._queued: list[_Job[Any]] = []
        self._turn = asyncio.Lock()  # one group in flight per database
        self.stats = WriterStats()
        if self._engine is not None:
            url = self._engine.url
            if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
                self._sync = create_sync_engine(
                    sync_url(url.render_as_string(hide_password=False)),
                    poolclass=StaticPool,  # one connection, used by the one writer thread
                    connect_args={"check_same_thread": False},
                )
                install_sqlite_pragmas(self._sync)
                event.listen(self._sync, "connect", _own_transactions)
                event.listen(self._sync, "begin", _begin_immediate)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` in a transaction, committed when it and the others of its group have
        run; rolled back (to its savepoint) if it raises. Waits while the group before is
        written; the caller whose turn it is writes every write queued by then."""
        if self._engine is None:
            raise RuntimeError("the session factory has no AsyncEngine bound")
        job: _Job[T] = _Job(work, asyncio.get_running_loop().create_future())
        self._queued.append(job)
        async with self._turn:
            while not job.taken:
                group, self._queued = self._queued[:BATCH_MAX], self._queued[BATCH_MAX:]
                await self._write(group)
        return await job.done

    async def _write(self, group: list[_Job[Any]]) -> None:
        """One transaction for `group`; each job's future settled when it ends, even if the
        caller writing it is cancelled meanwhile (the transaction runs to its end)."""
        for job in group:
            job.taken = True
        works = [job.work for job in group]
        self.stats.groups += 1
        self.stats.writes += len(group)
        self.stats.largest = max(self.stats.largest, len(group))
        if self._sync is not None:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="hotline-offers")
            written: asyncio.Future[list[_Outcome]] = asyncio.get_running_loop().run_in_executor(
                self._thread, self._in_thread, works
            )
        else:
            written = asyncio.ensure_future(self._on_pool(works))
        began = time.perf_counter()
        written.add_done_callback(lambda f: _settle(group, f))
        try:
            await asyncio.shield(written)
        finally:
            self.stats.seconds += time.perf_counter() - began

    async def _on_pool(self, works: Sequence[Callable[[Connection], Any]]) -> list[_Outcome]:
        assert self._engine is not None
        async with self._engine.connect() as conn:
            return await conn.run_sync(_in_transaction, works)

    def _in_thread(self, works: Sequence[Callable[[Connection], Any]]) -> list[_Outcome]:
        assert self._sync is not None
        with self._sync.connect() as conn:
            return _in_transaction(conn, works)

    def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)  # a write in flight finishes before the connection goes
            self._thread = None
        if self._sync is not None:
            self._sync.dispose()


_Outcome = tuple[bool, Any]  # (True, the work's result) or (False, the exception it raised)


def _in_transaction(conn: Connection, works: Sequence[Callable[[Connection], Any]]) -> list[_Outcome]:
    """Every work in one transaction, each in a savepoint when there are several."""
    with conn.begin():
        if len(works) == 1:
            return [(True, works[0](conn))]
        outcomes: list[_Outcome] = []
        for work in works:
            try:
                with conn.begin_nested():
                    outcomes.append((True, work(conn)))
            except Exception as exc:  # this work alone is rolled back; the others go on
                outcomes.append((False, exc))
        return outcomes


def _settle(group: list[_Job[Any]], written: asyncio.Future[list[_Outcome]]) -> None:
    if written.cancelled():
        failed: BaseException | None = asyncio.CancelledError()
    else:
        failed = written.exception()
    for index, job in enumerate(group):
        if job.done.done():
            continue
        if failed is not None:  # the transaction failed: none of its writes is committed
            job.done.set_exception(failed)
            continue
        ok, value = written.result()[index]
        if ok:
            job.done.set_result(value)
        else:
            job.done.set_exception(value)
