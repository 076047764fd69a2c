"""Hotline's own AMI link against the shipped configuration on a real Asterisk 22.10.1 (issue #15).

Traces 09-12 (tests/fixtures/ami/README.md): what Hotline received and sent while it paused
agents from the console, met a phone that cannot be rung, lost the link while a caller waited,
and lived through a 25 s outage mid-call. The replay must give each call's outcome and agent
exactly and its wait and talk within 1 s of Asterisk's own figures, quoted here from the
traces (AgentConnect/AgentComplete, QueueMember LastCall) and from the same run's CDRs.
"""

from __future__ import annotations

import json

import pytest

from cti.ami.protocol import AmiMessage
from cti.replay import read_messages, replay
from tests.cti.peer import FIXTURES, parse_action

# name -> per call: (caller, outcome, agent, Asterisk's wait, Asterisk's talk, where they are from)
ASTERISK: dict[str, list[tuple[str, str, str | None, int, int | None, str]]] = {
    "09-live-pause-from-console.ami": [
        ("0405000005", "answered", "1002", 1, 7, "AgentConnect HoldTime 1, AgentComplete TalkTime 7"),
        ("0405000006", "answered", "1001", 2, 6, "AgentConnect HoldTime 2, AgentComplete TalkTime 6"),
    ],
    "10-live-failed-dial-control.ami": [
        # CDRs: caller ;2 start 16:15:04; 1002's ;2 answer 16:15:05, end 16:15:18, billsec 12
        ("0403000004", "answered", "1002", 1, 13, "CDR start/answer/end"),
    ],
    "11-live-link-down-while-waiting.ami": [
        # CDRs: caller ;2 start 16:18:28; 1001's ;2 answer 16:18:45, end 16:19:13, billsec 27
        ("0409000009", "answered", "1001", 17, 28, "CDR start/answer/end"),
    ],
    "12-live-outage-late-agentcomplete.ami": [
        # answered 1796142163.82 (AgentConnect, HoldTime 2); ended while the link was down: the
        # resync's QueueMember LastCall 1796142181; CDR of 1001's ;2: 16:22:43 -> 16:23:01, billsec 17
        (
            "0407000007",
            "answered",
            "1001",
            2,
            17,
            "AgentConnect HoldTime 2, QueueMember LastCall, CDR billsec",
        ),
        # answered during the outage; AgentComplete (no channel fields) HoldTime 1, TalkTime 29
        ("0407000008", "answered", "1002", 1, 29, "AgentComplete HoldTime 1, TalkTime 29"),
    ],
}


def summaries(name: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in replay([FIXTURES / name])]


def events(name: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in replay([FIXTURES / name], events=True)]


def sent(name: str) -> list[AmiMessage]:
    raw = (FIXTURES / name).with_suffix(".sent").read_bytes()
    return [parse_action(frame) for frame in raw.split(b"\r\n\r\n") if frame.strip()]


@pytest.mark.parametrize("name", sorted(ASTERISK))
def test_replay_gives_asterisks_outcome_agent_wait_and_talk(name: str) -> None:
    got = summaries(name)
    assert [(c["caller"], c["outcome"], c["agent"]) for c in got] == [
        (caller, outcome, agent) for caller, outcome, agent, *_ in ASTERISK[name]
    ]
    for call, (_, _, _, wait, talk, source) in zip(got, ASTERISK[name], strict=True):
        assert isinstance(call["wait_s"], int) and abs(call["wait_s"] - wait) <= 1, (call, source)
        if talk is not None:
            assert isinstance(call["talk_s"], int) and abs(call["talk_s"] - talk) <= 1, (call, source)


def test_09_the_console_pause_reached_asterisk_and_the_call_went_to_the_other_agent() -> None:
    pauses = [
        {k: m[k] for k in ("Interface", "Paused", "Queue", "Reason") if k in m}
        for m in sent("09-live-pause-from-console.ami")
        if m.get("Action") == "QueuePause"
    ]
    # sign-in of 1001 (static member of billing and support: unpause each), pause, ready; 1002's pause
    assert pauses == [
        {"Interface": "Local/1001@agents/n", "Paused": "false", "Queue": "billing"},
        {"Interface": "Local/1001@agents/n", "Paused": "false", "Queue": "support"},
        {"Interface": "Local/1001@agents/n", "Paused": "true", "Reason": "coffee"},
        {"Interface": "Local/1001@agents/n", "Paused": "false"},
        {"Interface": "Local/1002@agents/n", "Paused": "true", "Reason": "lunch"},
    ]
    messages = list(read_messages((FIXTURES / "09-live-pause-from-console.ami").read_bytes()))
    paused = [
        (m["MemberName"], m["Queue"], m["Paused"], m["PausedReason"])
        for m in messages
        if m.event == "QueueMemberPause"
    ]
    assert ("Alice Agent", "support", "1", "coffee") in paused and (
        "Bob Agent",
        "support",
        "1",
        "lunch",
    ) in paused
    # nobody rang the paused agent: the only AgentCalled of call 1 is Bob's
    called = [(m["CallerIDNum"], m["MemberName"]) for m in messages if m.event == "AgentCalled"]
    assert called == [("0405000005", "Bob Agent"), ("0405000006", "Alice Agent")]


def test_10_the_agents_interface_is_dialled_and_a_failed_dial_is_told_at_once() -> None:
    dials = [
        m["Value"] for m in sent("10-live-failed-dial-control.ami") if m.get("Variable") == "HOTLINE_DIAL"
    ]
    assert dials == ["Local/1004@agents/n", "Local/1002@agents/n"]
    story = [
        (e["kind"], e["agent"], e["detail"])
        for e in events("10-live-failed-dial-control.ami")
        if e["type"] == "call"
    ]
    assert ("ring_no_answer", "1004", "congestion") in story
    # the failed ring and the next agent's ring are in the same second: no ring timeout was waited out
    times = {
        (e["kind"], e["agent"]): e["at"]
        for e in events("10-live-failed-dial-control.ami")
        if e["type"] == "call"
    }
    assert times[("ringing", "1002")][:19] == times[("ring_no_answer", "1004")][:19]


def test_11_nothing_was_tried_while_the_link_was_down_and_the_call_was_offered_when_it_came_back() -> None:
    actions = [m.get("Action") for m in sent("11-live-link-down-while-waiting.ami")]
    second_login = actions.index("Login", 1)
    assert "Redirect" not in actions[:second_login]  # the Ready during the outage sent nothing
    assert actions[second_login:].count("Redirect") == 1  # offered once, after the resync
    kinds = [
        (e["kind"], e["agent"]) for e in events("11-live-link-down-while-waiting.ami") if e["type"] == "call"
    ]
    assert ("ring_no_answer", "1001") not in kinds and kinds.count(("ringing", "1001")) == 1


def test_12_an_agentcomplete_without_channel_fields_after_both_hangups_gives_the_talk_time() -> None:
    messages = list(read_messages((FIXTURES / "12-live-outage-late-agentcomplete.ami").read_bytes()))
    late = [m for m in messages if m.event == "AgentComplete"]
    assert len(late) == 1 and "Channel" not in late[0] and "DestChannel" not in late[0]
    completed = [
        e for e in events("12-live-outage-late-agentcomplete.ami") if e.get("kind") == "agent_completed"
    ]
    assert [(e["agent"], e["hold_s"], e["talk_s"]) for e in completed][-1] == ("1002", 1, 29)
    # the resync asked QueueStatus (members, LastCall) before CoreShowChannels
    actions = [m.get("Action") for m in sent("12-live-outage-late-agentcomplete.ami")]
    again = actions.index("Login", 1)
    assert actions[again + 1 : again + 3] == ["QueueStatus", "CoreShowChannels"]
