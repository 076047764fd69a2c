"""Best effort on Asterisk 13 and 11: calls, outcomes and agents are read from their own formats.

tests/fixtures/ami/constructed/ holds CONSTRUCTED traces (no 13 or 11 was run): the real 22.10.1
traces of tests/fixtures/ami/22.10.1/ rewritten by `cti.simulator.dialect.rewrite_trace` into the
event formats of Asterisk 13.38.3 and 11.25.3 (as apps/app_queue.c, main/channel.c, main/pbx.c,
main/manager.c print them at those tags: 13 without MixMonitorStart/DialState and the 16+ member
fields; 11 with Join/Leave, AgentCalled's AgentCalled/DestinationChannel, Member, BridgedChannel,
QueueMemberPaused, Dial SubEvent, no Linkedid, no Bridge*/transfer events). tests/fixtures/ami/foreign/
holds real captures from other projects (see its README) for the same formats.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from cti.replay import replay
from cti.simulator.dialect import Dialect, rewrite_trace
from tests.cti.peer import FIXTURES

CONSTRUCTED = FIXTURES / "constructed"
FOREIGN = FIXTURES / "foreign"
REC = "/var/spool/asterisk/monitor/"
SCENARIOS = ("01-answered", "02-ringnoanswer-then-answered", "03-abandon", "04-two-concurrent")


def s(call_id, caller, queue, outcome, agent, wait_s, talk_s, recording):  # type: ignore[no-untyped-def]
    return {
        "call_id": call_id,
        "caller": caller,
        "queue": queue,
        "outcome": outcome,
        "agent": agent,
        "wait_s": wait_s,
        "talk_s": talk_s,
        "recording": recording and REC + recording,
        "hangup_cause": "Normal Clearing",
    }


# the same calls as tests/cti/test_versions_replay.py's 22.10.1; 11 has no Linkedid, so a call is named
# by its caller channel's Uniqueid (the `;2` half: <epoch>.1 rather than the `;1`'s <epoch>.0)
EXPECTED = {
    "13.38.3-01-answered.ami": [
        s("1796140417.0", "0401000001", "support", "answered", "1001", 2, 12, "1796140417.1.wav")
    ],
    "13.38.3-02-ringnoanswer-then-answered.ami": [
        s("1796140613.0", "0402000002", "billing", "answered", "1003", 7, 15, "1796140613.1.wav")
    ],
    "13.38.3-03-abandon.ami": [
        s("1796140443.0", "0403000003", "support", "abandoned", None, 8, None, "1796140443.1.wav")
    ],
    "13.38.3-04-two-concurrent.ami": [
        s("1796140456.0", "0404000004", "support", "answered", "1001", 2, 18, "1796140456.1.wav"),
        s("1796140456.4", "0404000005", "support", "answered", "1002", 3, 13, "1796140456.5.wav"),
    ],
    "11.25.3-01-answered.ami": [
        s("1796140417.1", "0401000001", "support", "answered", "1001", 2, 12, "1796140417.1.wav")
    ],
    "11.25.3-02-ringnoanswer-then-answered.ami": [
        s("1796140613.1", "0402000002", "billing", "answered", "1003", 7, 15, "1796140613.1.wav")
    ],
    "11.25.3-03-abandon.ami": [
        s("1796140443.1", "0403000003", "support", "abandoned", None, 8, None, "1796140443.1.wav")
    ],
    "11.25.3-04-two-concurrent.ami": [
        s("1796140456.1", "0404000004", "support", "answered", "1001", 2, 18, "1796140456.1.wav"),
        s("1796140456.5", "0404000005", "support", "answered", "1002", 3, 13, "1796140456.5.wav"),
    ],
}


def test_the_constructed_traces_are_marked_and_are_what_the_dialects_make_of_the_real_ones() -> None:
    readme = (CONSTRUCTED / "README.md").read_text()
    assert "CONSTRUCTED" in readme
    assert sorted(EXPECTED) == sorted(p.name for p in CONSTRUCTED.glob("*.ami"))
    for name in EXPECTED:
        version, _, scenario = name.partition("-")
        assert f"`{name}`" in readme
        real = (FIXTURES / "22.10.1" / scenario).read_bytes()
        assert (CONSTRUCTED / name).read_bytes() == rewrite_trace(real, Dialect(version)), name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_constructed_old_version_trace_replays_to_the_right_calls_outcomes_and_agents(name: str) -> None:
    assert [json.loads(line) for line in replay([CONSTRUCTED / name])] == EXPECTED[name]


def test_the_eleven_traces_really_use_elevens_names() -> None:
    data = b"".join((CONSTRUCTED / f"11.25.3-{n}.ami").read_bytes() for n in SCENARIOS)
    for old in (
        b"Event: Join\r\n",
        b"Event: Leave\r\n",
        b"BridgedChannel: ",
        b"Member: ",
        b"SubEvent: Begin",
    ):
        assert old in data, old
    for new in (
        b"QueueCallerJoin",
        b"DestUniqueid",
        b"Linkedid",
        b"DialBegin",
        b"BridgeEnter",
        b"\r\nInterface: ",
    ):
        assert new not in data, new
    ring = (CONSTRUCTED / "11.25.3-02-ringnoanswer-then-answered.ami").read_bytes()
    assert b"Event: AgentRingNoAnswer\r\n" in ring
    events = [
        json.loads(line) for line in replay([CONSTRUCTED / "11.25.3-02-ringnoanswer-then-answered.ami"], True)
    ]
    assert [(e["kind"], e["agent"]) for e in events if e["kind"] in ("ringing", "ring_no_answer")] == [
        ("ringing", "1009"),
        ("ring_no_answer", "1009"),
        ("ringing", "1003"),
    ]


def test_thirteen_has_no_mixmonitor_start_yet_the_recording_is_found() -> None:
    data = (CONSTRUCTED / "13.38.3-01-answered.ami").read_bytes()
    assert b"MixMonitorStart" not in data and b"Variable: MIXMONITOR_FILENAME" in data


# ------------------------------------------------------------------ real captures of old versions


def _summary(name: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in replay([FOREIGN / name])]


def test_a_real_13_18_queue_call_replays_right_on_every_field_now_with_its_recording() -> None:
    assert _summary("vistep-callme-ast13.18-queue-answered.ami") == [
        {
            "call_id": "1514295827.372",
            "caller": "123",
            "queue": "Q1",
            "outcome": "answered",
            "agent": "777",
            "wait_s": 9,
            "talk_s": 3,
            "recording": "/var/www/pbx-aseeva.vistep.ru/callme/records/wav/2017/12/26/"
            "1514295827.372-2017-12-26-14_43-123-888999.wav",
            "hangup_cause": "Normal Clearing",
        }
    ]


def test_a_real_1_6_join_leave_agentconnect_fragment_is_a_call_answered_by_its_member() -> None:
    [call] = _summary("pami-issues-ast1.6-join-leave-agentconnect.ami")
    assert (
        call["call_id"],
        call["caller"],
        call["queue"],
        call["outcome"],
        call["agent"],
        call["wait_s"],
    ) == (
        "1301942099.1324731",
        "3216631398",
        "5001",
        "answered",
        "7001",
        3,  # `Holdtime: 3` (1.6 spelling)
    )


def test_real_11_fixture_events_give_the_waiting_caller_and_the_paused_member() -> None:
    name = "amiws-queue-ast11-fixture-events.ami"
    [call] = _summary(name)
    assert (call["call_id"], call["caller"], call["queue"], call["outcome"]) == (
        "1510322646.118",
        "1000",
        "TechSupport",
        "waiting",
    )
    events = [json.loads(line) for line in replay([FOREIGN / name], events=True)]
    assert ("1005", "paused", "TechSupport") in [(e["agent"], e["kind"], e["queue"]) for e in events]


def test_a_trace_without_uniqueid_or_timestamps_is_not_dated_1970() -> None:
    name = "pami-issues-ast1.6-member-added-removed.ami"
    events = [json.loads(line) for line in replay([FOREIGN / name], events=True)]
    assert [(e["agent"], e["kind"]) for e in events if e["kind"] != "device_state"] == [
        ("7279", "joined_queue"),
        ("7279", "left_queue"),
    ]
    mtime = int(Path(FOREIGN / name).stat().st_mtime)
    assert {datetime.fromisoformat(e["at"]).timestamp() for e in events} == {mtime}


def test_a_freepbx_followme_capture_without_a_queue_gives_no_phantom_call() -> None:
    assert _summary("x7fffffff-freepbx-followme-noqueue.ami") == []
