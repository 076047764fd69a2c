"""Every recorded Asterisk trace replays to the per-call summary a person reads off the trace.

The expected values are taken from the traces by hand (see the fixture README
and the raw frames quoted in the comments), not from this code's output:
agent = the `Interface` of AgentConnect (control mode: the Dial/Bridge peer),
wait_s = AgentConnect/QueueCallerAbandon `HoldTime` (else AgentComplete's), talk_s = AgentComplete
`TalkTime` (where there is none, control mode and a Redirect: from the trace's CDR times, within
1 s of their BillableSeconds), recording = VarSet MIXMONITOR_FILENAME on the caller channel,
hangup_cause = `Cause-txt` of the caller channel's Hangup.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cti.ami.client import AmiClient
from cti.ami.translate import AmiTranslator, wanted_frame
from cti.replay import CallSummary, replay, summarize, trace_clock
from routing.events import CallEvent, CallEventKind, Event
from tests.cti.peer import FIXTURES, AmiPeer, trace_body

REC = "/var/spool/asterisk/monitor/"


def s(call_id, caller, queue, outcome, agent, wait_s, talk_s, recording, cause="Normal Clearing"):  # type: ignore[no-untyped-def]
    return {
        "call_id": call_id,
        "caller": caller,
        "queue": queue,
        "outcome": outcome,
        "agent": agent,
        "wait_s": wait_s,
        "talk_s": talk_s,
        "recording": recording and REC + recording,
        "hangup_cause": cause,
    }


EXPECTED: dict[str, list[dict[str, object]]] = {
    # AgentConnect HoldTime 2 RingTime 2; AgentComplete Reason caller TalkTime 12
    "01-answered.ami": [
        s("1795342409.0", "0401000001", "support", "answered", "1001", 2, 12, "1795342409.1.wav")
    ],
    # 1009 AgentRingNoAnswer (5000 ms), then 1003 AgentConnect HoldTime 7; TalkTime 15
    "02-ringnoanswer-then-answered.ami": [
        s("1795342428.0", "0402000002", "billing", "answered", "1003", 7, 15, "1795342428.1.wav")
    ],
    # QueueCallerAbandon HoldTime 8, caller hangs up (no QUEUESTATUS)
    "03-abandon.ami": [
        s("1795342455.0", "0403000003", "support", "abandoned", None, 8, None, "1795342455.1.wav")
    ],
    "04-two-concurrent.ami": [
        s("1795342470.0", "0404000004", "support", "answered", "1001", 2, 18, "1795342470.1.wav"),
        s("1795342471.4", "0404000005", "support", "answered", "1002", 3, 13, "1795342471.5.wav"),
    ],
    # ringall: 1004 and 1005 ring, 1004 answers (HoldTime 2), TalkTime 8
    "05-pause-add-remove.ami": [
        s("1795342497.0", "0405000006", "sales", "answered", "1004", 2, 8, "1795342497.1.wav")
    ],
    # CTI connects mid-call: Hugo waits (QueueEntry) and is answered live by 1002 (HoldTime 8, TalkTime 18);
    # Gina is already bridged with 1001 (CoreShowChannel BridgeId): wait unknown, AgentComplete TalkTime 28.
    # Both MixMonitors started before the CTI connected: no file name is known.
    # In the order the resync offers them: oldest first (Gina's channel is 7 s old, Hugo's 3 s), though
    # Asterisk listed Hugo first.
    "06-resync-status.ami": [
        # answered before the CTI connected: wait from AgentComplete HoldTime 2
        s("1795342515.0", "0406000007", "support", "answered", "1001", 2, 28, None),
        s("1795342519.4", "0406000008", "support", "answered", "1002", 8, 18, None),
    ],
    # BlindTransfer to 2001 after 3 s (AgentComplete Reason transfer TalkTime 3)
    "07a-blind-transfer.ami": [
        s("1795342550.0", "0407000009", "support", "transferred", "1001", 2, 3, "1795342550.1.wav")
    ],
    # Atxfer to 2002, AttendedTransfer; AgentComplete Reason transfer TalkTime 8
    "07b-attended-transfer.ami": [
        s("1795342577.0", "0407000010", "support", "transferred", "1001", 2, 8, "1795342577.1.wav")
    ],
    # Redirect to 2003: the agent leg is hung up; the late AgentComplete has no Dest* and a TalkTime (18)
    # that includes the time with 2003, so the agent's talk time is unknown.
    "07c-redirect.ami": [
        # talk until the Redirect: the agent leg's CDR AnswerTime 10:16:49, EndTime 10:16:52 (Billable 3)
        s("1795342607.0", "0407000011", "support", "transferred", "1001", 2, 3, "1795342607.1.wav")
    ],
    "07d-dtmf-userevent.ami": [
        s("1795342632.0", "0407000012", "support", "answered", "1001", 2, 12, "1795342632.1.wav")
    ],
    "07e-mixmonitor-control.ami": [
        s("1795342653.0", "0407000013", "support", "answered", "1001", 2, 14, "1795342653.1.wav")
    ],
    # 1011 answers (HoldTime 1) and hangs up first (TalkTime 7); Olga: QueueCallerAbandon HoldTime 6 then
    # VarSet QUEUESTATUS=TIMEOUT: a timeout, not an abandon.
    "07f-agent-hangup-and-timeout.ami": [
        s("1795342674.0", "0407000014", "sales", "answered", "1011", 1, 7, "1795342674.1.wav"),
        s("1795342685.4", "0407000015", "sales", "timeout", None, 6, None, "1795342685.5.wav"),
    ],
    # control mode: no queue events, so no HoldTime/TalkTime; queue from the configured default
    "07g-control-mode.ami": [
        # no queue figures in control mode: the CDRs' times. Caller start 10:18:17, the agent's
        # Bridge leg answered 10:18:22, end 10:18:37 (Billable 14) -> 5 / 15;
        # caller start 10:18:19, agent ;2 answered 10:18:23, end 10:18:34 (Billable 10) -> 4 / 11
        s("1795342697.0", "+8613800138000", "default", "answered", "1002", 5, 15, "1795342697.1.wav"),
        s("1795342699.4", "+4930123456", "default", "answered", "1001", 4, 11, "1795342699.5.wav"),
    ],
    # callers 3 and 4 wait 15 and 17 s; caller 3's AgentComplete (TalkTime 9) has no caller fields and
    # comes after the caller's Hangup
    "08-burst-four-callers.ami": [
        s("1795342841.0", "0408000001", "support", "answered", "1001", 2, 10, "1795342841.1.wav"),
        s("1795342842.4", "0408000002", "support", "answered", "1002", 3, 9, "1795342842.5.wav"),
        s("1795342842.8", "0408000003", "support", "answered", "1001", 15, 9, "1795342842.9.wav"),
        s("1795342842.10", "0408000004", "support", "answered", "1002", 17, 3, "1795342842.11.wav"),
    ],
    # ---- Hotline itself against the shipped config/asterisk/ on Asterisk 22.10.1 (README: 09-12) ----
    # 1001 paused from the console (QueuePause sent): Bob gets call 1 (AgentConnect HoldTime 1,
    # AgentComplete TalkTime 7); 1001 ready, 1002 paused: Alice gets call 2 (HoldTime 2, TalkTime 6)
    "09-live-pause-from-console.ami": [
        s("1796141516.0", "0405000005", "support", "answered", "1002", 1, 7, "1796141516.1.wav"),
        s("1796141529.4", "0405000006", "support", "answered", "1001", 2, 6, "1796141529.5.wav"),
    ],
    # control: 1004's phone cannot be rung (DialEnd CONGESTION at once), 1002 answers. CDRs: caller
    # start 16:15:04, 1002's ;2 answered 16:15:05, end 16:15:18 -> 1 / 13
    "10-live-failed-dial-control.ami": [
        s("1796141704.0", "0403000004", "sales", "answered", "1002", 1, 13, "1796141704.1.wav"),
    ],
    # control: the link is down when 1001 presses Ready; offered once it is back. CDRs: caller start
    # 16:18:28, 1001's ;2 answered 16:18:45, end 16:19:13 (billsec 27) -> 17 (18 here, the offer
    # is timed by the HotlineWaiting UserEvent) / 28 (27: TalkTime-like whole seconds)
    "11-live-link-down-while-waiting.ami": [
        s("1796141908.0", "0409000009", "support", "answered", "1001", 18, 27, "1796141908.1.wav"),
    ],
    # 25 s outage: call 1 ends during it (answered 1796142163.8, QueueMember LastCall 1796142181 ->
    # 17; CDR billsec 17),
    # call 2 is answered during it and its AgentComplete (HoldTime 1, TalkTime 29) comes after both
    # channels hung up, with no channel fields at all
    "12-live-outage-late-agentcomplete.ami": [
        s(
            "1796142161.0",
            "0407000007",
            "support",
            "answered",
            "1001",
            2,
            17,
            "1796142161.1.wav",
            "ended while the AMI link was down",
        ),
        s("1796142169.4", "0407000008", "support", "answered", "1002", 1, 29, None),
    ],
}


def test_every_fixture_has_an_expected_summary() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in FIXTURES.glob("*.ami"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_replay_gives_the_hand_checked_summary(name: str) -> None:
    lines = list(replay([FIXTURES / name]))
    assert [json.loads(line) for line in lines] == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_trace_over_tcp_through_the_client_gives_the_same_summary(name: str) -> None:
    """The same bytes served by a TCP peer, read by AmiClient (with the pre-parse filter)."""
    body = trace_body(name)
    async with AmiPeer(stream=body) as peer:
        client = AmiClient("127.0.0.1", peer.port, "hotline", "hotline-secret", frame_filter=wanted_frame)
        events = client.subscribe(maxsize=10_000)
        clock = trace_clock((FIXTURES / name).read_bytes())  # the trace's own times, as `replay`
        translator = AmiTranslator(clock=clock)
        out: list[Event] = []
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(client.run())
            async with asyncio.timeout(20):
                async for msg in events:
                    clock.observe(msg)
                    out.extend(translator.feed(msg))
                    if msg.get("Response") == "Goodbye":
                        break
                    # (not only on a Hangup: an AgentComplete may end the last call, 12)
                    if (
                        msg.event in ("Hangup", "AgentComplete")
                        and not translator.live_calls()
                        and _all_done(out, name)
                    ):
                        break
            task.cancel()
    assert client.stats.bad_frames == 0 and events.dropped == 0
    assert [c.as_dict() for c in summarize(out)] == EXPECTED[name]


def _all_done(events: list[Event], name: str) -> bool:
    ended = {e.call_id for e in events if isinstance(e, CallEvent) and e.kind is CallEventKind.HUNG_UP}
    return {str(c["call_id"]) for c in EXPECTED[name]} <= ended


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event_ids_are_unique_and_stable_across_replays(name: str) -> None:
    first = list(replay([FIXTURES / name], events=True))
    second = list(replay([FIXTURES / name], events=True))
    ids = [json.loads(line)["event_id"] for line in first]
    assert len(ids) == len(set(ids))
    assert first == second


def test_every_call_ends_with_exactly_one_hang_up_and_answered_calls_complete_once() -> None:
    for path in sorted(FIXTURES.glob("*.ami")):
        events = [json.loads(line) for line in replay([path], events=True)]
        calls = {e["call_id"] for e in events if e["type"] == "call"}
        for call_id in calls:
            kinds = [e["kind"] for e in events if e.get("call_id") == call_id]
            assert kinds[0] == "offered", (path.name, kinds)
            assert kinds[-1] == "hung_up" and kinds.count("hung_up") == 1, (path.name, kinds)
            assert kinds.count("answered") <= 1
            assert kinds.count("agent_completed") == kinds.count("answered"), (path.name, kinds)


def test_no_phantom_calls_or_agents_from_local_channel_halves() -> None:
    for path in sorted(FIXTURES.glob("*.ami")):
        events = [json.loads(line) for line in replay([path], events=True)]
        calls = {e["call_id"] for e in events if e["type"] == "call"}
        assert calls == {c["call_id"] for c in EXPECTED[path.name]}
        agents = {e["agent"] for e in events if e.get("agent")}
        assert agents <= {"1001", "1002", "1003", "1004", "1005", "1009", "1011"}, (path.name, agents)


def test_control_mode_trace_gives_the_router_its_events_in_order() -> None:
    events = [json.loads(line) for line in replay([FIXTURES / "07g-control-mode.ami"], events=True)]
    pat = [(e["kind"], e["agent"]) for e in events if e.get("call_id") == "1795342699.4"]
    assert pat == [
        ("offered", None),
        ("recording_started", None),
        ("ringing", "1001"),
        ("answered", "1001"),
        ("agent_completed", "1001"),
        ("recording_ready", None),
        ("hung_up", None),
    ]
    offered = next(e for e in events if e["kind"] == "offered")
    assert offered["caller"] == "+8613800138000" and offered["caller_name"] == "王小明"


def test_observe_mode_details_dtmf_transfer_recording_and_members() -> None:
    def kinds(name: str) -> list[tuple[str, str | None]]:
        return [
            (e["kind"], e["detail"])
            for e in map(json.loads, replay([FIXTURES / name], events=True))
            if e["type"] == "call" and e["kind"] not in ("offered", "ringing", "answered", "hung_up")
        ]

    assert [d for k, d in kinds("07d-dtmf-userevent.ami") if k == "dtmf"] == ["1", "2", "3"]
    assert ("transferred", "2001") in kinds("07a-blind-transfer.ami")
    assert ("transferred", "2002") in kinds("07b-attended-transfer.ami")
    assert ("transferred", "2003") in kinds("07c-redirect.ami")
    assert ("ring_no_answer", None) in kinds("02-ringnoanswer-then-answered.ami")
    e = kinds("07e-mixmonitor-control.ami")
    assert [k for k, _ in e if k.startswith("recording")] == [
        "recording_started",
        "recording_paused",
        "recording_resumed",
        "recording_started",
        "recording_ready",
        "recording_ready",
    ]
    agent_events = [
        (e["agent"], e["kind"], e["detail"])
        for e in map(json.loads, replay([FIXTURES / "05-pause-add-remove.ami"], events=True))
        if e["type"] == "agent" and e["kind"] in ("joined_queue", "left_queue", "paused", "unpaused")
    ]
    assert agent_events[:4] == [
        ("1004", "joined_queue", None),
        ("1005", "joined_queue", None),
        ("1005", "paused", "logging-in"),
        ("1004", "paused", "coffee"),
    ]
    assert ("1004", "left_queue", None) in agent_events and ("1005", "left_queue", None) in agent_events


def test_summary_type_lists_the_documented_keys() -> None:
    assert list(CallSummary("x").as_dict()) == [
        "call_id", "caller", "queue", "outcome", "agent", "wait_s", "talk_s", "recording", "hangup_cause",
    ]  # fmt: skip


def test_replay_of_several_files_in_one_run(tmp_path: Path) -> None:
    names = ["01-answered.ami", "03-abandon.ami"]
    lines = list(replay([FIXTURES / n for n in names]))
    assert [json.loads(x)["outcome"] for x in lines] == ["answered", "abandoned"]
