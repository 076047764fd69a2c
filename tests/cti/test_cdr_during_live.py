"""A call the link tells from the live stream is not told again from the PBX's CDRs.

The start-up reconciliation (agent_ui.recovery, after a restart or a router takeover) runs once
the link's first resync is done, while live events flow: it reads the PBX's Master.csv and tells
every hotline call the call log does not know. The call log lags behind the link (it writes what
the bus hands it; in a storm, seconds behind), and the link's own event queue may lag behind the
PBX: a call that came and went meanwhile was told twice, from its CDR and from the live events,
under two ANSWERED and two AGENT_COMPLETED ids (`cdr|agent` vs the agent leg), so the agent was
counted two answers and twice the talk time.

Over real TCP against the simulated PBX with its cdr_csv Master.csv, through the product's link.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cti.ami.client import AmiClient
from cti.asterisk import AsteriskLink
from cti.bus import EventBus
from cti.simulator import AgentBehaviour, SimulatedPbx
from cti.simulator.queues import SimMember, SimQueue
from routing.events import CallEvent, CallEventKind, Event
from tests.cti.links import link_to, until
from tests.cti.test_sim_resync import originate

SECRET = "sim-secret"
ALICE = "Local/1001@agents/n"
CALLER = "0406000021"


def _pbx(cdr: Path) -> SimulatedPbx:
    queue = SimQueue("support", members=[SimMember(ALICE, "Alice Agent")])
    agents = {"1001": AgentBehaviour(ring_s=1, talk_s=3)}
    return SimulatedPbx(secret=SECRET, agents=agents, speed=10, queues=[queue], cdr_file=cdr)


def _link(pbx: SimulatedPbx, bus: EventBus, cdr: Path) -> AsteriskLink:
    return link_to(
        pbx.port,
        SECRET,
        bus=bus,
        agents={"1001": ALICE},
        cdr_file=cdr,
    )


def _ids(events: list[CallEvent], kind: CallEventKind) -> set[str]:
    return {e.event_id for e in events if e.caller == CALLER and e.kind is kind}


def _told_once(events: list[CallEvent]) -> None:
    for kind in (CallEventKind.OFFERED, CallEventKind.ANSWERED, CallEventKind.AGENT_COMPLETED):
        assert len(_ids(events, kind)) == 1, kind
    assert len(_ids(events, CallEventKind.HUNG_UP)) == 1


def _call_events(bus: EventBus) -> list[CallEvent]:
    """The CallEvents the bus hands its subscribers, as they come."""
    seen: list[CallEvent] = []

    async def record(event: Event) -> None:
        if isinstance(event, CallEvent):
            seen.append(event)

    bus.subscribe("test", record)
    return seen


@asynccontextmanager
async def _linked(pbx: SimulatedPbx, bus: EventBus, cdr: Path) -> AsyncIterator[AsteriskLink]:
    """The PBX, the bus and a logged-in link running; at the end the bus drained, all stopped."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(pbx.run())]
        await pbx.wait_ready()
        link = _link(pbx, bus, cdr)
        tasks += [group.create_task(bus.run()), group.create_task(link.run())]
        await link.wait_connected(timeout=10)
        yield link
        await bus.join()
        for task in tasks:
            task.cancel()


async def test_a_call_the_link_told_is_not_told_again_from_its_cdr(tmp_path: Path) -> None:
    """The call log has not written the call yet (`known` is empty): the link still knows it."""
    cdr = tmp_path / "Master.csv"
    pbx, bus = _pbx(cdr), EventBus()
    seen = _call_events(bus)
    since = datetime.now(UTC) - timedelta(minutes=1)
    async with _linked(pbx, bus, cdr) as link:
        await originate(pbx, f'"Ida Caller" <{CALLER}>', talk=5)
        await until(lambda: bool(_ids(seen, CallEventKind.HUNG_UP)) and not pbx.channels)
        missed = await link.reconcile([], frozenset(), since)
        for event in missed:
            await bus.publish(event)
    assert [e for e in missed if isinstance(e, CallEvent) and e.caller == CALLER] == []
    _told_once(seen)


async def test_a_call_still_queued_for_the_translator_is_not_told_twice(tmp_path: Path) -> None:
    """The bus is behind: the call's live events wait in the link's queue, untranslated, while
    the reconciliation reads its CDR. Whichever tells the call first, it is told once."""
    cdr = tmp_path / "Master.csv"
    pbx, bus = _pbx(cdr), EventBus(shards=1, maxsize=1)
    seen: list[CallEvent] = []
    gate = asyncio.Event()

    async def record(event: Event) -> None:
        await gate.wait()
        if isinstance(event, CallEvent):
            seen.append(event)

    bus.subscribe("test", record)
    since = datetime.now(UTC) - timedelta(minutes=1)
    async with _linked(pbx, bus, cdr) as link:
        for paused in (True, False, True, False):  # agent events that jam the bus before the call
            pbx.pause_member(ALICE, paused, "jam")
        await originate(pbx, f'"Ida Caller" <{CALLER}>', talk=5)
        await until(lambda: CALLER in (cdr.read_text() if cdr.exists() else "") and not pbx.channels)
        missed = await link.reconcile([], frozenset(), since)
        gate.set()
        for event in missed:
            await bus.publish(event)
        await asyncio.sleep(0.3)  # the link's queue drains
    _told_once(seen)


async def _originate_as(pbx: SimulatedPbx, username: str, caller: str) -> None:
    client = AmiClient("127.0.0.1", pbx.port, username, SECRET)
    async with asyncio.TaskGroup() as group:
        task = group.create_task(client.run())
        await client.wait_connected(5)
        await client.action(
            "Originate", Channel="Local/support@hotline", Context="phones", Exten="talk-60",
            Priority="1", CallerID=caller, Async="true",
        )  # fmt: skip
        task.cancel()


async def test_a_caller_gone_between_the_cdr_read_and_the_snapshot_is_told_from_the_cdrs(
    tmp_path: Path,
) -> None:
    """A caller came while the link was down and hung up after the re-login read Master.csv but
    before the resync's snapshot: their live Hangup met a call the translator did not know, the
    snapshot did not list them, the CDRs read before had no line of them: the call was lost.
    The calls missed while down are looked for in the CDRs as they are after the resync."""
    cdr = tmp_path / "Master.csv"
    queue = SimQueue("support", members=[SimMember(ALICE, "Alice Agent", paused=True, reason="break")])
    pbx, bus = SimulatedPbx(secret=SECRET, speed=10, queues=[queue], cdr_file=cdr), EventBus()
    seen = _call_events(bus)
    async with _linked(pbx, bus, cdr) as link:
        pbx.username = "away"  # the link's logins are refused: it is down while the caller comes
        pbx.drop_connections()
        await until(lambda: not link.client.connected)
        await _originate_as(pbx, "away", f'"Jon Caller" <{CALLER}>')
        await until(lambda: bool(queue.waiting))
        waiting = pbx.channels[queue.waiting[0]]

        async def hang_up_first() -> None:  # after the re-login's CDR read (CoreStatus came after it)
            waiting.variables["__hangup"] = "1"
            await until(lambda: waiting.name not in pbx.channels)

        pbx.before_action("QueueStatus", hang_up_first)
        pbx.username = "hotline"
        await until(lambda: link.client.connected and link.client.stats.logins == 2)
        await asyncio.sleep(0.3)
    kinds = [e.kind for e in seen if e.caller == CALLER]
    assert kinds == [CallEventKind.OFFERED, CallEventKind.ABANDONED, CallEventKind.HUNG_UP]


async def test_a_call_missed_while_down_after_a_quiet_link_is_told(tmp_path: Path) -> None:
    """The link heard no event before it was cut (a quiet PBX: Pong is no event): it had no
    time the PBX was last heard, and the calls that came and went while it was down were lost."""
    cdr = tmp_path / "Master.csv"
    queue = SimQueue("support", members=[SimMember(ALICE, "Alice Agent", paused=True, reason="break")])
    pbx, bus = SimulatedPbx(secret=SECRET, speed=10, queues=[queue], cdr_file=cdr), EventBus()
    seen = _call_events(bus)
    async with _linked(pbx, bus, cdr) as link:
        pbx.username = "away"
        pbx.drop_connections()
        await until(lambda: not link.client.connected)
        await _originate_as(pbx, "away", f'"Kai Caller" <{CALLER}>')
        await until(lambda: bool(queue.waiting))
        pbx.channels[queue.waiting[0]].variables["__hangup"] = "1"
        await until(lambda: not pbx.channels)
        pbx.username = "hotline"
        await until(lambda: link.client.connected and link.client.stats.logins == 2)
        await asyncio.sleep(0.3)
    kinds = [e.kind for e in seen if e.caller == CALLER]
    assert kinds == [CallEventKind.OFFERED, CallEventKind.ABANDONED, CallEventKind.HUNG_UP]
