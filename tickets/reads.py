"""Short read-only queries without a thread hop on SQLite: the hot path of every call.

A caller-id match on the indexed `customer_phone.e164` takes ~10 µs in SQLite
itself; through aiosqlite (a worker thread per connection) and SQLAlchemy's
async bridge the same query costs ~0.5–1 ms, and several ms at p99 on a busy
machine, because each statement waits for a thread switch. So on SQLite, short
reads (caller match, one ticket by id, the pop's customer cards) run on a
dedicated synchronous, `query_only` connection in the event-loop thread; they
block the loop for tens of microseconds, less than the hop they replace. They
see every committed write (autocommit reads, WAL); they never see the caller's
uncommitted rows, so they are used only where that cannot matter.

On PostgreSQL the same functions run in an AsyncSession via `run_sync`, so each
read function is written once, against a synchronous `Session`; `Reads.first` there runs
on one of a few autocommit psycopg connections of its own (one round trip per read instead
of four; `PgReaders`).

The hottest reads (ticket by id on every API GET) go one step further with `Reads.first`:
a Core select compiled once for SQLite, run on the plain sqlite3 connection, each column
converted by the column type's own result processor (the same conversion SQLAlchemy
applies: aware UTC datetimes, enums, booleans). Opening a `Session` and checking out its
connection cost ~4x the query itself.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy import Engine, Select, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool
from sqlmodel.ext.asyncio.session import AsyncSession

from config.database import sync_url

P = ParamSpec("P")
T = TypeVar("T")


def _read_only_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _sqlite_reader(sessions: async_sessionmaker[AsyncSession]) -> Engine | None:
    bind = sessions.kw.get("bind")
    url = make_url(str(bind.url.render_as_string(hide_password=False))) if bind is not None else None
    if url is None or url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    engine = create_engine(
        sync_url(url.render_as_string(hide_password=False)),
        poolclass=StaticPool,  # one connection, used only from the loop thread, one read at a time
        connect_args={"check_same_thread": False},
    )
    event.listen(engine, "connect", _read_only_pragmas)
    return engine


class SqliteStatement:
    """A Core select compiled once for a SQLite dialect: SQL text, positional parameter names,
    and one result processor per selected column (None where the DBAPI value is final)."""

    def __init__(self, stmt: Select[Any], engine: Engine) -> None:
        dialect = engine.dialect
        compiled = stmt.compile(dialect=dialect)
        if dialect.paramstyle != "qmark" or compiled.positiontup is None:
            raise ValueError(f"unsupported paramstyle {dialect.paramstyle!r}")
        self.sql = str(compiled)
        self.params = list(compiled.positiontup)
        self.defaults = _fixed(compiled.binds)  # a LIMIT's value, bound by the statement itself
        columns = list(stmt.selected_columns)
        self.keys = list(stmt.selected_columns.keys())
        self.processors = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        self.cost: float | None = None  # CPU seconds of its last `Reads.all` (None: not run yet)
        for name, bind in compiled.binds.items():
            if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
                raise ValueError(f"parameter {name!r} needs a bind processor; use Reads.run")

    def first(self, conn: sqlite3.Connection, params: dict[str, Any]) -> dict[str, Any] | None:
        row = conn.execute(self.sql, self._values(params)).fetchone()
        if row is None:
            return None
        return {
            key: (value if proc is None else proc(value))
            for key, proc, value in zip(self.keys, self.processors, row, strict=True)
        }

    def all(self, conn: sqlite3.Connection, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        rows = conn.execute(self.sql, self._values(params)).fetchall()
        return _converted(self.processors, rows)

    def _values(self, params: dict[str, Any]) -> list[Any]:
        if self.defaults:
            params = {**self.defaults, **params}
        return [params[name] for name in self.params]


class PgStatement:
    """A Core select compiled once for PostgreSQL with one result processor per column, run by
    `PgReaders` as a prepared statement: the SQL with `$n` parameters (psycopg's `%(name)s`
    rewritten once; SQLAlchemy's psycopg dialect casts every parameter, `%(id)s::INTEGER`, so
    the server never has to guess a type) and the parameter names in `$n` order."""

    def __init__(self, stmt: Select[Any], engine: Engine) -> None:
        dialect = engine.dialect
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        names: list[str] = []

        def numbered(match: re.Match[str]) -> str:
            if match.group(0) == "%%":
                return "%"
            name = match.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        self.raw_sql = _PYFORMAT.sub(numbered, self.sql).encode()
        self.params = names
        self.defaults = _fixed(compiled.binds)
        self.keys = list(stmt.selected_columns.keys())
        self.processors = [
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in stmt.selected_columns
        ]
        for name, bind in compiled.binds.items():
            if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
                raise ValueError(f"parameter {name!r} needs a bind processor; use Reads.run")

    def values(self, params: dict[str, Any]) -> list[Any]:
        if self.defaults:
            params = {**self.defaults, **params}
        return [params[name] for name in self.params]

    def rows(self, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        return _converted(self.processors, rows)

    def row(self, values: Sequence[Any] | None) -> dict[str, Any] | None:
        if values is None:
            return None
        return {
            key: (value if proc is None else proc(value))
            for key, proc, value in zip(self.keys, self.processors, values, strict=True)
        }


def _fixed(binds: dict[str, Any]) -> dict[str, Any]:
    """The values a statement binds itself (`.limit(1)`): callers pass only their own."""
    return {name: bind.value for name, bind in binds.items() if bind.value is not None and not bind.required}


_PYFORMAT = re.compile(r"%%|%\(([^)]+)\)s")


def _converted(processors: list[Any], rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows as tuples with each column's result processor applied (only the columns that have one)."""
    procs = [(i, proc) for i, proc in enumerate(processors) if proc is not None]
    if not procs:
        return [tuple(r) for r in rows]
    out = []
    for row in rows:
        values = list(row)
        for i, proc in procs:
            value = values[i]
            if value is not None:
                values[i] = proc(value)
        out.append(tuple(values))
    return out


READ_THREADS = 2  # SQLite list reads at once (2-core hosts; each holds one sqlite3 connection)
INLINE_BELOW_S = 0.0005  # a SQLite `Reads.all` whose last run took less CPU runs in the loop thread
PG_READERS = 4  # PostgreSQL read connections; reads beyond them are pipelined on the least busy


class PgReaders:
    """Up to `size` autocommit psycopg connections for `Reads.first` / `Reads.all`, each read
    one prepared statement, each connection in libpq's pipeline mode.

    A pooled SQLAlchemy checkout cost four round trips (pre-ping, BEGIN, the select, ROLLBACK
    on return); one connection per read in flight made 32 concurrent readers queue for four.
    So a read goes to an idle connection, else to a new one while fewer than `size` are open,
    else it is queued behind the reads in flight on the least busy one (pipeline mode: the
    server answers them in order). A read runs at the libpq level (`_PqReader`), not through a
    psycopg cursor: the cursor's machinery cost ~150 µs of CPU per read here, the libpq calls
    ~25 µs (docs/BENCHMARKS.md, #18); values are dumped and loaded by psycopg's own adapters
    (`Transformer`), so rows are what a cursor returns. A connection that broke is dropped with
    its reads failed; a read that failed on a connection opened before it (the server
    restarted) is retried on another: reads change nothing. A statement the server refused
    fails that read alone (each read is its own sync point) and leaves the connection usable."""

    def __init__(self, dsn: str, size: int = PG_READERS) -> None:
        self._dsn = dsn
        self._size = size
        self._conns: list[_PqReader] = []
        self._connecting: set[asyncio.Task[_PqReader]] = set()

    async def fetchone(self, sql: bytes, params: Sequence[Any]) -> Sequence[Any] | None:
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def fetch(self, sql: bytes, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Every row of one read (`$n` parameters, in order), one prepared statement."""
        while True:
            conn, opened = await self._pick()
            try:
                return await conn.fetch(sql, params)
            except psycopg.OperationalError:
                self._drop(conn)
                if opened:
                    raise
                # one the server closed before this read (a restart): a read may be retried

    async def _pick(self) -> tuple[_PqReader, bool]:
        """(connection, opened for this read)."""
        loop = asyncio.get_running_loop()
        while True:
            best: _PqReader | None = None
            for conn in list(self._conns):
                if conn.broken or conn.loop is not loop:  # broken, or opened under an earlier loop
                    self._drop(conn)
                elif best is None or conn.in_flight < best.in_flight:
                    best = conn
            if best is not None and best.in_flight == 0:
                return best, False
            if len(self._conns) + len(self._connecting) < self._size:
                task = loop.create_task(self._connect())
                self._connecting.add(task)
                task.add_done_callback(self._connecting.discard)
                return await task, True
            if best is not None:
                return best, False
            await asyncio.wait(set(self._connecting), return_when=asyncio.FIRST_COMPLETED)

    async def _connect(self) -> _PqReader:
        conn = _PqReader(await psycopg.AsyncConnection.connect(self._dsn, autocommit=True))
        self._conns.append(conn)
        return conn

    def _drop(self, conn: _PqReader) -> None:
        if conn in self._conns:
            self._conns.remove(conn)
        conn.close()

    def close(self) -> None:
        """Synchronous libpq close of every connection: callers close from sync code too."""
        for task in self._connecting:
            task.cancel()
        for conn in self._conns:
            conn.close()
        self._conns.clear()


class _Sent:
    """One statement sent in the pipeline: its last result, whether its results ended (libpq's
    NULL after them), and the waiter, woken at its sync point."""

    __slots__ = ("ended", "result", "waiter")

    def __init__(self, waiter: asyncio.Future[pq.abc.PGresult | None] | None) -> None:
        self.waiter = waiter
        self.result: pq.abc.PGresult | None = None
        self.ended = False


class _PqReader:
    """One autocommit connection in libpq's pipeline mode, read through its asynchronous calls.

    Each read is sent as the prepared statement then a sync point (a statement prepared once
    per connection is sent ahead of its first read), and waits for its sync; what is sent in
    one turn of the event loop goes out in one write (`_flush`, scheduled with `call_soon`),
    and one readable event takes every answer that arrived: under load the reads in flight
    share their system calls (#18). The socket stays registered with the event loop for the
    connection's life: whatever the server sends while nothing is in flight (a notice, the
    error of a terminated backend, end of file) is consumed, and a closed connection is marked
    broken, its reads failed."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn
        self._pg = conn.pgconn
        self._pg.nonblocking = 1
        self._pg.enter_pipeline_mode()
        self._tx = Transformer(conn)
        self._encoding = conn.info.encoding
        self._prepared: dict[bytes, tuple[bytes, _Sent]] = {}  # SQL -> (statement name, its prepare)
        self._names = 0
        self._sent: deque[_Sent] = deque()
        self._flush_due = False
        self._writing = False
        self.loop = self._loop = asyncio.get_running_loop()
        self._fd = self._pg.socket
        self.broken = False
        self._loop.add_reader(self._fd, self._readable)

    @property
    def in_flight(self) -> int:
        return len(self._sent)

    async def fetch(self, sql: bytes, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if self.broken:
            raise psycopg.OperationalError("the connection was closed by the server")
        try:
            prepared = self._prepared.get(sql)
            if prepared is None:
                self._names += 1
                name = b"hotline_%d" % self._names
                self._pg.send_prepare(name, sql)
                self._pg.pipeline_sync()
                prepared = self._prepared[sql] = (name, _Sent(None))
                self._sent.append(prepared[1])
            name, prepare = prepared
            values = self._tx.dump_sequence(params, [PyFormat.TEXT] * len(params)) if params else None
            self._pg.send_query_prepared(name, values)
            self._pg.pipeline_sync()
        except psycopg.OperationalError as exc:
            self._fail(exc)
            raise
        sent = _Sent(self._loop.create_future())
        self._sent.append(sent)
        if not self._flush_due:
            self._flush_due = True
            self._loop.call_soon(self._flush)
        assert sent.waiter is not None
        result = await sent.waiter
        if prepare.ended and (prepare.result is None or prepare.result.status != pq.ExecStatus.COMMAND_OK):
            if self._prepared.get(sql) is prepared:
                del self._prepared[sql]  # prepared again by the next read
            result = prepare.result  # the reason it could not be prepared, not "does not exist"
        result = self._check(result, pq.ExecStatus.TUPLES_OK)
        self._tx.set_pgresult(result)
        return self._tx.load_rows(0, result.ntuples, tuple)

    def _flush(self) -> None:
        self._flush_due = False
        if self.broken or self._writing:
            return
        try:
            if self._pg.flush():  # the socket buffer is full: send the rest when it is writable
                self._writing = True
                self._loop.add_writer(self._fd, self._writable)
        except psycopg.OperationalError as exc:
            self._fail(exc)

    def _writable(self) -> None:
        try:
            if not self._pg.flush():
                self._writing = False
                self._loop.remove_writer(self._fd)
        except psycopg.OperationalError as exc:
            self._fail(exc)

    def _readable(self) -> None:
        pg = self._pg
        try:
            pg.consume_input()
            while not pg.is_busy():
                result = pg.get_result()
                head = self._sent[0] if self._sent else None
                if result is None:
                    if head is None or head.ended or head.result is None:
                        break  # nothing more has arrived
                    head.ended = True  # its results are all in; its sync point follows
                elif head is None:
                    continue  # nothing in flight: a terminated backend's error, say
                elif result.status == pq.ExecStatus.PIPELINE_SYNC:
                    self._sent.popleft()
                    head.ended = True
                    if head.waiter is not None and not head.waiter.done():  # not cancelled meanwhile
                        head.waiter.set_result(head.result)
                else:
                    head.result = result
        except psycopg.OperationalError as exc:
            self._fail(exc)
            return
        if pg.status != pq.ConnStatus.OK:
            self._fail(psycopg.OperationalError("the connection was closed by the server"))

    def _fail(self, exc: psycopg.OperationalError) -> None:
        """Broken: stop watching the socket, fail every read in flight."""
        if not self.broken:
            self.broken = True
            if not self._loop.is_closed():
                self._loop.remove_reader(self._fd)
                if self._writing:
                    self._loop.remove_writer(self._fd)
        sent, self._sent = self._sent, deque()
        for each in sent:
            if each.waiter is not None and not each.waiter.done():
                each.waiter.set_exception(psycopg.OperationalError(str(exc)))

    def _check(self, result: pq.abc.PGresult | None, expected: pq.ExecStatus) -> pq.abc.PGresult:
        if result is not None and result.status == expected:
            return result
        if result is None:
            raise psycopg.OperationalError("no result from the server")
        error = psycopg.errors.error_from_result(result, encoding=self._encoding)
        if isinstance(error, psycopg.OperationalError):
            self._fail(error)
        raise error

    def close(self) -> None:
        if not self.broken:
            self._fail(psycopg.OperationalError("the read connection was closed"))
        self._pg.finish()


class Reads:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._sync = _sqlite_reader(sessions)
        self._raw: sqlite3.Connection | None = None
        self._compiled: dict[Select[Any], SqliteStatement] = {}
        bind = sessions.kw.get("bind")
        self._engine: AsyncEngine | None = bind if isinstance(bind, AsyncEngine) else None
        self._pg: PgReaders | None = None
        url = self._engine.url if self._engine is not None else None
        if url is not None and url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg":
            self._pg = PgReaders(url.set(drivername="postgresql").render_as_string(hide_password=False))
        self._pg_compiled: dict[Select[Any], PgStatement] = {}
        self._threads: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._thread_conns: list[sqlite3.Connection] = []
        self._thread_lock = threading.Lock()

    @property
    def on_sqlite(self) -> bool:
        """Whether `first` / `all` / `few` run on plain sqlite3 connections (a SQLite file)."""
        return self._sync is not None

    @property
    def sqlite(self) -> sqlite3.Connection | None:
        """A plain sqlite3 connection (autocommit, query_only) for the one query where even
        SQLAlchemy Core's ~80 µs per statement matters: the caller-id match. None elsewhere."""
        if self._sync is None:
            return None
        if self._raw is None:
            path = self._sync.url.database
            assert path is not None
            self._raw = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            _read_only_pragmas(self._raw, None)
        return self._raw

    def _sqlite_statement(self, stmt: Select[Any]) -> SqliteStatement:
        compiled = self._compiled.get(stmt)
        if compiled is None:
            assert self._sync is not None
            compiled = self._compiled[stmt] = SqliteStatement(stmt, self._sync)
        return compiled

    def _pg_statement(self, stmt: Select[Any]) -> PgStatement:
        assert self._engine is not None
        pg = self._pg_compiled.get(stmt)
        if pg is None:
            pg = self._pg_compiled[stmt] = PgStatement(stmt, self._engine.sync_engine)
        return pg

    async def all(self, stmt: Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Every row of a select that may scan (a list page with its count), each column
        converted, in one read: on SQLite in one hop to a worker thread with a plain sqlite3
        connection of its own (the event loop carries calls: a count over 10^6 tickets must not
        block it), on PostgreSQL one round trip on `PgReaders`. Statements are compiled once
        (cache keyed by the select object: build each shape once).

        On SQLite a statement whose last run took less than INLINE_BELOW_S of CPU runs in the
        loop thread instead, as `first` does: with 32 list pages in flight, the hop (a future,
        a thread wake-up, and the GIL handed back and forth on every row the worker steps
        through) cost more CPU than the 50-row page itself (#18). A statement is first run in
        the thread; whichever thread ran it measures its CPU (`time.thread_time`: waiting for
        the GIL does not count), so a shape that grew slow (a count over many more tickets)
        goes back to the thread after one run."""
        if self._sync is not None:
            compiled = self._sqlite_statement(stmt)
            conn = self.sqlite
            if conn is not None and compiled.cost is not None and compiled.cost < INLINE_BELOW_S:
                started = time.thread_time()
                try:
                    return compiled.all(conn, params)
                finally:
                    compiled.cost = time.thread_time() - started
            if self._threads is None:
                self._threads = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="hotline-reads")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._threads, self._all_in_thread, compiled, params)
        if self._pg is not None and self._engine is not None:
            pg = self._pg_statement(stmt)
            return pg.rows(await self._pg.fetch(pg.raw_sql, pg.values(params)))
        return await self.run(_all_rows, stmt, params)

    def _all_in_thread(self, compiled: SqliteStatement, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            assert self._sync is not None and self._sync.url.database is not None
            conn = sqlite3.connect(self._sync.url.database, check_same_thread=False, isolation_level=None)
            _read_only_pragmas(conn, None)
            self._local.conn = conn
            with self._thread_lock:
                self._thread_conns.append(conn)
        started = time.thread_time()
        try:
            return compiled.all(conn, params)
        finally:
            compiled.cost = time.thread_time() - started

    async def first(self, stmt: Select[Any], params: dict[str, Any]) -> dict[str, Any] | None:
        """The first row of a select, as a dict of converted column values, or None. On SQLite:
        the plain sqlite3 connection and a statement compiled once (cache keyed by the select
        object: pass a module-level constant). Elsewhere: Core through `run`."""
        conn = self.sqlite
        if conn is not None:
            return self._sqlite_statement(stmt).first(conn, params)
        if self._pg is not None and self._engine is not None:
            pg = self._pg_statement(stmt)
            return pg.row(await self._pg.fetchone(pg.raw_sql, pg.values(params)))
        return await self.run(_first_row, stmt, params)

    async def few(self, stmt: Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Every row of a short indexed select (a handful of rows, as `first` reads one), each
        column converted: on SQLite on the plain connection in the loop thread, no hop; on
        PostgreSQL one round trip on `PgReaders`. Same statement cache as `first`."""
        conn = self.sqlite
        if conn is not None:
            return self._sqlite_statement(stmt).all(conn, params)
        if self._pg is not None and self._engine is not None:
            pg = self._pg_statement(stmt)
            return pg.rows(await self._pg.fetch(pg.raw_sql, pg.values(params)))
        return await self.run(_all_rows, stmt, params)

    async def run(self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._sync is not None:
            with Session(self._sync) as session:
                return fn(session, *args, **kwargs)
        async with self._sessions() as session:
            return await session.run_sync(fn, *args, **kwargs)

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=True)  # a read in flight finishes before its connection closes
            self._threads = None
        with self._thread_lock:
            for conn in self._thread_conns:
                conn.close()
            self._thread_conns.clear()
        self._local = threading.local()
        if self._pg is not None:
            self._pg.close()
        if self._raw is not None:
            self._raw.close()
            self._raw = None
        if self._sync is not None:
            self._sync.dispose()


def _first_row(session: Session, stmt: Select[Any], params: dict[str, Any]) -> dict[str, Any] | None:
    row = session.connection().execute(stmt, params).mappings().first()
    return None if row is None else dict(row)


def _all_rows(session: Session, stmt: Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in session.connection().execute(stmt, params).all()]
