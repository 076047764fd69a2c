"""Across a restart: a replayed signed webhook has no effect, and calls that ended meanwhile are closed.

Twilio's signature carries no time, so the `/voice` request of a call that ended
last week is still validly signed. Replayed to a restarted Hotline that only
remembered answers in memory, it put a phantom caller in the queue.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from calls.models import CallRecord
from cti.twilio.replay_store import AnsweredWebhook, DatabaseReplayLedger
from tests.twilio.harness import PUBLIC_BASE, TwilioHotline, running_standin, twilio_hotline
from tickets.models import TicketCall

CALLER = "+8613900000031"


async def _waiting(hotline: TwilioHotline) -> int:
    await hotline.settle()
    return sum(len(q.waiting) for q in hotline.container.router.snapshot(hotline.clock()).queues)


async def test_a_replayed_voice_webhook_after_a_restart_puts_no_phantom_caller_in_the_queue(
    database_url: str, tmp_path: Path
) -> None:
    async with twilio_hotline(database_url, tmp_path) as first:
        sid, menu = await first.incoming(CALLER)
        voice = first.call_params(sid, CALLER)
        gather = menu.find("Gather")
        assert gather is not None
        choice_url, choice = gather.attrib["action"], first.call_params(sid, CALLER, Digits="1")
        held = await first.twiml(choice_url, choice)
        assert held.find("Redirect") is not None and await _waiting(first) == 1
        await first.post("/twilio/status", first.call_params(sid, CALLER, CallStatus="completed"))
        assert await _waiting(first) == 0
        signed = {
            "voice": ("/twilio/voice", voice, first.sign(PUBLIC_BASE + "/twilio/voice", voice)),
            "menu": (choice_url, choice, first.sign(choice_url, choice)),
        }
        answers = {"voice": ET.tostring(menu), "menu": ET.tostring(held)}

    async with twilio_hotline(database_url, tmp_path) as restarted:  # same database, new process state
        published = restarted.container.bus.stats.published
        replies = {
            name: await restarted.post(url, params, signature=signature)
            for name, (url, params, signature) in signed.items()
        }
        waiting_after_replay = await _waiting(restarted)
        replayed_events = restarted.container.bus.stats.published - published
        recalled = restarted.link.replay.recalled
        fresh_sid, _ = await restarted.waiting("+8613900000032")  # a genuinely new call still queues
        waiting_after_new_call = await _waiting(restarted)
    for name, reply in replies.items():
        assert reply.status_code == 200, reply.text
        assert ET.tostring(ET.fromstring(reply.text)) == answers[name]  # the first answer, again
    assert (waiting_after_replay, replayed_events, recalled) == (0, 0, 2)
    assert waiting_after_new_call == 1 and fresh_sid != sid


async def test_answered_webhooks_expire_and_are_purged(sessions: async_sessionmaker[AsyncSession]) -> None:
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    clock = [now]
    ledger = DatabaseReplayLedger(sessions, timedelta(days=7), clock=lambda: clock[0])
    await ledger.remember("form:abc", "<Response/>")
    await ledger.remember("form:abc", "<Response><Hangup/></Response>")  # a twin: the first answer stays
    assert await ledger.recall("form:abc") == "<Response/>" and await ledger.recall("form:other") is None
    clock[0] = now + timedelta(days=7, seconds=1)
    assert await ledger.recall("form:abc") is None
    assert await ledger.purge() == 1
    async with sessions() as session:
        assert (await session.exec(select(func.count()).select_from(AnsweredWebhook))).one() == 0


async def test_a_call_that_ended_while_hotline_was_down_is_closed_from_twilios_call_resource(
    database_url: str, tmp_path: Path
) -> None:
    async with running_standin() as standin:
        async with twilio_hotline(database_url, tmp_path, standin=standin) as first:
            sid, _ = await first.waiting(CALLER)
            await first.settle()
            live_sid, _ = await first.waiting("+8613900000033")  # still waiting across the restart
            await first.settle()
        standin.end_call(sid)  # its status callback reached no Hotline: the process was down
        async with twilio_hotline(database_url, tmp_path, standin=standin) as restarted:
            await asyncio.wait_for(restarted.container.recovered.wait(), 15)
            await restarted.settle()
            async with restarted.container.sessions() as session:
                ended = await session.get(CallRecord, sid)
                live = await session.get(CallRecord, live_sid)
                link = await session.get(TicketCall, sid)
            asked = [r for r in standin.requests if r.method == "GET" and r.call_sid in (sid, live_sid)]
    assert ended is not None and ended.ended_at is not None
    assert (ended.outcome, ended.hangup_cause) == ("abandoned", "completed")
    resource_end = parsedate_to_datetime(standin.calls[sid]["end_time"])
    assert abs((ended.ended_at - resource_end).total_seconds()) < 1  # Twilio's end time, not the restart's
    assert link is not None and link.outcome == "abandoned"
    assert live is not None and live.ended_at is None  # in progress at Twilio: left open
    assert {r.call_sid for r in asked} == {sid, live_sid}
