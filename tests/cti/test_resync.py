"""Reconnect + resync over real TCP: missed events are produced once, with the live event ids.

The peer streams the first part of a real trace (01-answered), the link is cut,
and on the second login the peer answers CoreShowChannels/QueueStatus with the
state Asterisk would then report, before streaming the rest of the trace.
"""

from __future__ import annotations

import asyncio
import json

from cti.ami.client import AmiClient
from cti.ami.protocol import FRAME_END, FrameSplitter, parse_frame
from cti.ami.resync import resync_on_connect
from cti.ami.translate import AmiTranslator
from cti.replay import replay, summarize
from routing.events import CallEvent, Event
from tests.cti.peer import FIXTURES, AmiPeer, list_reply, trace_body

CALL = "1795342409.0"
BRIDGE = "353850a5-6548-48e5-a99b-f08cd6e153e6"


def cut(after: str, nth: int = 1) -> tuple[bytes, bytes]:
    """01-answered's body split after the nth frame that contains `after`."""
    frames = FrameSplitter().feed(trace_body("01-answered.ami"))
    hits = [i for i, f in enumerate(frames) if after.encode() in f]
    i = hits[nth - 1] + 1
    return FRAME_END.join(frames[:i]) + FRAME_END, FRAME_END.join(frames[i:]) + FRAME_END


def channel(name: str, uid: str, app: str, bridge: str = "", **more: str) -> dict[str, str]:
    return {
        "Event": "CoreShowChannel", "Channel": name, "ChannelState": "6", "ChannelStateDesc": "Up",
        "CallerIDNum": "0401000001", "CallerIDName": "Anna Caller", "Uniqueid": uid, "Linkedid": CALL,
        "Application": app, "BridgeId": bridge, **more,
    }  # fmt: skip


TALKING = [
    channel("Local/support@hotline-00000000;1", CALL, "Wait", Context="phones"),
    channel(
        "Local/support@hotline-00000000;2", "1795342409.1", "Queue", BRIDGE,
        Context="hotline", Exten="support", ApplicationData="support,tT,,,120",
    ),
    channel("Local/1001@agents-00000001;1", "1795342409.2", "AppQueue", BRIDGE, Context="agents"),
    channel("Local/1001@agents-00000001;2", "1795342409.3", "Wait", Context="agents"),
]  # fmt: skip
MEMBERS = [
    {"Event": "QueueMember", "Queue": "support", "Name": "Alice Agent", "Location": "Local/1001@agents/n",
     "Status": "2", "Paused": "0", "PausedReason": "", "CallsTaken": "0", "LastCall": "0", "LastPause": "0",
     "LoginTime": "1795342400", "InCall": "1"},
    {"Event": "QueueMember", "Queue": "support", "Name": "Bob Agent", "Location": "Local/1002@agents/n",
     "Status": "1", "Paused": "0", "PausedReason": "", "CallsTaken": "0", "LastCall": "0", "LastPause": "0",
     "LoginTime": "1795342400", "InCall": "0"},
]  # fmt: skip


async def run_with_a_cut(first: bytes, second: bytes, snapshot: list[dict[str, str]]) -> list[Event]:
    """Stream `first`, cut the link, resync against `snapshot`, stream `second`; all events in order."""
    async with AmiPeer(streams=[first, second], stream_after="CoreShowChannels") as peer:
        peer.replies["CoreShowChannels"] = lambda m: list_reply(
            m["ActionID"], snapshot if peer.logins > 1 else [], "CoreShowChannelsComplete"
        )
        peer.replies["QueueStatus"] = lambda m: list_reply(m["ActionID"], MEMBERS, "QueueStatusComplete")
        client = AmiClient("127.0.0.1", peer.port, "hotline", "hotline-secret", backoff=(0.05, 0.1))
        translator = AmiTranslator()
        events: list[Event] = []
        subscription = client.subscribe(maxsize=10_000)

        ended = asyncio.Event()

        def collect(new: list[Event]) -> None:
            events.extend(new)
            if any(isinstance(e, CallEvent) and e.kind.value == "hung_up" for e in new):
                ended.set()

        async def publish(missed: list[Event]) -> None:
            collect(missed)

        async def pump() -> None:
            async for msg in subscription:
                collect(translator.feed(msg))
                if peer.logins == 1 and dict(msg) == dict(first_done):
                    peer.drop()  # the link breaks right after the first part

        resync_on_connect(client, translator, publish)
        first_done = parse_frame(first.rstrip(b"\r\n").rsplit(FRAME_END, 1)[-1])
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(client.run()), tg.create_task(pump())]
            async with asyncio.timeout(20):
                await ended.wait()
            for task in tasks:
                task.cancel()
        assert peer.logins == 2
        return events


def call_events(events: list[Event]) -> list[CallEvent]:
    return [e for e in events if isinstance(e, CallEvent) and e.call_id == CALL]


def full_replay_ids() -> dict[str, str]:
    lines = [json.loads(x) for x in replay([FIXTURES / "01-answered.ami"], events=True)]
    return {x["kind"]: x["event_id"] for x in lines if x["type"] == "call"}


async def test_call_answered_while_the_link_was_down_is_answered_once_with_the_live_event_id() -> None:
    first, _ = cut("Event: QueueCallerJoin")
    _, second = cut("Event: BridgeEnter", nth=2)  # AgentCalled … BridgeEnter happen during the outage
    events = await run_with_a_cut(first, second, TALKING)
    kinds = [e.kind.value for e in call_events(events)]
    assert kinds == [
        "offered",
        "recording_started",
        "answered",
        "agent_completed",
        "recording_ready",
        "hung_up",
    ]
    answered = next(e for e in call_events(events) if e.kind.value == "answered")
    assert answered.agent == "1001" and answered.event_id == full_replay_ids()["answered"]
    (summary,) = summarize(events)
    # the wait Hotline never saw is AgentComplete's HoldTime, as Asterisk counted it
    assert (summary.outcome, summary.agent, summary.talk_s, summary.wait_s) == ("answered", "1001", 12, 2)


async def test_call_that_ended_while_the_link_was_down_is_closed_once() -> None:
    first, _ = cut("Event: BridgeEnter", nth=2)
    events = await run_with_a_cut(first, b"", [])
    calls = call_events(events)
    assert [e.kind.value for e in calls][-3:] == ["agent_completed", "recording_ready", "hung_up"]
    assert [e.kind.value for e in calls].count("hung_up") == 1
    assert calls[-1].detail == "ended while the AMI link was down"


async def test_a_reconnect_that_missed_nothing_adds_nothing() -> None:
    first, second = cut("Event: BridgeEnter", nth=2)
    events = await run_with_a_cut(first, second, TALKING)
    ours = [(e.kind.value, e.event_id) for e in call_events(events)]
    assert ours == list(full_replay_ids().items())
