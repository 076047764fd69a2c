"""Several processes that start at once migrate a fresh PostgreSQL database once, and all start.

Each `hotline serve` runs `upgrade` before it serves. A router, its standby and web workers
started together (systemd at boot, the Procfile) raced on a fresh database: two created the
same tables and all but one failed ("relation already exists"). agent_ui/migrations/env.py
takes an advisory lock first, so the others wait and find the head.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from sqlalchemy.engine import make_url

from agent_ui.migrate import head_revision
from tests.conftest import PG_ENV

PROCESSES = 3


def test_processes_that_start_together_migrate_a_fresh_database_once() -> None:
    if not os.environ.get(PG_ENV):
        pytest.skip(f"needs PostgreSQL ({PG_ENV}); SQLite serves one process only")
    server = make_url(os.environ[PG_ENV]).set(drivername="postgresql+psycopg")
    name = f"hotline_migrate_{uuid.uuid4().hex[:8]}"
    libpq = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        script = "import sys; from agent_ui.migrate import upgrade; upgrade(sys.argv[1])"
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", script, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(PROCESSES)
        ]
        outcomes = [(run.wait(timeout=120), run.communicate()[1]) for run in runs]
        db = server.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
        with psycopg.connect(db, connect_timeout=5) as conn:
            versions = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
    finally:
        with psycopg.connect(libpq, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    failed = [stderr[-600:] for code, stderr in outcomes if code != 0]
    assert failed == []
    assert versions == [head_revision()]
