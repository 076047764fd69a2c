"""Each snapshot of the resync is applied where it stands in the event stream, QueueStatus too.

The resync reads QueueStatus first and CoreShowChannels after; it used to apply both once the
second was read, so what the PBX wrote between the two (a member paused or unpaused, a phone
taken) was translated first and then overwritten by the older QueueStatus: the agent unpaused
on the PBX stayed paused in Hotline, the phone in use was reported idle and offered calls.

Over real TCP against the simulated PBX, through the product's link (cti.asterisk.AsteriskLink):
the PBX changes right after it answers the resync's QueueStatus (`after_action`), as a busy PBX
does while Hotline reads its state.
"""

from __future__ import annotations

import asyncio

from cti.bus import EventBus
from cti.simulator import AgentBehaviour, SimulatedPbx
from cti.simulator.queues import IN_USE, SimMember, SimQueue
from routing.events import AgentEvent, AgentEventKind, Event
from tests.cti.links import link_to

SECRET = "sim-secret"
ALICE, BOB = "Local/1001@agents/n", "Local/1002@agents/n"
PAUSES = (AgentEventKind.PAUSED, AgentEventKind.UNPAUSED)


def _queue() -> SimQueue:
    return SimQueue(
        "support",
        members=[SimMember(ALICE, "Alice Agent"), SimMember(BOB, "Bob Agent", paused=True, reason="break")],
    )


async def _link_events(pbx: SimulatedPbx) -> list[AgentEvent]:
    """Run `pbx` and a link to it: the agent events the link publishes in its first 0.3 s after
    its login's resync."""
    bus = EventBus()
    seen: list[AgentEvent] = []

    async def record(event: Event) -> None:
        if isinstance(event, AgentEvent):
            seen.append(event)

    bus.subscribe("test", record)
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(pbx.run())]
        await pbx.wait_ready()
        link = link_to(pbx.port, SECRET, bus=bus, agents={"1001": ALICE, "1002": BOB})
        tasks += [group.create_task(bus.run()), group.create_task(link.run())]
        await link.wait_connected(timeout=10)
        await asyncio.sleep(0.3)  # the events written after the snapshots are translated meanwhile
        await bus.join()
        for task in tasks:
            task.cancel()
    return seen


def _last(events: list[AgentEvent], agent: str, kinds: tuple[AgentEventKind, ...]) -> AgentEvent | None:
    return next((e for e in reversed(events) if e.agent == agent and e.kind in kinds), None)


async def test_a_pause_changed_right_after_the_queue_snapshot_is_not_undone_by_it() -> None:
    pbx = SimulatedPbx(secret=SECRET, agents={"1001": AgentBehaviour()}, speed=10, queues=[_queue()])

    def meanwhile() -> None:  # written to the stream right after QueueStatus's list
        pbx.pause_member(BOB, False)
        pbx.pause_member(ALICE, True, "lunch")

    pbx.after_action("QueueStatus", meanwhile)
    events = await _link_events(pbx)
    bob, alice = _last(events, "1002", PAUSES), _last(events, "1001", PAUSES)
    assert bob is not None and bob.kind is AgentEventKind.UNPAUSED  # as the PBX has it now
    assert alice is not None and alice.kind is AgentEventKind.PAUSED and alice.detail == "lunch"
    bob_pauses = [e.kind for e in events if e.agent == "1002" and e.kind in PAUSES]
    assert bob_pauses == [AgentEventKind.PAUSED, AgentEventKind.UNPAUSED]  # the snapshot's, then the PBX's


async def test_a_phone_taken_right_after_the_queue_snapshot_is_not_reported_idle_by_it() -> None:
    queue = _queue()
    pbx = SimulatedPbx(secret=SECRET, agents={"1001": AgentBehaviour()}, speed=10, queues=[queue])

    def meanwhile() -> None:
        alice = queue.member(ALICE)
        assert alice is not None
        alice.status = IN_USE  # app_queue's device state of the member (the agent took a call)
        pbx.core.send_event("QueueMemberStatus", "agent,all", alice.fields(queue.name))

    pbx.after_action("QueueStatus", meanwhile)
    events = await _link_events(pbx)
    states = [e.detail for e in events if e.agent == "1001" and e.kind is AgentEventKind.DEVICE_STATE]
    assert states == ["idle", "in_use"]  # the snapshot's, then the PBX's


async def test_phone_changes_written_before_the_device_list_are_told_before_it() -> None:
    """DeviceStateList, the last snapshot, is applied at its own end too: a phone taken and put
    down while the resync reads it is told in that order, not after the list that is newer."""
    pbx = SimulatedPbx(secret=SECRET, agents={"1001": AgentBehaviour()}, speed=10, queues=[_queue()])
    phone = "Local/1001@agents"

    def meanwhile() -> None:  # after CoreShowChannels, before DeviceStateList
        pbx.set_device_state(phone, "INUSE")
        pbx.set_device_state(phone, "NOT_INUSE")

    pbx.after_action("CoreShowChannels", meanwhile)
    events = await _link_events(pbx)
    states = [e.detail for e in events if e.agent == "1001" and e.kind is AgentEventKind.DEVICE_STATE]
    # QueueStatus's member state, then the phone's two changes; the list says what they said
    assert states == ["idle", "in_use", "idle"]
