"""Webhook safety: bad signatures change nothing, retries have one effect, a slow database does not
slow the answers Twilio waits for."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import func, select
from twilio.request_validator import RequestValidator

from calls.models import CallRecord
from tests.twilio.harness import AUTH_TOKEN, PUBLIC_BASE, TwilioHotline, twilio_hotline
from tickets.models import Ticket

CALLER = "+8613900000021"


async def _counts(hotline: TwilioHotline) -> tuple[int, int, int, int]:
    await hotline.settle()
    async with hotline.container.sessions() as session:
        calls = (await session.exec(select(func.count()).select_from(CallRecord))).one()
        tickets = (await session.exec(select(func.count()).select_from(Ticket))).one()
    waiting = sum(len(q.waiting) for q in hotline.container.router.snapshot(hotline.clock()).queues)
    return hotline.container.bus.stats.published, calls, tickets, waiting


@pytest.mark.parametrize(
    "forge",
    ["missing", "other-token", "tampered-digits", "internal-url", "other-path"],
)
async def test_a_webhook_without_a_valid_signature_gets_403_and_changes_nothing(
    database_url: str, tmp_path: Path, forge: str
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        sid, menu = await hotline.incoming(CALLER)
        gather = menu.find("Gather")
        assert gather is not None
        action = gather.attrib["action"]
        params = hotline.call_params(sid, CALLER, Digits="1")
        before = await _counts(hotline)
        phase = hotline.link.book.calls[sid].phase
        signature = {
            "missing": None,
            "other-token": RequestValidator("not-the-token").compute_signature(action, params),
            "tampered-digits": hotline.sign(action, {**params, "Digits": "2"}),
            "internal-url": hotline.sign(hotline.base_url + action.removeprefix(PUBLIC_BASE), params),
            "other-path": hotline.sign(action.replace("/menu", "/hold"), params),
        }[forge]
        reply = await hotline.post(action, params, signature=signature)
        voice = await hotline.post(
            "/twilio/voice", hotline.call_params("CA" + "9" * 32, CALLER), signature=signature
        )
        after = await _counts(hotline)
    assert reply.status_code == 403 and voice.status_code == 403
    assert reply.json()["error_id"] == "forbidden"
    assert AUTH_TOKEN not in reply.text
    assert after == before
    assert hotline.link.book.calls[sid].phase == phase
    assert "CA" + "9" * 32 not in hotline.link.book.calls


async def test_a_retried_webhook_has_one_effect_and_the_same_answer(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        await hotline.login("1001")
        sid, menu = await hotline.incoming(CALLER)
        gather = menu.find("Gather")
        assert gather is not None
        params = hotline.call_params(sid, CALLER, Digits="1")
        first, second = await asyncio.gather(
            hotline.post(gather.attrib["action"], params), hotline.post(gather.attrib["action"], params)
        )
        third = await hotline.post(gather.attrib["action"], params)
        update = await hotline.rest_update(sid, "<Dial")
        status_url = update.get("Twiml") or ""
        callback = status_url.split('statusCallback="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        leg = {"CallSid": "CA" + "3" * 32, "ParentCallSid": sid, "CallStatus": "in-progress"}
        for _ in range(2):
            assert (await hotline.post(callback, leg)).status_code == 200
        _, calls, tickets, _ = await _counts(hotline)
        dials = [
            r for r in hotline.standin.requests if r.call_sid == sid and "<Dial" in (r.get("Twiml") or "")
        ]
        agents = {a.agent_id: a for a in hotline.container.router.snapshot(hotline.clock()).agents}
        replayed = hotline.link.replay.replayed
    assert first.status_code == second.status_code == third.status_code == 200
    assert first.text == second.text == third.text
    assert (calls, tickets, len(dials)) == (1, 1, 1)
    assert agents["1001"].answered == 1
    assert replayed == 3


@contextmanager
def _database_write_locked(database_url: str) -> Iterator[None]:
    """Hold the database's locks from another connection, as a long transaction or a vacuum would."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database or "", timeout=1, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")  # the single write lock: every writer waits (busy_timeout)
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, connect_timeout=5) as conn:
        conn.execute('LOCK TABLE "call", ticket, customer, customer_phone IN ACCESS EXCLUSIVE MODE')
        try:
            yield  # readers and writers of those tables wait
        finally:
            conn.rollback()


async def test_webhooks_answer_while_the_database_is_locked(database_url: str, tmp_path: Path) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        await hotline.login("1001")
        timings: dict[str, float] = {}
        with _database_write_locked(database_url):
            start = time.perf_counter()
            sid, menu = await hotline.incoming(CALLER)
            timings["voice"] = time.perf_counter() - start
            start = time.perf_counter()
            held = await hotline.choose(menu, sid, CALLER, Digits="1")
            timings["menu"] = time.perf_counter() - start
            redirect = held.find("Redirect")
            assert redirect is not None and redirect.text is not None
            start = time.perf_counter()
            await hotline.twiml(redirect.text, hotline.call_params(sid, CALLER))
            timings["hold"] = time.perf_counter() - start
            await asyncio.sleep(1.5)  # the database stays locked a while longer
            stuck = not [r for r in hotline.standin.requests if r.call_sid == sid]
        update = await hotline.rest_update(sid, "<Dial", timeout=15)  # the lock is gone: the call goes on
    # Twilio waits 15 s. A handler that awaited the database could not answer before the lock
    # is released, after this block: answering at all while locked is the point. The bound
    # leaves room for the 0.3 s language-lookup budget and a loaded CI machine (1.0 s was once
    # exceeded by 18 ms there). The voice webhook's 3.1 s on CI was its routes built at the first
    # request (agent_ui.app.build_routes now builds them before the app serves).
    assert max(timings.values()) < 3.0, timings
    assert stuck  # nothing could be decided while the database was locked: it really was slow
    assert update.status == 200


async def test_the_first_webhook_after_the_start_builds_no_route(database_url: str, tmp_path: Path) -> None:
    """FastAPI builds an included router's routes lazily; agent_ui.app.build_routes does it before
    the app serves. Built at the first request, it cost the first caller's voice webhook 0.16-0.20 s
    of the event loop's CPU, 0.3-1.8 s of wall time at load ~10, 3.1 s once on CI (the locked
    database test above). CPU time of this thread: load does not inflate it as it does wall time."""
    async with twilio_hotline(database_url, tmp_path) as hotline:
        cpu = []
        for caller in (CALLER, "+8613900000022"):
            start = time.thread_time()
            await hotline.incoming(caller)
            cpu.append(time.thread_time() - start)
    # built at the request: 0.16-0.20 s here, 0.08-0.09 s since the API's routes are included flat
    # (agent_ui.app include_flat); 0.010-0.015 s once built
    assert cpu[0] < 0.04, cpu
