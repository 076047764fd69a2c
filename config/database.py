"""Database plumbing shared by every package that owns tables.

One async engine per process, created by the composition root from the URL in
settings (never at import time). SQLite is the embedded default and gets the
pragmas that make it a real server-side store (WAL, foreign keys, a busy
timeout so concurrent writers wait instead of failing); PostgreSQL is used as is.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from annotated_types import Interval
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator
from sqlmodel.ext.asyncio.session import AsyncSession

MAX_ID = 2**31 - 1  # INTEGER columns (4 bytes on PostgreSQL): ids, versions
MAX_BIGINT = 2**63 - 1  # BIGINT columns (the audit log's seq); also SQLite's widest integer

# Integers that reach SQL: a larger value names no row, and must be a 422 rather than an
# overflow inside the driver (a 500). Use these in path, query and body fields alike.
RowId = Annotated[int, Interval(ge=1, le=MAX_ID)]
Version = Annotated[int, Interval(ge=1, le=MAX_ID - 1)]  # a write stores version + 1
BigRowId = Annotated[int, Interval(ge=1, le=MAX_BIGINT)]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no time zones and hands back naive datetimes; comparing those with
    aware ones raises at run time. Values are stored as UTC and always read back
    as aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Hotline stores aware UTC datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (for Alembic and CLI tools)."""
    parsed = make_url(url)
    driver = {"sqlite": "pysqlite", "postgresql": "psycopg"}.get(parsed.get_backend_name())
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}").render_as_string(
        hide_password=False
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "busy_timeout=5000",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def install_sqlite_pragmas(engine: Any) -> None:
    """Attach the pragmas to a (sync or async) SQLite engine's connect event."""
    target = getattr(engine, "sync_engine", engine)
    event.listen(target, "connect", _sqlite_pragmas)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the process's async engine. For SQLite files the folder is created."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs.update(pool_size=10, max_overflow=10)  # pinged on checkout by install_ping_when_idle
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        install_sqlite_pragmas(engine)
    else:
        install_ping_when_idle(engine)
    return engine


PING_IDLE_AFTER = 1.0  # seconds a pooled connection may sit idle and still be checked out unpinged
_LAST_USED = "hotline_last_used"  # key in the connection record's info: monotonic time


def install_ping_when_idle(engine: Any, idle_after: float = PING_IDLE_AFTER) -> None:
    """Ping a pooled connection on checkout only if it sat idle in the pool over `idle_after` s.

    `pool_pre_ping=True` pings on every checkout: on PostgreSQL a round trip of ~9 for an
    offered call's write (#18). A connection checked in within the last second was working
    then; the server or a proxy dropping it in that second is rare, and its statement then
    fails and invalidates it as it would if the drop came right after a ping. A connection
    idle longer is pinged as before; a failed ping raises DisconnectionError, on which the
    pool replaces it with a new connection (SQLAlchemy's documented pessimistic handling).
    """
    target = getattr(engine, "sync_engine", engine)
    dialect = target.dialect

    def connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_LAST_USED] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_USED, 0.0) <= idle_after:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as e:
            raise DisconnectionError("ping on checkout failed") from e
        if not alive:
            raise DisconnectionError("ping on checkout failed")

    event.listen(target, "connect", connected)
    event.listen(target, "checkin", checked_in)
    event.listen(target, "checkout", checked_out)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit without a lazy
    # reload, which would raise MissingGreenlet in async code.
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
