"""The simulated PBX against the remaining real traces: 04, 05, 07a-07f and 08.

Each test plays the recorded scenario on the simulator over TCP: the queues and
agents of tests/fixtures/asterisk-conf (queues.conf, extensions.conf), the calls
placed by an unrecorded generator connection as in the recordings, and the
recorded client's own actions from the scenario's `.sent` file, each sent when
the recorded client sent it (after the event it waited for). Then it compares:

* the key sequence (the manifest's `key_sequence`: every message except the
  noise events) with the manifest's, exactly where the scenario is
  deterministic. Where Asterisk itself races, the comparison is `shape()`:
  the sequence with each maximal run of *racy* messages replaced by the sorted
  run, so every other message keeps its exact place and the racy ones their
  exact number between them. The racy ones differ between recordings of the
  same flow on the same Asterisk (01, 04 and 08 each tear a call down in a
  different order), because they come from different threads:
  `OriginateResponse` (the generator's Originate thread, racing the handset's
  DialEnd: 01 vs 07d), the `Hangup`/`BridgeLeave`/`BridgeDestroy` of the two
  halves of Local channels at the end of a call, and `QueueMemberStatus`
  (device state, published by its own thread);
* the queue story: the ordered queue/agent/member events with the caller
  channel, agent channel, member and their Position/Count/Reason/Status/...
  values, which must be identical (channel names match: the simulator numbers
  Local channels as Asterisk does);
* the field names, in order, of the scenario's characteristic events.

Agent phones behave as the dialplan says: ring `last digit % 3 + 1` seconds
(1001: 2 s, 1002: 3 s, 1003: 1 s, 1004: 2 s, 1005: 3 s; the traces' RingTime
agree; the comments in queues.conf saying 1002 rings 1 s and 1003 3 s do not),
1009 never answers, 1011 answers after 1 s and hangs up ~6.5 s later, 1012
answers after 1 s and sends DTMF 42#, level-2 agents 2xxx ring 1 s.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cti.ami.protocol import AmiMessage, encode_action
from cti.ami.translate import AmiTranslator
from cti.replay import summarize
from cti.simulator import AgentBehaviour, SimulatedPbx
from routing.events import Event
from tests.cti.test_fixtures import EXPECTED
from tests.sim.test_fidelity import (
    ARRIVED,
    MANIFEST,
    NOISE,
    SECRET,
    SPEED,
    Recorder,
    key,
    queues_conf,
    recorded,
    session,
)

DIALPLAN_AGENTS = {
    **{f"100{n}": AgentBehaviour(ring_s=n % 3 + 1) for n in range(1, 9)},
    "1009": AgentBehaviour(ring_s=None),
    "1011": AgentBehaviour(ring_s=1, talk_s=6.5),  # Playback(agent-greeting) + Wait(5), then Hangup
    "1012": AgentBehaviour(ring_s=1, dtmf="42#"),
}
FLOATING = frozenset({"OriginateResponse"})
RACY = frozenset({"Hangup", "BridgeLeave", "BridgeDestroy", "QueueMemberStatus"})
QUEUE_EVENTS = frozenset(
    {
        "QueueCallerJoin",
        "QueueCallerLeave",
        "QueueCallerAbandon",
        "AgentCalled",
        "AgentRingNoAnswer",
        "AgentConnect",
        "AgentComplete",
        "QueueMemberStatus",
        "QueueMemberAdded",
        "QueueMemberRemoved",
        "QueueMemberPause",
        "QueueMemberPenalty",
        "QueueMemberRinginuse",
    }
)
STORY_FIELDS = (
    "Channel",
    "DestChannel",
    "Queue",
    "Interface",
    "MemberName",
    "Position",
    "Count",
    "OriginalPosition",
    "Reason",
    "Status",
    "Paused",
    "PausedReason",
    "Penalty",
    "Ringinuse",
    "CallsTaken",
    "InCall",
)


@asynccontextmanager
async def simulator() -> AsyncIterator[SimulatedPbx]:
    pbx = SimulatedPbx(secret=SECRET, agents=DIALPLAN_AGENTS, speed=SPEED, queues=queues_conf())
    async with asyncio.TaskGroup() as group:
        task = group.create_task(pbx.run())
        await pbx.wait_ready()
        try:
            yield pbx
        finally:
            task.cancel()


class Generator:
    """The unrecorded traffic generator: one AMI connection placing the calls with Originate."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self._n = 1

    async def call(self, queue: str, caller: str, handset: str, **variables: str) -> None:
        self._n += 1
        fields = {
            "Channel": f"Local/{queue}@hotline",
            "CallerID": caller,
            "Context": "phones",
            "Exten": handset,
            "Priority": "1",
            "Async": "true",
        }
        if variables:
            fields["Variable"] = ",".join(f"{k}={v}" for k, v in variables.items())
        self.writer.write(encode_action("Originate", {**fields, "ActionID": f"gen-{self._n}"}))
        await self.writer.drain()


@asynccontextmanager
async def generator(pbx: SimulatedPbx) -> AsyncIterator[Generator]:
    _reader, writer = await asyncio.open_connection("127.0.0.1", pbx.port)
    writer.write(encode_action("Login", {"Username": "hotline", "Secret": SECRET, "Events": "off"}))
    try:
        yield Generator(writer)
    finally:
        writer.close()
        await writer.wait_closed()


async def pause(seconds: float) -> None:
    """Wait `seconds` of PBX time."""
    await asyncio.sleep(seconds / SPEED)


# ----------------------------------------------------------------- comparisons
def sequence(messages: Iterable[AmiMessage]) -> list[str]:
    return [key(m) for m in messages if key(m) not in NOISE]


def shape(keys: list[str], racy: frozenset[str] = RACY) -> list[str | tuple[str, ...]]:
    """`keys` without the floating messages, every maximal run of racy ones replaced by the sorted run."""
    out: list[str | tuple[str, ...]] = []
    run: list[str] = []
    for k in keys:
        if k in FLOATING:
            continue
        if k in racy:
            run.append(k)
            continue
        if run:
            out.append(tuple(sorted(run)))
            run = []
        out.append(k)
    if run:
        out.append(tuple(sorted(run)))
    return out


def assert_same_shape(ours: list[str], real: list[str], racy: frozenset[str] = RACY) -> None:
    """The same messages, as many of each; in the same order but for the racy runs and floating ones."""
    assert Counter(ours) == Counter(real)
    assert shape(ours, racy) == shape(real, racy)


def story(messages: Iterable[AmiMessage]) -> list[tuple[str, ...]]:
    """The queue/agent/member events with the values that tell who did what to whom."""
    return [
        (m.event or "", *(f"{f}={m[f]}" for f in STORY_FIELDS if f in m))
        for m in messages
        if m.event in QUEUE_EVENTS
    ]


def first(
    messages: Iterable[AmiMessage], event: str, where: Callable[[AmiMessage], bool] = lambda m: True
) -> AmiMessage:
    return next(m for m in messages if m.event == event and where(m))


def same_fields(ours: list[AmiMessage], real: list[AmiMessage], *events: str) -> None:
    """The first `event` of each kind has the same field names, in the same order, as recorded."""
    for event in events:
        assert list(first(ours, event)) == list(first(real, event)), event


def is_event(event: str, **values: str) -> Callable[[AmiMessage], bool]:
    return lambda m: m.event == event and all(m.get(k) == v for k, v in values.items())


def trace(name: str) -> tuple[list[AmiMessage], list[str]]:
    return recorded(name), MANIFEST[name]["key_sequence"]


def on_pbx_time(ours: list[AmiMessage]) -> list[Event]:
    """Translate the simulator's stream on PBX time: when each message arrived, times SPEED (the
    simulator's dialplan runs SPEED times faster), so durations the translator measures itself
    (no TalkTime: control mode, a Redirect) compare with the trace's."""
    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    translator = AmiTranslator(clock=lambda: now)
    first = ARRIVED.get(id(ours[0]), 0.0) if ours else 0.0
    out: list[Event] = []
    for message in ours:
        now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC) + timedelta(
            seconds=(ARRIVED.get(id(message), first) - first) * SPEED
        )
        out.extend(translator.feed(message))
    return out


def assert_translates_like_the_trace(ours: list[AmiMessage], name: str) -> None:
    """The CTI's translator reads the same calls off the simulator's stream as off the real trace
    (tests/cti/test_fixtures.py): caller, queue, outcome, agent, hangup cause, a recording; waits
    and talk times within a second (the simulator's clock is scaled, the trace's is whole seconds)."""
    got = [c.as_dict() for c in summarize(on_pbx_time(ours))]
    want = EXPECTED[name]
    exact = ("caller", "queue", "outcome", "agent", "hangup_cause")
    assert [[c[k] for k in exact] for c in got] == [[c[k] for k in exact] for c in want]
    assert [c["recording"] is None for c in got] == [c["recording"] is None for c in want]
    for ours_call, real_call in zip(got, want, strict=True):
        for k in ("wait_s", "talk_s"):
            a, b = ours_call[k], real_call[k]
            assert (a is None) == (b is None) and abs(int(a or 0) - int(b or 0)) <= 1, (
                k,
                ours_call,
                real_call,
            )


# ---------------------------------------------------------------------- 04, 08
async def test_two_concurrent_callers_match_the_real_trace_04() -> None:
    """04: Dora (talk 20) and, 0.5 s later, Emil (talk 16) call `support`; Emil, Position 2,
    rings 1002 while Dora still rings 1001 (autofill). Shape of the key sequence, exact story."""
    real_name = "04-two-concurrent.ami"
    real, real_keys = trace(real_name)
    async with simulator() as pbx, session(pbx) as recorder, generator(pbx) as calls:
        await calls.call("support", '"Dora Caller" <0404000004>', "talk-20")
        await pause(0.5)
        await calls.call("support", '"Emil Caller" <0404000005>', "talk-16")
        await recorder.until(is_event("QueueMemberStatus", Interface="Local/1001@agents/n", CallsTaken="1"))
    ours = recorder.messages
    assert_translates_like_the_trace(ours, real_name)
    assert story(ours) == story(real)
    assert_same_shape(sequence(ours), real_keys, RACY | {"AgentComplete"})
    same_fields(
        ours, real, "QueueCallerJoin", "AgentCalled", "QueueCallerLeave", "AgentConnect", "AgentComplete"
    )


async def test_burst_of_four_callers_for_two_agents_matches_the_real_trace_08() -> None:
    """08: four callers 0.3 s apart into `support`: 1 and 2 ring 1001/1002 at once, 3 and 4 wait
    (Position 3, 4) and are served after the first calls end plus the 2 s wrap-up, by the
    agent rrmemory picks. Shape of the key sequence (the handset Hangup vs AgentComplete order
    races too, as between 01 and 04), exact story.

    The recording's last AgentComplete has no caller fields (app_queue published it after the
    caller channel was gone, a race in Asterisk). The simulator always sends them: for the
    story, that event's caller is taken from the AgentConnect of the same agent leg.
    """
    real_name = "08-burst-four-callers.ami"
    real, real_keys = trace(real_name)
    async with simulator() as pbx, session(pbx) as recorder, generator(pbx) as calls:
        for n, talk in enumerate((12, 12, 24, 20), start=1):
            if n > 1:
                await pause(0.3)
            await calls.call("support", f'"Burst Caller {n}" <040800000{n}>', f"talk-{talk}")
        await recorder.until(is_event("QueueMemberStatus", Interface="Local/1001@agents/n", CallsTaken="2"))
    ours = recorder.messages
    assert_translates_like_the_trace(ours, real_name)
    assert story(ours) == story(with_caller_fields(real))
    assert_same_shape(sequence(ours), real_keys, RACY | {"AgentComplete"})
    same_fields(
        ours, real, "QueueCallerJoin", "AgentCalled", "QueueCallerLeave", "AgentConnect", "AgentComplete"
    )
    waiting = [m for m in ours if m.event == "QueueCallerJoin"]
    assert [(m["Position"], m["Count"]) for m in waiting] == [("1", "1"), ("2", "2"), ("3", "3"), ("4", "4")]


def with_caller_fields(messages: list[AmiMessage]) -> list[AmiMessage]:
    """AgentComplete lacking the caller block gets the Channel of its AgentConnect (same DestChannel)."""
    connects = {m["DestChannel"]: m for m in messages if m.event == "AgentConnect"}
    out = []
    for m in messages:
        if m.event == "AgentComplete" and "Channel" not in m:
            m = AmiMessage({**dict(m), "Channel": connects[m["DestChannel"]]["Channel"]})
        out.append(m)
    return out


# ------------------------------------------------------------------------- 05
async def test_dynamic_members_pause_penalty_ringinuse_and_errors_match_the_real_trace_05() -> None:
    """05: QueueAdd 1004 and 1005 (paused, logging-in) to `sales`, pause/unpause, a ringall call
    (1005 rung first, 1004 answers after 2 s, 1005 cancelled 'Answered elsewhere'), QueuePenalty,
    QueueMemberRingInUse, QueuePause of 1001 without Queue (reported for `support`), QueueRemove
    of both, then two errors. Exact key sequence but for the racy runs; exact story."""
    real_name = "05-pause-add-remove.ami"
    real, real_keys = trace(real_name)
    d, e = "Local/1004@agents/n", "Local/1005@agents/n"
    async with simulator() as pbx, session(pbx) as recorder, generator(pbx) as calls:

        async def act(action: str, done: Callable[[AmiMessage], bool], **fields: str) -> None:
            await recorder.send(action, **fields)
            await recorder.until(done)

        added, paused = is_event("QueueMemberAdded"), is_event("QueueMemberPause")
        await act("QueueAdd", added, Queue="sales", Interface=d, MemberName="Dave Dynamic", Penalty="0")
        await act(
            "QueueAdd", added, Queue="sales", Interface=e, MemberName="Erin Dynamic", Penalty="0",
            Paused="true", Reason="logging-in",
        )  # fmt: skip
        await act("QueuePause", paused, Queue="sales", Interface=d, Paused="true", Reason="coffee")
        await act("QueuePause", paused, Queue="sales", Interface=d, Paused="false")
        await act("QueuePause", paused, Queue="sales", Interface=e, Paused="false")
        await calls.call("sales", '"Fay Caller" <0405000006>', "talk-10")
        await recorder.until(is_event("QueueMemberStatus", Interface=d, CallsTaken="1"))
        await act("QueuePenalty", is_event("QueueMemberPenalty"), Queue="sales", Interface=e, Penalty="2")
        await act(
            "QueueMemberRingInUse",
            is_event("QueueMemberRinginuse"),
            Queue="sales",
            Interface=e,
            RingInUse="true",
        )
        await act("QueuePause", paused, Interface="Local/1001@agents/n", Paused="true", Reason="lunch")
        await act("QueuePause", paused, Interface="Local/1001@agents/n", Paused="false")
        removed, error = is_event("QueueMemberRemoved"), (lambda m: m.response == "Error")
        await act("QueueRemove", removed, Queue="sales", Interface=d)
        await act("QueueRemove", removed, Queue="sales", Interface=e)
        await act("QueueRemove", error, Queue="sales", Interface=d)
        await act("QueuePause", error, Queue="nosuchqueue", Interface=d, Paused="true")
    ours = recorder.messages
    assert_translates_like_the_trace(ours, real_name)
    assert story(ours) == story(real)
    assert_same_shape(sequence(ours), real_keys)
    same_fields(
        ours, real, "QueueMemberAdded", "QueueMemberPause", "QueueMemberStatus", "QueueMemberPenalty",
        "QueueMemberRinginuse", "QueueMemberRemoved", "AgentCalled", "AgentConnect", "AgentComplete",
    )  # fmt: skip
    replies = [(m["ActionID"], m.response, m.get("Message")) for m in ours if m.response]
    assert replies == [(m["ActionID"], m.response, m.get("Message")) for m in real if m.response]
    cancelled = [m for m in ours if m.event == "Hangup" and m["Channel"].startswith("Local/1005@")]
    assert [(m["Cause"], m["Cause-txt"]) for m in cancelled] == [("26", "Answered elsewhere")] * 2


# ------------------------------------------------------------------------ 07f
async def test_agent_hangs_up_first_then_a_queue_timeout_matches_the_real_trace_07f() -> None:
    """07f: dynamic member 1011 answers Nils and hangs up first (AgentComplete Reason agent,
    QueueMemberStatus right after it); 1011 is paused; Olga joins `sales` with QTIMEOUT=6 and
    leaves when it expires: QueueCallerAbandon (HoldTime 6) + QueueCallerLeave, as for an abandon,
    then her channel hangs up before her handset. Exact key sequence, exact story."""
    real_name = "07f-agent-hangup-and-timeout.ami"
    real, real_keys = trace(real_name)
    quick = "Local/1011@agents/n"
    async with simulator() as pbx, session(pbx) as recorder, generator(pbx) as calls:
        await recorder.send("QueueAdd", Queue="sales", Interface=quick, MemberName="Finn Quick")
        await recorder.until(is_event("QueueMemberAdded"))
        await calls.call("sales", '"Nils Caller" <0407000014>', "talk-30")
        await recorder.until(is_event("Hangup", Channel="Local/sales@hotline-00000000;1"))
        await recorder.send(
            "QueuePause", Queue="sales", Interface=quick, Paused="true", Reason="after-call-work"
        )
        await recorder.until(is_event("QueueMemberPause"))
        await calls.call("sales", '"Olga Caller" <0407000015>', "talk-30", QTIMEOUT="6")
        await recorder.until(is_event("Hangup", Channel="Local/sales@hotline-00000002;1"))
        await recorder.send("QueueRemove", Queue="sales", Interface=quick)
        await recorder.until(is_event("QueueMemberRemoved"))
    ours = recorder.messages
    assert_translates_like_the_trace(ours, real_name)
    assert story(ours) == story(real)
    assert sequence(ours) == real_keys
    same_fields(ours, real, "AgentComplete", "QueueCallerAbandon", "QueueMemberAdded")
    complete = first(ours, "AgentComplete")
    abandon = first(ours, "QueueCallerAbandon")
    assert (complete["Reason"], abandon["HoldTime"]) == ("agent", "6")
    status = first(ours, "VarSet", lambda m: m["Variable"] == "QUEUESTATUS")
    assert (status["Channel"], status["Value"]) == ("Local/sales@hotline-00000002;2", "TIMEOUT")
    qtimeout = [m["Channel"] for m in ours if m.event == "VarSet" and m["Variable"] == "QTIMEOUT"]
    assert qtimeout == ["Local/sales@hotline-00000002;1", "Local/sales@hotline-00000002;2"]


# ------------------------------------------------------------------------ 07d
async def test_handset_dtmf_playdtmf_and_userevent_match_the_real_trace_07d() -> None:
    """07d: Lea's handset (`dtmf-6-8-123`) sends 1, 2, 3 while she talks with 1001: each digit as
    DTMFBegin/DTMFEnd on the caller ;2 (Received), agent ;1 (Sent), agent ;2 (Received), none on
    the handset; PlayDTMF 9 on the agent ;1 shows on the agent ;2 only; UserEvent comes back with
    every header of the action. Key sequence up to the racy teardown; exact story."""
    real_name = "07d-dtmf-userevent.ami"
    real, real_keys = trace(real_name)
    async with simulator() as pbx, session(pbx) as recorder, generator(pbx) as calls:
        await calls.call("support", '"Lea Caller" <0407000012>', "dtmf-6-8-123")
        ends = 0

        def ninth_dtmf_end(m: AmiMessage) -> bool:
            nonlocal ends
            ends += m.event == "DTMFEnd"
            return ends == 9

        await recorder.until(ninth_dtmf_end)
        await recorder.send("PlayDTMF", Channel="Local/1001@agents-00000001;1", Digit="9", Duration="300")
        await recorder.until(is_event("DTMFEnd", Digit="9"))
        await recorder.send("UserEvent", UserEvent="CtiNote", Agent="1001", Note="customer verified")
        await recorder.until(is_event("UserEvent"))
        await recorder.until(is_event("QueueMemberStatus", Status="1"))
    ours = recorder.messages
    assert_translates_like_the_trace(ours, real_name)
    assert story(ours) == story(real)
    assert_same_shape(sequence(ours), real_keys)
    same_fields(ours, real, "DTMFBegin", "DTMFEnd", "UserEvent")
    assert dtmf(ours) == dtmf(real)
    assert dict(first(ours, "UserEvent")) == dict(first(real, "UserEvent"))


def dtmf(messages: list[AmiMessage]) -> list[tuple[str, ...]]:
    return [
        (m.event or "", m["Channel"], m["Digit"], m["Direction"], m.get("DurationMs", ""))
        for m in messages
        if m.event in ("DTMFBegin", "DTMFEnd")
    ]


# ------------------------------------------------------------------------ 07e
async def test_mixmonitor_mute_start_and_stop_match_the_real_trace_07e() -> None:
    """07e: MixMonitorMute on/off and StopMixMonitor on the caller ;2, MixMonitor on the agent ;1
    (VarSet MIXMONITOR_FILENAME, MixMonitorStart without a file name). No MixMonitorStop at
    hangup. Key sequence up to the racy teardown; exact story."""
    real_name = "07e-mixmonitor-control.ami"
    real, real_keys = trace(real_name)
    caller, agent = "Local/support@hotline-00000000;2", "Local/1001@agents-00000001;1"
    agent_file = "/var/spool/asterisk/monitor/agent-side-00000001_1.wav"
    async with simulator() as pbx, session(pbx) as recorder, generator(pbx) as calls:
        await calls.call("support", '"Mona Caller" <0407000013>', "talk-16")
        await recorder.until(is_event("BridgeEnter", Channel=caller))
        await recorder.send("MixMonitorMute", Channel=caller, Direction="both", State="1")
        await recorder.until(is_event("MixMonitorMute"))
        await recorder.send("MixMonitorMute", Channel=caller, Direction="both", State="0")
        await recorder.until(is_event("MixMonitorMute", State="0"))
        await recorder.send("MixMonitor", Channel=agent, File=agent_file, Options="b")
        await recorder.until(is_event("MixMonitorStart", Channel=agent))
        await recorder.send("StopMixMonitor", Channel=caller)
        await recorder.until(is_event("MixMonitorStop"))
        await recorder.until(is_event("QueueMemberStatus", Status="1"))
    ours = recorder.messages
    assert_translates_like_the_trace(ours, real_name)
    assert story(ours) == story(real)
    assert_same_shape(sequence(ours), real_keys)
    same_fields(ours, real, "MixMonitorMute", "MixMonitorStart", "MixMonitorStop")
    monitors = [
        (m.event, m["Channel"], m.get("State", "")) for m in ours if (m.event or "").startswith("MixMon")
    ]
    assert monitors == [
        (m.event, m["Channel"], m.get("State", "")) for m in real if (m.event or "").startswith("MixMon")
    ]
    files = [
        (m["Channel"], m["Value"])
        for m in ours
        if m.event == "VarSet" and m["Variable"] == "MIXMONITOR_FILENAME"
    ]
    assert files[1] == (agent, agent_file)
    replies = [(m["ActionID"], m.response, m.get("Message")) for m in ours if m.response]
    assert replies == [(m["ActionID"], m.response, m.get("Message")) for m in real if m.response]


# ------------------------------------------------------------------- 07a-07c
async def connected_call(calls: Generator, recorder: Recorder, caller: str, handset: str) -> None:
    """Place a `support` call and wait until 1001 and the caller are bridged."""
    await calls.call("support", caller, handset)
    await recorder.until(is_event("BridgeEnter", Channel="Local/support@hotline-00000000;2"))


async def test_redirect_of_the_bridged_caller_matches_the_real_trace_07c() -> None:
    """07c: Redirect of the caller ;2 to transfer-targets/2003: no transfer event, both leave the
    bridge, the agent legs hang up, the caller Dials Local/2003@level2/n; AgentComplete (Reason
    caller, no Dest* fields) only when the caller hangs up. Exact key sequence (the
    OriginateResponse excepted), exact story."""
    real_name = "07c-redirect.ami"
    real, real_keys = trace(real_name)
    caller = "Local/support@hotline-00000000;2"
    async with simulator() as pbx, session(pbx) as recorder, generator(pbx) as calls:
        await connected_call(calls, recorder, '"Kai Caller" <0407000011>', "talk-20")
        await pause(3)
        await recorder.send(
            "Redirect", Channel=caller, Context="transfer-targets", Exten="2003", Priority="1"
        )
        await recorder.until(is_event("Hangup", Channel="Local/2003@level2-00000002;2"))
    ours = recorder.messages
    assert_translates_like_the_trace(ours, real_name)
    assert story(ours) == story(real)
    assert shape(sequence(ours), frozenset()) == shape(real_keys, frozenset())
    same_fields(ours, real, "AgentComplete")
    assert "DestChannel" not in first(ours, "AgentComplete")

    def to_2003(m: AmiMessage) -> bool:
        return m.get("DestChannel", "").startswith("Local/2003@level2-")

    dial, real_dial = first(ours, "DialBegin", to_2003), first(real, "DialBegin", to_2003)
    assert list(dial) == list(real_dial)
    assert [dial[k] for k in ("Channel", "Context", "Exten", "DestChannel", "DialString")] == [
        real_dial[k] for k in ("Channel", "Context", "Exten", "DestChannel", "DialString")
    ]


async def test_blind_transfer_matches_the_real_trace_07a() -> None:
    """07a: BlindTransfer of the agent leg to transfer-targets/2001, 3 s into the call: 'Transfer
    succeeded', Unhold, BlindTransfer, AgentComplete Reason transfer; the agent legs hang up and
    the caller Dials Local/2001@level2/n, which answers. Key sequence up to the racy runs; exact
    story."""
    real_name = "07a-blind-transfer.ami"
    real, real_keys = trace(real_name)
    async with simulator() as pbx, session(pbx) as recorder, generator(pbx) as calls:
        await connected_call(calls, recorder, '"Ida Caller" <0407000009>', "talk-22")
        await pause(3)
        await recorder.send(
            "BlindTransfer", Channel="Local/1001@agents-00000001;1", Context="transfer-targets", Exten="2001"
        )
        await recorder.until(is_event("Hangup", Channel="Local/support@hotline-00000000;2"))
    ours = recorder.messages
    assert_translates_like_the_trace(ours, real_name)
    assert story(ours) == story(real)
    assert_same_shape(sequence(ours), real_keys)
    same_fields(ours, real, "BlindTransfer", "Unhold", "AgentComplete")
    transfer = first(ours, "BlindTransfer")
    assert (transfer["TransfererChannel"], transfer["TransfereeChannel"]) == (
        "Local/1001@agents-00000001;1",
        "Local/support@hotline-00000000;2",
    )
    assert (transfer["Context"], transfer["Extension"], first(ours, "AgentComplete")["TalkTime"]) == (
        "transfer-targets",
        "2001",
        "3",
    )


async def test_attended_transfer_matches_the_real_trace_07b() -> None:
    """07b: Atxfer on the agent leg to level2/2002: the feature code *2 and the digits as DTMFEnd
    on it, Hold, a consultation bridge with 2002; once 2002 answered, Hangup of the agent leg:
    BridgeMerge, AttendedTransfer (DestType Bridge), AgentComplete Reason transfer; the caller
    talks with 2002. Key sequence up to the racy runs; exact story."""
    real_name = "07b-attended-transfer.ami"
    real, real_keys = trace(real_name)
    agent = "Local/1001@agents-00000001;1"
    async with simulator() as pbx, session(pbx) as recorder, generator(pbx) as calls:
        await connected_call(calls, recorder, '"Jan Caller" <0407000010>', "talk-25")
        await pause(3)
        await recorder.send("Atxfer", Channel=agent, Context="level2", Exten="2002")
        await recorder.until(is_event("DialEnd", DestChannel="Local/2002@level2-00000002;1"))
        await pause(3)
        await recorder.send("Hangup", Channel=agent, Cause="16")
        await recorder.until(is_event("Hangup", Channel="Local/2002@level2-00000002;2"))
    ours = recorder.messages
    assert_translates_like_the_trace(ours, real_name)
    assert story(ours) == story(real)
    assert_same_shape(sequence(ours), real_keys)
    same_fields(ours, real, "AttendedTransfer", "BridgeMerge", "Hold", "DTMFEnd", "AgentComplete")
    assert [m["Digit"] for m in ours if m.event == "DTMFEnd"] == ["*", "2", "2", "0", "0", "2"]
    transfer = first(ours, "AttendedTransfer")
    merge = first(ours, "BridgeMerge")
    assert transfer["DestBridgeUniqueid"] == transfer["OrigBridgeUniqueid"] == merge["ToBridgeUniqueid"]
    assert transfer["SecondBridgeUniqueid"] == merge["FromBridgeUniqueid"]
    assert first(ours, "AgentComplete")["Reason"] == "transfer"


# ------------------------------------------------- dialplan behaviours without a trace
async def test_agent_1012_sends_dtmf_into_the_call_as_the_dialplan_says() -> None:
    """1012 answers after 1 s and, 2 s later, `SendDTMF(42#,200)`: written to its ;2, each digit
    shows on its ;1 (Received), on the caller ;2 (Sent) and the handset ;1 (Received): the
    mirror image of the handset's DTMF in 07d."""
    async with simulator() as pbx, session(pbx) as recorder, generator(pbx) as calls:
        await recorder.send("QueueAdd", Queue="sales", Interface="Local/1012@agents/n", MemberName="Ivy Ivr")
        await calls.call("sales", '"Ivo Caller" <0409000012>', "talk-8")
        await recorder.until(is_event("DTMFEnd", Digit="#", Channel="Local/sales@hotline-00000000;1"))
        await recorder.until(is_event("QueueMemberStatus", Status="1"))
    ends = [(m["Channel"], m["Digit"], m["Direction"]) for m in recorder.messages if m.event == "DTMFEnd"]
    legs = [
        ("Local/1012@agents-00000001;1", "Received"),
        ("Local/sales@hotline-00000000;2", "Sent"),
        ("Local/sales@hotline-00000000;1", "Received"),
    ]
    assert ends == [(channel, digit, direction) for digit in "42#" for channel, direction in legs]


async def test_mixmonitor_action_writes_its_file_when_the_channel_hangs_up(tmp_path: Path) -> None:
    """The agent-side recording started with the MixMonitor action (07e) is a WAV file named as asked."""
    pbx = SimulatedPbx(
        secret=SECRET, agents=DIALPLAN_AGENTS, speed=SPEED, queues=queues_conf(), recordings_dir=tmp_path
    )
    agent = "Local/1001@agents-00000001;1"
    async with asyncio.TaskGroup() as group:
        task = group.create_task(pbx.run())
        await pbx.wait_ready()
        async with session(pbx) as recorder, generator(pbx) as calls:
            await connected_call(calls, recorder, '"Mona Caller" <0407000013>', "talk-6")
            await recorder.send(
                "MixMonitor", Channel=agent, File="/var/spool/asterisk/monitor/agent-side.wav"
            )
            await recorder.until(is_event("Hangup", Channel=agent))
            async with asyncio.timeout(5):
                while not await asyncio.to_thread((tmp_path / "agent-side.wav").exists):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        task.cancel()
    caller_file = first(recorder.messages, "MixMonitorStart")["Uniqueid"] + ".wav"
    names = await asyncio.to_thread(lambda: sorted(p.name for p in tmp_path.iterdir()))
    assert names == sorted(["agent-side.wav", caller_file])
