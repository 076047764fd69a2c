"""Leader election: one router acts, the others stand by, through a PostgreSQL advisory lock.

The elector holds a session-level `pg_try_advisory_lock(key)` on a connection of its own
(never the pool's: a pooled connection is handed back and reused, and the lock would go
with it). A standby tries the lock every `poll_s`; the winner

1. increments the epoch in `cluster_leader` in one transaction (the fencing token the
   router's database writes are checked against, cluster.fence_db),
2. keeps the connection busy with `SELECT 1` every `keepalive_s` and waits `lease_s`
   before it acts, so a predecessor that lost the lock has certainly stopped
   (cluster.fence explains the arithmetic),
3. arms the process's `Fence`: from then on every keepalive answered extends the lease.

Sessions of the old leader: in the transaction of the increment the winner ends every session
tagged with the previous holder (`session_tag`, the application_name of a router's engine,
agent_ui.bootstrap). A leader cut off mid-transaction would otherwise keep its row locks (an
idle-in-transaction session waits for its client forever) and block its successor's writes, and
a COMMIT of its stuck in a frozen path could still arrive after the successor started: ended,
its transactions roll back. This is the server-side fence of the old leader's database writes.

What frees the lock: the leader's session ending. A killed process (kill -9, a crash)
closes its socket and PostgreSQL ends the session at once. A leader that is alive but cut
off (a frozen network path, a hung host) leaves an idle session behind that PostgreSQL
cannot tell from a quiet one; the lock connection therefore sets `idle_session_timeout`
(PostgreSQL 14+) a little above the lease, so the server ends a session that sent no
keepalive for that long, and TCP keepalives plus `tcp_user_timeout` end one whose packets
are no longer acknowledged. The cut-off leader's fence has expired by then on its own
clock (it needs no answer from anyone to stop).

Errors: `campaign` rides out database outages (it logs and tries again); `hold` raises
`cluster.fence.Deposed` when the lock connection fails or the lease runs out, and the
process is expected to stop acting and exit (agent_ui.bootstrap does).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import psycopg
from sqlalchemy.engine import make_url

from cluster.fence import Deposed, Fence

log = logging.getLogger(__name__)

PgConn = psycopg.AsyncConnection[tuple[object, ...]]

KEEPALIVE_S = 0.25
POLL_S = 0.25
LEASE_S = 1.0

T = TypeVar("T")


def lock_key(name: str) -> int:
    """The advisory lock's bigint key for an election: stable across processes and versions."""
    digest = hashlib.sha256(f"hotline-leader:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def libpq_url(database_url: str) -> str:
    """`postgresql+psycopg://…` (SQLAlchemy's form) as libpq reads it."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("leader election needs PostgreSQL (advisory locks); SQLite runs one process")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def session_tag(holder: str) -> str:
    """The `application_name` of a leader's own database sessions (its engine's pool): how its
    successor finds them to end them (PostgreSQL keeps 63 bytes of it)."""
    return f"hotline router {holder}".encode()[:63].decode(errors="ignore")


def tagged_url(database_url: str, holder: str) -> str:
    """`database_url` whose sessions carry this holder's tag (see Elector, "sessions of the old leader")."""
    url = make_url(database_url)
    return url.update_query_dict({"application_name": session_tag(holder)}).render_as_string(
        hide_password=False
    )


@dataclass(frozen=True, slots=True)
class Leadership:
    """This process leads `name` under `epoch` since `won_at`, and acts from `active_at` (clock)."""

    name: str
    epoch: int
    holder: str
    won_at: float
    active_at: float


class Elector:
    """One process's candidacy for one election (`name`, e.g. "router")."""

    def __init__(
        self,
        database_url: str,
        *,
        name: str = "router",
        holder: str | None = None,
        fence: Fence | None = None,
        keepalive_s: float = KEEPALIVE_S,
        poll_s: float = POLL_S,
        idle_timeout_s: float | None = None,
        connect_timeout_s: float = 2.0,
    ) -> None:
        self.conninfo = libpq_url(database_url)
        self.name = name
        self.key = lock_key(name)
        self.holder = holder or default_holder()
        self.fence = fence or Fence(lease_s=LEASE_S)
        self.keepalive_s = keepalive_s
        self.poll_s = poll_s
        lease_s = self.fence.lease_s
        # The server ends a session quiet for this long: above the lease, so a live leader is
        # never cut for one slow keepalive, and a frozen one frees the lock soon after it stopped.
        self.idle_timeout_s = idle_timeout_s if idle_timeout_s is not None else 2 * lease_s
        self.connect_timeout_s = connect_timeout_s
        self.query_timeout_s = max(lease_s, 2 * keepalive_s)
        self.leadership: Leadership | None = None
        self._conn: PgConn | None = None
        self._pinger: asyncio.Task[NoReturn] | None = None

    @property
    def clock(self) -> Callable[[], float]:
        return self.fence.clock

    # ------------------------------------------------------------------ standby
    async def campaign(self) -> Leadership:
        """Stand by until this process wins the lock, then take office; returns when it may act."""
        waited_from = self.clock()
        logged = False
        while True:
            try:
                conn = await self._connection()
                sent = self.clock()
                async with asyncio.timeout(self.query_timeout_s):
                    cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
                    row = await cur.fetchone()
                if row is not None and row[0] is True:
                    leadership = await self._take_office(conn, sent)
                    log.info(
                        "leader of %r: epoch %d, holder %s, after %.2f s as standby; acting now",
                        self.name, leadership.epoch, self.holder, self.clock() - waited_from,
                    )  # fmt: skip
                    return leadership
                if not logged:
                    log.info("standby for %r: another process holds the lock; polling", self.name)
                    logged = True
            except (psycopg.Error, OSError, TimeoutError) as exc:
                log.warning("election %r: %s; trying again", self.name, exc or type(exc).__name__)
                await self._drop()
            await asyncio.sleep(self.poll_s)

    async def _take_office(self, conn: PgConn, sent: float) -> Leadership:
        won = sent
        async with asyncio.timeout(self.query_timeout_s), conn.transaction():
            await self._end_predecessor(conn)
            cur = await conn.execute(
                "INSERT INTO cluster_leader (name, epoch, holder, since) VALUES (%s, 1, %s, now())"
                " ON CONFLICT (name) DO UPDATE SET epoch = cluster_leader.epoch + 1,"
                " holder = EXCLUDED.holder, since = EXCLUDED.since RETURNING epoch",
                (self.name, self.holder),
            )
            row = await cur.fetchone()
        if row is None or not isinstance(row[0], int):
            raise psycopg.DataError("cluster_leader: the epoch increment returned no epoch")
        epoch = row[0]
        active_at = won + self.fence.lease_s
        log.info(
            "won the lock of %r (epoch %d): waiting %.2f s so a predecessor has stopped",
            self.name, epoch, self.fence.lease_s,
        )  # fmt: skip
        last = won
        while (now := self.clock()) < active_at:  # keep the session busy meanwhile
            await asyncio.sleep(min(self.keepalive_s, active_at - now))
            async with asyncio.timeout(self.query_timeout_s):
                last = await self._ping(conn)  # a failure: back to standby (campaign)
        self.fence.arm(epoch, last)
        self.leadership = Leadership(self.name, epoch, self.holder, won, active_at)
        return self.leadership

    async def _end_predecessor(self, conn: PgConn) -> None:
        """End the sessions of the previous holder (its engine's, tagged). The holder is read without
        a row lock: one of those sessions may hold the row (we hold the advisory lock: no one else
        is taking office meanwhile)."""
        cur = await conn.execute("SELECT holder FROM cluster_leader WHERE name = %s", (self.name,))
        row = await cur.fetchone()
        if row is None or row[0] == self.holder:
            return
        cur = await conn.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s AND pid <> pg_backend_pid()",
            (session_tag(str(row[0])),),
        )
        ended = await cur.fetchone()
        if ended is not None and ended[0]:
            log.warning("ended %s database sessions of the previous leader %s", ended[0], row[0])

    # ------------------------------------------------------------------ leader
    async def hold(self) -> NoReturn:
        """Keep the lock alive; raise Deposed once it is lost. Run beside what the leader does.

        The keepalive runs in a task of its own, watched against the fence's lease: a query
        hanging on a frozen socket cannot keep this from raising on time."""
        conn = self._conn
        if conn is None or self.leadership is None:
            raise Deposed(f"not the leader of {self.name!r}: campaign() first")
        pinger = asyncio.create_task(self._keepalive(conn), name=f"leader-keepalive-{self.name}")
        self._pinger = pinger
        try:
            while True:
                done, _ = await asyncio.wait({pinger}, timeout=max(self.fence.remaining(), 0.0))
                if pinger in done:
                    pinger.result()  # it only ends raising
                if self.fence.remaining() <= 0:
                    self.fence.lose(f"no keepalive answered within the {self.fence.lease_s:g} s lease")
                    self.fence.check()  # raises Deposed, naming the reason
        finally:
            log.warning("leadership of %r (epoch %s) ends", self.name, self.fence.epoch)
            await self._drop()

    async def _keepalive(self, conn: PgConn) -> NoReturn:
        while True:
            try:
                sent = await self._ping(conn)
            except (psycopg.Error, OSError) as exc:
                self.fence.lose(f"the lock connection failed: {exc or type(exc).__name__}")
                raise Deposed(f"lost the lock of {self.name!r}: {exc}") from exc
            self.fence.renew(sent)
            await asyncio.sleep(max(0.0, sent + self.keepalive_s - self.clock()))

    async def _ping(self, conn: PgConn) -> float:
        """`SELECT 1` on the lock connection; returns when it was sent. An answer proves the
        session, and so the session-level lock, is still ours."""
        sent = self.clock()
        await conn.execute("SELECT 1")
        return sent

    # ------------------------------------------------------------------ connection
    async def _connection(self) -> PgConn:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        idle_ms = max(1, round(self.idle_timeout_s * 1000))
        async with asyncio.timeout(self.connect_timeout_s):
            self._conn = await psycopg.AsyncConnection.connect(
                self.conninfo,
                autocommit=True,
                connect_timeout=max(2, round(self.connect_timeout_s)),
                application_name=f"hotline elector {self.name}"[:63],
                options=f"-c idle_session_timeout={idle_ms}",
                keepalives=1,
                keepalives_idle=1,
                keepalives_interval=1,
                keepalives_count=2,
                tcp_user_timeout=idle_ms,
            )
        return self._conn

    async def _drop(self) -> None:
        """Close the lock connection (the server frees the lock when it sees the socket close).

        The socket is closed before the keepalive is cancelled: cancelling a query in flight
        makes psycopg send a cancel request and wait for the query (up to ~10 s on a frozen
        path); on a closed connection it has nothing to cancel and unwinds at once."""
        pinger, self._pinger = self._pinger, None
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                await conn.close()
        if pinger is not None and not pinger.done():
            pinger.cancel()
            await asyncio.wait({pinger}, timeout=1.0)

    async def aclose(self) -> None:
        await self._drop()

    @property
    def backend_pid(self) -> int | None:
        """The lock session's server process (pg_stat_activity.pid), while connected."""
        conn = self._conn
        return conn.info.backend_pid if conn is not None and not conn.closed else None

    async def __aenter__(self) -> Elector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class ElectorThread:
    """An Elector run on an event loop of its own, in a thread of its own.

    The keepalive must not depend on how busy the router is: on the router's loop, one slow
    synchronous step (a start-up recovery, a large parse, a loaded host's scheduling) longer
    than the lease lets it lapse, and a leader that still holds the lock deposes itself. Here
    the keepalive runs beside the router's loop; the fence it renews is read there (a float,
    under the GIL). Same interface as Elector: `fence`, `leadership`, `campaign`, `hold`, `aclose`.
    """

    def __init__(self, elector: Elector) -> None:
        self.elector = elector
        self._loop: asyncio.AbstractEventLoop | None = None  # with the thread, at the first campaign
        self._thread: threading.Thread | None = None

    @property
    def fence(self) -> Fence:
        return self.elector.fence

    @property
    def leadership(self) -> Leadership | None:
        return self.elector.leadership

    @property
    def clock(self) -> Callable[[], float]:
        return self.elector.clock

    async def _there(self, work: Coroutine[object, object, T]) -> T:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._loop.run_forever, name=f"elector-{self.elector.name}", daemon=True
            )
            self._thread.start()
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._loop))

    async def campaign(self) -> Leadership:
        return await self._there(self.elector.campaign())

    async def hold(self) -> NoReturn:
        await self._there(self.elector.hold())
        raise Deposed(f"the leadership of {self.elector.name!r} ended")  # hold() only ends raising

    async def aclose(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or loop.is_closed():
            return
        if thread.is_alive():
            with contextlib.suppress(RuntimeError):
                await self._there(self.elector.aclose())
            loop.call_soon_threadsafe(loop.stop)
            await asyncio.to_thread(thread.join, 5.0)
        if not thread.is_alive():
            loop.close()
