"""The PostgreSQL pool pings a connection on checkout only after it sat idle (#18).

A connection's backend is killed with `pg_terminate_backend` from another session: checked out
after the idle window it is pinged, found dead and replaced (the statement runs on a new backend);
checked out within the window it is not pinged, so its first statement meets the dead backend.
"""

from __future__ import annotations

import asyncio
import os

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from config.database import install_ping_when_idle

pytestmark = pytest.mark.skipif(
    not os.environ.get("HOTLINE_TEST_DATABASE_URL"), reason="needs HOTLINE_TEST_DATABASE_URL (PostgreSQL)"
)


def _urls() -> tuple[str, str]:
    url = make_url(os.environ["HOTLINE_TEST_DATABASE_URL"])
    return (
        url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False),
        url.set(drivername="postgresql").render_as_string(hide_password=False),
    )


async def _pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def _terminate(libpq: str, pid: int) -> None:
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def test_an_idle_connection_is_pinged_and_a_dead_one_replaced() -> None:
    url, libpq = _urls()
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    install_ping_when_idle(engine, idle_after=0.05)
    try:
        first = await _pid(engine)
        _terminate(libpq, first)
        await asyncio.sleep(0.2)
        assert await _pid(engine) != first  # the ping found it dead: a new backend ran the query
    finally:
        await engine.dispose()


async def test_a_connection_used_just_now_is_not_pinged() -> None:
    url, libpq = _urls()
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    install_ping_when_idle(engine, idle_after=60.0)
    try:
        first = await _pid(engine)
        _terminate(libpq, first)
        await asyncio.sleep(0.2)  # the backend is gone; the pool still holds its connection
        with pytest.raises(DBAPIError) as caught:
            await _pid(engine)
        assert caught.value.connection_invalidated  # no ping: the statement met the dead backend
        assert await _pid(engine) != first  # and the invalidated connection was replaced
    finally:
        await engine.dispose()
