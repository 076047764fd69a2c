"""An offered call's intake survives SQLite's one writer being busy past the busy timeout."""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3

import pytest
from sqlalchemy.engine import make_url

from tests.tickets.conftest import call_event
from tickets.intake import CallIntake
from tickets.service import ServiceDesk

BUSY_TIMEOUT_S = 5.0  # config.database's busy_timeout=5000


async def test_a_call_offered_while_another_process_holds_the_write_lock_still_gets_its_ticket(
    database_url: str, desk: ServiceDesk, caplog: pytest.LogCaptureFixture
) -> None:
    """Another writer (here a second connection, as the CLI or a second process would be)
    keeps SQLite's write lock longer than the busy timeout: the first try fails with "database
    is locked"; the intake tries again and the call has its ticket, once."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's single writer; PostgreSQL writers do not wait on one lock")
    path = make_url(database_url).database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the write lock, held
    loop = asyncio.get_running_loop()
    loop.call_later(BUSY_TIMEOUT_S + 0.6, other.execute, "COMMIT")
    intake = CallIntake(desk, "CN")
    try:
        with caplog.at_level(logging.WARNING, logger="tickets.intake"):
            await intake.on_offered(call_event(call_id="busy-1", caller="13800138000"))
    finally:
        other.close()
    assert "trying again" in caplog.text  # the first try did meet the lock
    context = intake.context_of("busy-1")
    assert context is not None and context.ticket_id is not None
    assert (await desk.calls.context("busy-1")).ticket_id == context.ticket_id


async def test_an_offered_call_meeting_a_held_write_lock_waits_in_the_thread_not_in_the_event_loop(
    database_url: str, desk: ServiceDesk, caplog: pytest.LogCaptureFixture
) -> None:
    """The write waits for the lock in the writer thread (`tickets.offer`): with another writer
    holding it for 0.4 s, the call still gets its ticket on the first try (no "trying again"),
    and the loop kept running meanwhile (a ticker every 10 ms)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's single writer; PostgreSQL writers do not wait on one lock")
    path = make_url(database_url).database
    assert path is not None
    await desk.calls.on_call_offered(call_event(call_id="warm", caller="13800138001"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    loop = asyncio.get_running_loop()
    loop.call_later(0.4, other.execute, "COMMIT")
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(loop.time())
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    started = loop.time()
    intake = CallIntake(desk, "CN")
    try:
        with caplog.at_level(logging.WARNING, logger="tickets.intake"):
            await intake.on_offered(call_event(call_id="held-1", caller="13800138000"))
    finally:
        ticking.cancel()
        other.close()
    waited = loop.time() - started
    assert waited >= 0.35  # it did wait for the lock
    assert "trying again" not in caplog.text
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) >= 10 and max(gaps) < 0.2  # the loop was not blocked for the wait
    context = intake.context_of("held-1")
    assert context is not None and context.ticket_id is not None
    assert (await desk.calls.context("held-1")).ticket_id == context.ticket_id
