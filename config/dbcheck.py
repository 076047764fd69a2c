"""Which database a CLI verb works on, and whether it is ready — before anything touches it.

Every `hotline` verb reads the same `HOTLINE_DATABASE_URL` as `serve` (default `./var/hotline.db`);
`--demo` means the demo's (`./var/demo/hotline.db`, or `HOTLINE_DATABASE_URL` as `hotline demo`
takes it). A missing SQLite file is never created by a verb that only reads or adds rows, and an
un-migrated database is one line naming the file and what to run (`DatabaseNotReady`), not a
traceback from the first query.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from config.database import sync_url
from config.settings import Settings

DEMO_DB = "sqlite+aiosqlite:///./var/demo/hotline.db"
DEFAULT_DB = str(Settings.model_fields["database_url"].default)
# The Alembic scripts live with the web app (agent_ui/migrations); a path, not an import.
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "agent_ui" / "migrations"


class DatabaseNotReady(Exception):
    """The database is missing, unreachable or not migrated; the message says which and what to run."""


def database_url(*, demo: bool = False, explicit: str | None = None) -> str:
    """The URL a verb uses: an explicit `--database-url`, else the settings' (or the demo's)."""
    if explicit:
        return explicit
    env = os.environ.get("HOTLINE_DATABASE_URL")
    if env:
        return env
    return DEMO_DB if demo else DEFAULT_DB


def describe(url: str) -> str:
    """The database as a person names it: the SQLite file's absolute path, else the URL sans password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(Path(parsed.database or ":memory:").resolve()) if parsed.database else ":memory:"
    return parsed.render_as_string(hide_password=True)


def head_revision() -> str | None:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def check_ready(url: str, *, demo: bool = False) -> None:
    """Raise DatabaseNotReady unless `url` names a reachable database at the code's head revision."""
    upgrade = "hotline db upgrade --demo" if demo else "hotline db upgrade"
    parsed = make_url(url)
    where = describe(url)
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file and file != ":memory:" and not Path(file).is_file():
        hint = "" if demo else " (the demo's database: add --demo)"
        raise DatabaseNotReady(f"no database at {where}: run `{upgrade}` first{hint}")
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                raise DatabaseNotReady(f"the database at {where} is not set up: run `{upgrade}`")
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        first = (str(cause).strip().splitlines() or [type(exc).__name__])[0]
        raise DatabaseNotReady(f"cannot open the database at {where}: {first}") from None
    finally:
        engine.dispose()
    head = head_revision()
    if current != head:
        raise DatabaseNotReady(
            f"the database at {where} is at revision {current}, this Hotline needs {head}: run `{upgrade}`"
        )
