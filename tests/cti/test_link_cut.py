"""The AMI link is cut in the middle of a call; Hotline reconnects and the call is recorded once.

Full stack: simulated PBX over TCP, AmiClient, translator, bus, router, service
desk on a real database, uvicorn and a real agent websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlmodel import select

from calls.models import CallRecord
from cti.asterisk import AsteriskLink
from routing.agent_state import AgentState
from tests.harness import next_message, no_message, running_hotline
from tickets.models import TicketCall


async def test_link_cut_mid_call_reconnects_and_the_call_ends_with_one_record_one_pop_one_ticket(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        link = hotline.container.link
        assert link is not None
        alice, ws, _ = await hotline.console(stack, "1001")

        # 6 s at speed 10: routing on a loaded machine took 3 s, and the caller was gone
        await hotline.place_call("+8613800138000", name="王小明", talk=60)
        pop = await next_message(ws, "pop", timeout=10)
        call_id = pop["call_id"]
        update = await next_message(ws, "call", timeout=5)
        while update["event"] != "answered":
            update = await next_message(ws, "call", timeout=5)

        logins = link.client.stats.logins
        hotline.pbx.drop_connections()  # the network drops while Alice talks
        async with asyncio.timeout(10):
            while link.client.stats.logins == logins or not link.client.connected:  # noqa: ASYNC110
                await asyncio.sleep(0.02)

        update = await next_message(ws, "call", timeout=10)
        while update["event"] != "hung_up":
            assert update["event"] not in ("offered", "ringing"), update  # nothing replayed as new
            update = await next_message(ws, "call", timeout=10)
        assert await no_message(ws, "pop", wait=0.5)  # no second screen pop

        await hotline.container.bus.join()
        async with hotline.container.sessions() as session:
            record = await session.get(CallRecord, call_id)
            links = (await session.exec(select(TicketCall).where(TicketCall.call_id == call_id))).all()
            records = (await session.exec(select(CallRecord))).all()
        assert record is not None and record.outcome == "answered" and record.agent_id == "1001"
        assert len(records) == 1 and len(links) == 1  # one call record, one ticket link
        assert link.client.stats.disconnects >= 1
        await alice.aclose()


async def test_call_that_ends_while_the_link_is_down_is_closed_by_the_resync_once(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        link = hotline.container.link
        assert link is not None
        alice, ws, _ = await hotline.console(stack, "1001")
        await hotline.place_call("+8613800138000", name="王小明", talk=600)
        pop = await next_message(ws, "pop", timeout=5)
        call_id = pop["call_id"]
        update = await next_message(ws, "call", timeout=5)
        while update["event"] != "answered":
            update = await next_message(ws, "call", timeout=5)
        caller = link.translator.caller_channel(call_id)
        assert caller is not None

        # The PBX stays unreachable for Hotline (its logins are refused) while the caller hangs up.
        async with hotline.pbx_unreachable():
            await hotline.act_unheard("Hangup", Channel=caller)

        update = await next_message(ws, "call", timeout=15)
        while update["event"] != "hung_up":
            update = await next_message(ws, "call", timeout=15)
        assert await no_message(ws, "pop", wait=0.5)
        await hotline.container.bus.join()
        async with hotline.container.sessions() as session:
            record = await session.get(CallRecord, call_id)
            links = (await session.exec(select(TicketCall).where(TicketCall.call_id == call_id))).all()
        assert record is not None and record.outcome == "answered" and record.agent_id == "1001"
        assert record.ended_at is not None and len(links) == 1
        await alice.aclose()


async def test_a_call_that_came_and_went_while_the_link_was_down_is_entered_from_the_cdrs(
    database_url: str, tmp_path: Path
) -> None:
    """Found on a real Asterisk 22.10.1 (tests/fixtures/live-22.10.1/observe-outage.ami): a caller
    who arrived, rang an agent and hung up during a 20 s AMI outage left no call record at all,
    although Master.csv had its CDRs (only a restart of Hotline read them)."""
    cdr = tmp_path / "cdr-csv" / "Master.csv"
    async with (
        running_hotline(database_url, tmp_path, mode="observe", pbx_cdr_file=cdr) as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        link = hotline.container.link
        assert isinstance(link, AsteriskLink)
        await hotline.console(stack, "1001")
        await hotline.console(stack, "1002")
        before = {call_id for call_id in link.translator.known_calls()}

        async with hotline.pbx_unreachable():
            await hotline.act_unheard(
                "Originate",
                Channel="Local/support@hotline",
                Context="phones",
                Exten="talk-8",  # 0.8 s at speed 10, after a ring of 0.2 s
                Priority="1",
                CallerID='"王小明" <+8613800138000>',
                Async="true",
            )
            async with asyncio.timeout(10):  # the call is over, and in the PBX's CDRs
                while "+8613800138000" not in (cdr.read_text("utf-8") if cdr.exists() else ""):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)

        async with asyncio.timeout(10):
            while True:
                await hotline.container.bus.join()
                async with hotline.container.sessions() as session:
                    records = (await session.exec(select(CallRecord))).all()
                if records:
                    break
                await asyncio.sleep(0.05)
        (record,) = records
        assert record.call_id not in before
        assert record.caller == "+8613800138000" and record.queue == "support"
        assert record.outcome == "answered" and record.agent_id in ("1001", "1002")
        assert record.ended_at is not None and record.answered_at is not None
        async with hotline.container.sessions() as session:
            links = (await session.exec(select(TicketCall).where(TicketCall.call_id == record.call_id))).all()
        assert len(links) == 1

        # a second re-login tells nothing again
        async with hotline.pbx_unreachable():
            pass
        await hotline.container.bus.join()
        async with hotline.container.sessions() as session:
            assert len((await session.exec(select(CallRecord))).all()) == 1
            assert len((await session.exec(select(TicketCall))).all()) == 1


async def test_a_control_mode_caller_who_came_while_the_link_was_down_waits_in_their_queue(
    database_url: str, tmp_path: Path
) -> None:
    """Found on a real Asterisk 22.10.1 (control mode): a billing caller who arrived during an
    AMI outage was resynced from CoreShowChannels (context hotline-control, exten wait), which
    does not say the queue, and waited in the default queue (support) with its agents; the
    resync now asks the channel's HOTLINE_QUEUE and HOTLINE_IVR (Getvar)."""
    async with running_hotline(database_url, tmp_path) as hotline:  # control mode, nobody signed in
        async with hotline.pbx_unreachable():
            await hotline.act_unheard(
                "Originate",
                Channel="Local/billing@hotline-control",
                Context="phones",
                Exten="talk-600",
                Priority="1",
                CallerID='"王小明" <+8613800138000>',
                Async="true",
                Variable="HOTLINE_IVR=billing",
            )
            await asyncio.sleep(0.5)  # the caller waits with music in [hotline-control]

        async with asyncio.timeout(10):
            while True:
                await hotline.container.bus.join()
                async with hotline.container.sessions() as session:
                    records = (await session.exec(select(CallRecord))).all()
                if records:
                    break
                await asyncio.sleep(0.05)
        (record,) = records
        assert record.queue == "billing" and record.outcome is None
        async with hotline.container.sessions() as session:
            (link,) = (
                await session.exec(select(TicketCall).where(TicketCall.call_id == record.call_id))
            ).all()
        assert link.queue == "billing" and link.ivr_choice == "billing"


async def test_after_a_restart_of_the_pbx_app_queue_is_told_the_pauses_again(
    database_url: str, tmp_path: Path
) -> None:
    """Found on a real Asterisk 22.10.1 (observe mode): 1001 paused (lunch) on the console; after
    `core restart now` app_queue had its queues.conf members unpaused again, and the re-login's
    QueueStatus made Hotline follow it: 1001 was available ("ready") and rung, on her lunch. At a
    re-login to a PBX whose CoreStatus start changed, the ACD now tells app_queue again."""
    async with (
        running_hotline(database_url, tmp_path, mode="observe") as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        _, ws, _ = await hotline.console(stack, "1001")
        await ws.send('{"type": "pause", "reason": "lunch"}')
        state = await next_message(ws, "state")
        while state["state"] != "paused":
            state = await next_message(ws, "state")
        member = hotline.pbx.core.queues["support"].member("Local/1001@agents/n")
        assert member is not None and (member.paused, member.reason) == (True, "lunch")

        async with hotline.pbx_unreachable():  # the PBX restarts: queues.conf's members, unpaused
            member.paused, member.reason = False, ""
            hotline.pbx.server.started_at += 60

        async with asyncio.timeout(5):
            while not member.paused:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        assert member.reason == "lunch"
        await hotline.container.bus.join()
        router = hotline.container.acd.router
        assert router.agent_state("1001") is AgentState.PAUSED
        assert router.snapshot(hotline.container.acd.clock()).agent("1001").reason == "lunch"


async def test_a_re_login_to_the_same_pbx_run_tells_app_queue_nothing_again(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        running_hotline(database_url, tmp_path, mode="observe") as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        await hotline.console(stack, "1001")
        sent = len(hotline.pbx.actions_received)
        async with hotline.pbx_unreachable():
            pass
        await hotline.container.bus.join()
        again = [
            a for a in hotline.pbx.actions_received[sent:] if a.get("Action", "").lower() == "queuepause"
        ]
        assert again == []
