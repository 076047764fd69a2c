"""The election needs PostgreSQL (advisory locks): these tests skip without
HOTLINE_TEST_DATABASE_URL, and run against the suite's migrated throwaway database."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.conftest import PG_ENV


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    if not os.environ.get(PG_ENV):
        pytest.skip(f"leader election needs PostgreSQL: set {PG_ENV}")
    url: str = request.getfixturevalue("postgres_database")
    return url


@pytest.fixture
def election() -> str:
    """A name of its own per test: elections of parallel tests never meet."""
    return f"test-{uuid.uuid4().hex[:10]}"
