"""Shared test fixtures: real databases (SQLite always, PostgreSQL when told).

`HOTLINE_TEST_DATABASE_URL` points at a PostgreSQL *server* (e.g.
`postgresql+psycopg://postgres@127.0.0.1:5432/test`). The suite creates its own
throwaway database on it (so parallel runs never share tables), migrates it with
Alembic once, and empties it between tests. If the variable is set and the server
cannot be reached, the tests fail: they do not skip.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.migrate import upgrade
from agent_ui.schema import metadata
from config.database import create_engine, session_factory

PG_ENV = "HOTLINE_TEST_DATABASE_URL"
FIXTURES = Path(__file__).parent / "fixtures"

# CI (`CI=true`, as .ci/run is called) draws the same property-test examples on every run:
# a gate that fails on a fresh random draw now and then cannot tell a new defect from an
# old one found late. Local runs keep drawing new examples, which is where the two router
# defects of 2026-11-23 were found; a failure found that way becomes a unit test.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _redis_prefix_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's containers and processes use Redis keys of their own (HOTLINE_REDIS_PREFIX):
    tests run side by side on one Redis server, and a router reads every web worker's presence
    beat under its prefix (cluster.presence_beat): under the shared default, one test's router
    would log off agents whose console another test's worker dropped. A test's keys are bounded
    streams and beats that expire; processes given an explicit prefix keep theirs."""
    monkeypatch.setenv("HOTLINE_REDIS_PREFIX", f"hotline-test:{uuid.uuid4().hex[:10]}:")


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]


def _pg_server_url() -> str:
    url = make_url(os.environ[PG_ENV])
    if url.get_backend_name() != "postgresql":
        raise pytest.UsageError(f"{PG_ENV} must be a postgresql URL, got {url.get_backend_name()}")
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    server = _pg_server_url()
    name = f"hotline_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(_libpq(server), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(_libpq(server), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`@pytest.mark.one_database`: run on SQLite only. For tests whose subject does not touch
    the database's behaviour (the simulator's timing against live traces) and which replay in
    real time: running them twice bought minutes of CI and no coverage."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("database_url") == "postgresql"
        (drop if on_pg and item.get_closest_marker("one_database") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a migrated, empty database of each backend under test."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "hotline.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)
