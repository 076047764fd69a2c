"""A call still live on the PBX outside the hotline's contexts is not closed by a takeover.

A router that takes over (or a restarted Hotline) starts with an empty translator: its resync
enters the callers it finds in app_queue or in the waiting contexts. A caller transferred to a
second level ([transfer-targets], Dial) or gone to the voicemail fallback is in neither, so the
start-up reconciliation took the call for over: HUNG_UP "ended while Hotline was down (the PBX
has no CDR of it)" while the caller still talked, and their real hang-up later met a call the
translator did not know. Such a call is taken over as it is and ends with its caller's Hangup.

Over real TCP against the simulated PBX: one link (the old leader) sees the call answered and
transferred (07c's Redirect), then dies; a second, new link reconciles the call log's open call.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cti.asterisk import AsteriskLink
from cti.bus import EventBus
from cti.simulator import AgentBehaviour, SimulatedPbx
from cti.simulator.queues import SimMember, SimQueue
from cti.telephony import OpenCall
from routing.events import CallEvent, CallEventKind, Event
from tests.cti.links import link_to, until
from tests.cti.test_sim_resync import originate

SECRET = "sim-secret"
ALICE = "Local/1001@agents/n"
CALLER = "0406000031"


def _link(pbx: SimulatedPbx, bus: EventBus, cdr: Path) -> AsteriskLink:
    return link_to(
        pbx.port,
        SECRET,
        bus=bus,
        agents={"1001": ALICE},
        cdr_file=cdr,
        transfer_context="transfer-targets",
    )


def _recorder(bus: EventBus) -> list[CallEvent]:
    seen: list[CallEvent] = []

    async def record(event: Event) -> None:
        if isinstance(event, CallEvent):
            seen.append(event)

    bus.subscribe("test", record)
    return seen


def _first(events: list[CallEvent], kind: CallEventKind) -> CallEvent | None:
    return next((e for e in events if e.caller == CALLER and e.kind is kind), None)


async def test_a_transferred_call_live_at_a_takeover_ends_with_its_caller(tmp_path: Path) -> None:
    cdr = tmp_path / "Master.csv"
    queue = SimQueue("support", members=[SimMember(ALICE, "Alice Agent")])
    agents = {"1001": AgentBehaviour(ring_s=1, talk_s=600), "2001": AgentBehaviour(ring_s=1, talk_s=600)}
    pbx = SimulatedPbx(secret=SECRET, agents=agents, speed=10, queues=[queue], cdr_file=cdr)
    since = datetime.now(UTC) - timedelta(minutes=1)
    async with asyncio.TaskGroup() as group:
        pbx_task = group.create_task(pbx.run())
        await pbx.wait_ready()
        old_bus = EventBus()
        old_seen = _recorder(old_bus)
        old = _link(pbx, old_bus, cdr)
        old_tasks = [group.create_task(old_bus.run()), group.create_task(old.run())]
        await old.wait_connected(timeout=10)
        await originate(pbx, f'"Lea Caller" <{CALLER}>', talk=600)
        await until(lambda: _first(old_seen, CallEventKind.ANSWERED) is not None)
        answered = _first(old_seen, CallEventKind.ANSWERED)
        assert answered is not None
        await old.blind_transfer(answered.call_id, "2001")
        await until(lambda: any(c.context == "level2" and c.bridge for c in pbx.channels.values()))
        await until(lambda: _first(old_seen, CallEventKind.TRANSFERRED) is not None)
        await old_bus.join()
        for task in old_tasks:  # the old leader dies; the caller talks on with the second level
            task.cancel()

        bus = EventBus()
        seen = _recorder(bus)
        link = _link(pbx, bus, cdr)
        tasks = [group.create_task(bus.run()), group.create_task(link.run())]
        await link.wait_connected(timeout=10)
        open_call = OpenCall(
            answered.call_id,
            "asterisk",
            pbx_ref=answered.source_refs[0],
            offered_at=answered.at,
            answered_at=answered.at,
            agent="1001",
            queue="support",
            caller=CALLER,
        )
        missed = await link.reconcile([open_call], frozenset({answered.call_id}), since)
        assert [e for e in missed if isinstance(e, CallEvent) and e.call_id == answered.call_id] == []

        caller = next(c for c in pbx.channels.values() if c.uniqueid == open_call.pbx_ref)
        caller.variables["__hangup"] = "1"  # the caller hangs up, after the takeover
        await until(lambda: _first(seen, CallEventKind.HUNG_UP) is not None)
        await bus.join()
        for task in tasks:
            task.cancel()
        pbx_task.cancel()
    hung_up = _first(seen, CallEventKind.HUNG_UP)
    assert hung_up is not None and hung_up.call_id == answered.call_id
    assert hung_up.detail is not None and "down" not in hung_up.detail  # the caller's own hang-up
