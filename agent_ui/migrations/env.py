"""Alembic environment: one metadata for every package, SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool, text

from agent_ui.schema import metadata
from config.database import install_sqlite_pragmas, is_sqlite, sync_url

config = context.config

# Several processes (a router, its standby, web workers: `--role`) start at once and each runs
# `upgrade` first: on PostgreSQL each takes this transaction-level advisory lock before Alembic
# reads the version, so one migrates and the others then find the head and do nothing.
MIGRATION_LOCK = 0x686F746C696E65  # "hotline"


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to Alembic")
    return sync_url(url)


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=is_sqlite(url),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _url()
    connectable = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    if is_sqlite(url):
        install_sqlite_pragmas(connectable)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=is_sqlite(url),  # SQLite cannot ALTER most things: batch mode copies tables
            compare_type=True,
        )
        with context.begin_transaction():
            if not is_sqlite(url):  # held until this transaction (every migration) commits
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.run_migrations()
    connectable.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
