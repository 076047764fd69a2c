"""A standby router takes the Twilio call book over: a waiting caller is still waiting after the takeover.

The book (where each caller is, which agents ring, which attempt) answers every webhook. Kept
only in the router's memory, a router that took over from a dead one did not know the callers
waiting: the next hold-loop turn of each was answered "busy" (voicemail) and their hang-up
published nothing, so their call rows stayed open. With `--role router` the book is written to
the database (cti/twilio/call_store.py) and the new router loads it before its first webhook.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.database import is_sqlite
from cti.twilio.call_store import DatabaseCallStore, TwilioCallState
from cti.twilio.calls import Callback, CallBook, Phase
from tests.roles.conftest import IN_PROCESS_LEASE, redis_url
from tests.twilio.harness import HOTLINE_NUMBER, running_standin, twilio_hotline

CALLER = "+8613900000041"


def _redirect(element: ET.Element) -> str | None:
    redirect = element.find("Redirect")
    return None if redirect is None else redirect.text


async def test_a_router_that_takes_over_keeps_a_waiting_caller_waiting_and_hears_their_hang_up(
    database_url: str, tmp_path: Path
) -> None:
    if is_sqlite(database_url):
        pytest.skip("--role router is refused on SQLite (tests/roles/test_roles.py)")
    router = {"role": "router", "redis_url": redis_url(), **IN_PROCESS_LEASE}
    async with running_standin() as standin:
        async with twilio_hotline(database_url, tmp_path, standin=standin, **router) as first:
            sid, held = await first.waiting(CALLER)
            await first.settle()
            loops_before = first.link.book.calls[sid].loops
        next_turn = _redirect(held)
        assert next_turn is not None
        async with twilio_hotline(database_url, tmp_path, standin=standin, **router) as second:
            known = second.link.book.calls.get(sid)
            taken = None if known is None else (known.phase, known.queue, known.loops)
            turn = await second.twiml(next_turn, second.call_params(sid, CALLER))
            published = second.container.bus.stats.published
            await second.post("/twilio/status", second.call_params(sid, CALLER, CallStatus="completed"))
            hung_up = second.container.bus.stats.published - published
            ended = second.link.book.calls.get(sid)
            refused = dict(second.link.book.refused)
    # the next turn's URL is new (same loop count): not taken for a replay
    assert taken == (Phase.WAITING, "support", loops_before)
    assert _redirect(turn) is not None and turn.find("Record") is None  # held, not sent to voicemail
    assert hung_up == 1 and ended is not None and ended.phase is Phase.ENDED and refused == {}


async def test_one_process_keeps_the_call_book_in_memory_only(database_url: str, tmp_path: Path) -> None:
    async with twilio_hotline(database_url, tmp_path) as hotline:
        await hotline.waiting(CALLER)
        await hotline.settle()
        assert hotline.container.call_store is None and hotline.link.call_store is None
        async with hotline.container.sessions() as session:
            rows = (await session.exec(select(func.count()).select_from(TwilioCallState))).one()
    assert rows == 0


async def test_the_stored_book_holds_the_newest_state_and_expires(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    clock = [now]
    store = DatabaseCallStore(sessions, timedelta(hours=24), clock=lambda: clock[0])
    book = CallBook()
    call = book.open("CA1", "+8613900000042", "+861058001000", "zh-CN")
    book.move(call, Phase.WAITING)
    book.add_callback(Callback("CA0:callback", "CA0", "1001", "+8613900000043", "general", "en", None, 20.0))
    assert await store.save(book, book.take_touched()) == 2
    call = book.get("CA1")
    assert call is not None
    call.queue, call.ringing = "general", ["1001", "1002"]
    book.move(call, Phase.RINGING)
    clock[0] = now + timedelta(minutes=1)
    assert await store.save(book, book.take_touched()) == 1  # an upsert: the same row, newer state

    taken = CallBook()
    assert await store.load(taken) == 2 and taken.touched == set()
    restored, callback = taken.calls["CA1"], taken.callbacks["CA0:callback"]
    assert (restored.phase, restored.queue, restored.ringing) == (Phase.RINGING, "general", ["1001", "1002"])
    assert (callback.agent, callback.number, callback.attempt) == ("1001", "+8613900000043", 1)

    clock[0] = now + timedelta(hours=24, seconds=1)  # the callback's row was written a minute earlier
    later = CallBook()
    assert await store.load(later) == 1 and list(later.calls) == ["CA1"]
    assert await store.purge() == 1
    async with sessions() as session:
        assert (await session.exec(select(func.count()).select_from(TwilioCallState))).one() == 1


async def test_a_standby_router_refuses_twilios_webhooks_so_the_leader_answers_them(
    database_url: str, tmp_path: Path
) -> None:
    """A standby's link does not run: answering a webhook from its empty book onto a bus nobody
    drains would lose the call. It answers 503 (the proxy tries the next router, the leader)."""
    if is_sqlite(database_url):
        pytest.skip("--role router is refused on SQLite (tests/roles/test_roles.py)")
    router = {"role": "router", "redis_url": redis_url(), **IN_PROCESS_LEASE}
    async with (
        running_standin() as standin,
        twilio_hotline(database_url, tmp_path, standin=standin, **router) as leader,
        twilio_hotline(
            database_url, tmp_path / "standby", standin=standin, connected=False, **router
        ) as standby,
    ):
        sid = standin.incoming_call(CALLER, HOTLINE_NUMBER)
        refused = await standby.post("/twilio/voice", standby.call_params(sid, CALLER))
        standby_book = len(standby.link.book.calls)
        answered = await leader.post("/twilio/voice", leader.call_params(sid, CALLER))
    assert refused.status_code == 503 and refused.json()["error_id"] == "not_leader"
    assert refused.headers["Retry-After"] == "1" and standby_book == 0
    assert answered.status_code == 200 and ET.fromstring(answered.text).find("Gather") is not None
