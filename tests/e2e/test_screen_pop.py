"""The spine end to end: a call on the (simulated) PBX pops on the chosen agent's console.

Real TCP to the simulated PBX, the real AMI client, the bus, the router, the
service desk on a real database, uvicorn, and real websocket clients.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlmodel import select

from calls.models import CallRecord
from tests.harness import next_message, no_message, running_hotline
from tickets.models import Ticket, TicketCall, TicketState


async def test_call_pops_customer_and_new_ticket_on_the_chosen_agents_console_only(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        alice, alice_ws, alice_hello = await hotline.console(stack, "1001")
        assert alice_hello["agent"] == "1001"
        await hotline.router_clock_passes(alice_hello["since"])  # Alice has now been idle longest
        bob, bob_ws, bob_hello = await hotline.console(stack, "1002")
        assert bob_hello["agent"] == "1002"

        await hotline.place_call("+8613800138000", name="王小明", talk=20)

        pop = await next_message(alice_ws, "pop", timeout=5)
        assert pop["caller"] == "+8613800138000"
        assert pop["queue"] == "support"
        assert [c["name"] for c in pop["customers"]] == ["王小明"]
        assert pop["ticket_id"] is not None and pop["ticket_is_new"] is True
        assert await no_message(bob_ws, "pop", wait=0.5)

        async with hotline.container.sessions() as session:
            ticket = await session.get(Ticket, pop["ticket_id"])
            links = (await session.exec(select(TicketCall))).all()
        assert ticket is not None and ticket.state == TicketState.REPORTED
        assert [link.call_id for link in links] == [pop["call_id"]]

        ended = await next_message(alice_ws, "call", timeout=5)
        while ended["event"] != "hung_up":
            ended = await next_message(alice_ws, "call", timeout=5)
        await hotline.container.bus.join()
        async with hotline.container.sessions() as session:
            record = await session.get(CallRecord, pop["call_id"])
        assert record is not None
        assert record.outcome == "answered" and record.agent_id == "1001"
        assert record.caller_e164 == "+8613800138000"
        await alice.aclose()
        await bob.aclose()


async def test_malformed_ami_frames_are_skipped_and_the_link_and_the_pop_survive(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        agent, ws, _ = await hotline.console(stack, "1001")
        link = hotline.container.link
        assert link is not None
        hotline.pbx.send_raw(b"this is not an AMI frame\r\n\r\n")
        hotline.pbx.send_raw(b"Event: Newchannel\r\n\xff\xfe broken utf-8 \xc3\r\nUniqueid: x\r\n\r\n")
        hotline.pbx.send_raw(b": no key\r\n\r\n")
        await hotline.place_call("13800138000", name="王小明", talk=60)  # national format matches too
        pop = await next_message(ws, "pop", timeout=5)
        assert [c["name"] for c in pop["customers"]] == ["王小明"]
        assert link.client.stats.bad_frames >= 2
        assert link.client.connected
        await agent.aclose()


async def test_unknown_caller_pops_with_no_customer_and_a_new_ticket(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        agent, ws, _ = await hotline.console(stack, "1002")
        await hotline.place_call("+8613911112222", talk=60)
        pop = await next_message(ws, "pop", timeout=5)
        assert pop["customers"] == []
        assert pop["context"]["caller_e164"] == "+8613911112222"
        assert pop["ticket_is_new"] is True
        await agent.aclose()


async def test_observe_mode_pops_the_agent_the_pbx_queue_rings(database_url: str, tmp_path: Path) -> None:
    """Asterisk's app_queue picks the agent (AgentCalled); Hotline follows and pops that agent."""
    async with (
        running_hotline(database_url, tmp_path, mode="observe") as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        alice, alice_ws, _ = await hotline.console(stack, "1001")
        bob, bob_ws, _ = await hotline.console(stack, "1002")
        await hotline.place_call("+8613800138000", name="王小明", talk=60)
        pop = await next_message(alice_ws, "pop", timeout=5)  # rrmemory starts with the first member
        assert [c["name"] for c in pop["customers"]] == ["王小明"]
        assert await no_message(bob_ws, "pop", wait=0.3)
        assert not [a for a in hotline.pbx.actions_received if a["Action"] in ("Redirect", "Setvar")]
        await alice.aclose()
        await bob.aclose()


async def test_a_caller_who_hangs_up_while_waiting_leaves_no_open_ticket(
    database_url: str, tmp_path: Path
) -> None:
    """Nobody is signed in: the caller waits, gives up, and the call is in the log as
    abandoned while the ticket it opened is cancelled, not left for someone to clear."""
    async with running_hotline(database_url, tmp_path) as hotline:
        await hotline.place_call("+8613800138000", name="王小明", talk=5)  # 0.5 s on the line
        async with asyncio.timeout(10):
            while True:
                await hotline.container.bus.join()
                async with hotline.container.sessions() as session:
                    record = (await session.exec(select(CallRecord))).first()
                    link = (await session.exec(select(TicketCall))).first()
                    ticket = await session.get(Ticket, link.ticket_id) if link is not None else None
                settled = record is not None and record.outcome is not None and ticket is not None
                if settled and ticket.state is not TicketState.REPORTED:
                    break
                await asyncio.sleep(0.1)
        assert record.outcome == "abandoned" and record.agent_id is None
        assert ticket.state is TicketState.CANCELLED


async def test_a_fresh_console_is_told_the_newest_seq_so_its_reconnect_replays_nothing_it_had(
    database_url: str, tmp_path: Path
) -> None:
    """A console that subscribes without a catch-up (first connection, or a numbering it does
    not know) reads in its hello, as `seq`, where the numbering stands: its next reconnect asks
    after that, not after 0, which would replay the whole backlog (the pop of a call long over)."""
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        first = await hotline.console(stack, "1001")
        await hotline.place_call("+8613800138000", name="王小明", talk=20)
        pop = await next_message(first.ws, "pop", timeout=5)

        tab = await stack.enter_async_context(await hotline.agent_socket(first.client))
        hello = await next_message(tab, "hello")
        assert hello["seq"] >= pop["seq"]

        resumed = await stack.enter_async_context(
            await hotline.agent_socket(first.client, after=hello["seq"], epoch=hello["epoch"])
        )
        assert "seq" not in await next_message(resumed, "hello")  # a catch-up: its messages say
        assert await no_message(resumed, "pop", wait=0.5)
        from_zero = await stack.enter_async_context(
            await hotline.agent_socket(first.client, after=0, epoch=hello["epoch"])
        )
        assert (await next_message(from_zero, "pop"))["call_id"] == pop["call_id"]  # what 0 would cost
