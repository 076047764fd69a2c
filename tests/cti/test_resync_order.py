"""The resync's snapshot is applied where it stands in the event stream, not after what came later.

Found in the cluster test of issue #17 (`kill -9` of the leader in a storm): the new leader's
resync takes its CoreShowChannels, then asks each caller answered unheard for its QEHOLDTIME
(one Getvar each, twenty and more at a takeover). The live events went on being translated
meanwhile, so a caller who hung up after the snapshot had their Hangup met by a translator
that did not know the call yet (dropped), and the snapshot then entered the call as live, for
good: its call row stayed open and its recording pending. A caller who joined after the snapshot
was hung up by it ("ended while the AMI link was down") while still waiting.

Over real TCP, through the product's link (cti.asterisk.AsteriskLink): the peer writes those
events right before its answer to the first Getvar, as a PBX writes what happens meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from cti.ami.protocol import FRAME_END, AmiMessage, FrameSplitter
from cti.bus import EventBus
from routing.events import CallEvent, CallEventKind, Event
from tests.cti.links import link_to
from tests.cti.peer import AmiPeer, frame, list_reply, trace_body
from tests.cti.test_resync import CALL, MEMBERS, TALKING, cut

SECRET = "hotline-secret"
LATE_CALL = "1795342428.0"  # 02-ringnoanswer-then-answered's caller


def _getvar_after(before: bytes) -> Callable[[AmiMessage], bytes]:
    """Getvar answered (QEHOLDTIME 2 s) after `before` is written, the first time only."""
    sent: list[bytes] = []

    def reply(message: AmiMessage) -> bytes:
        first = b"" if sent else before
        sent.append(first)
        value = "2" if message.get("Variable") == "QEHOLDTIME" else ""
        return first + frame(Response="Success", ActionID=message["ActionID"], Variable="x", Value=value)

    return reply


async def _resync_with(before_getvar: bytes, until: Callable[[list[CallEvent]], bool]) -> list[CallEvent]:
    """A link logs in to a peer whose snapshot has CALL talking to agent 1001; `before_getvar` is
    what the PBX writes after the snapshot, before its answer to the resync's first Getvar."""
    bus = EventBus()
    seen: list[CallEvent] = []
    changed = asyncio.Event()

    async def record(event: Event) -> None:
        if isinstance(event, CallEvent):
            seen.append(event)
            changed.set()

    bus.subscribe("test", record)
    async with AmiPeer() as peer:
        peer.replies["CoreShowChannels"] = lambda m: list_reply(
            m["ActionID"], TALKING, "CoreShowChannelsComplete"
        )
        peer.replies["QueueStatus"] = lambda m: list_reply(m["ActionID"], MEMBERS, "QueueStatusComplete")
        peer.replies["Getvar"] = _getvar_after(before_getvar)
        link = link_to(
            peer.port,
            SECRET,
            bus=bus,
            agents={"1001": "Local/1001@agents/n", "1002": "Local/1002@agents/n"},
        )
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(bus.run()), group.create_task(link.run())]
            await link.wait_connected(timeout=10)
            async with asyncio.timeout(10):
                while not until(seen):
                    changed.clear()
                    await changed.wait()
            await asyncio.sleep(0.2)  # nothing more comes (a late HUNG_UP would show here)
            await bus.join()
            for task in tasks:
                task.cancel()
    return seen


def _kinds(events: list[CallEvent], call_id: str) -> list[str]:
    return [e.kind.value for e in events if e.call_id == call_id]


async def test_a_caller_who_hangs_up_after_the_snapshot_ends_their_call() -> None:
    _, rest = cut("Event: BridgeEnter", nth=2)  # 01-answered after the answer: AgentComplete, Hangups
    events = await _resync_with(
        rest, lambda seen: any(e.call_id == CALL and e.kind is CallEventKind.HUNG_UP for e in seen)
    )
    kinds = _kinds(events, CALL)
    assert kinds[:2] == ["offered", "answered"]  # from the snapshot, first
    assert kinds.count("hung_up") == 1 and kinds[-1] == "hung_up"  # then the live hang-up
    hung_up = next(e for e in events if e.call_id == CALL and e.kind is CallEventKind.HUNG_UP)
    assert hung_up.detail != "ended while the AMI link was down"


def _join_of_another_call() -> bytes:
    """02-ringnoanswer-then-answered up to its QueueCallerJoin: a caller who joins the queue."""
    frames = FrameSplitter().feed(trace_body("02-ringnoanswer-then-answered.ami"))
    end = next(i for i, f in enumerate(frames) if b"Event: QueueCallerJoin" in f) + 1
    return FRAME_END.join(frames[:end]) + FRAME_END


async def test_a_caller_who_joins_after_the_snapshot_is_not_hung_up_by_it() -> None:
    events = await _resync_with(
        _join_of_another_call(), lambda seen: any(e.call_id == LATE_CALL for e in seen)
    )
    late = _kinds(events, LATE_CALL)
    assert late[0] == "offered" and "hung_up" not in late  # waiting, not "ended while the link was down"
    assert _kinds(events, CALL) == ["offered", "answered"]
