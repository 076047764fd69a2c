"""Real traces of each supported Asterisk line replay to the per-call summary read off the trace.

tests/fixtures/ami/<version>/ holds the same scenarios as tests/fixtures/ami/ recorded from a
real Asterisk of that tag (see the README there). The expected values were read from the raw
frames: caller = QueueCallerJoin CallerIDNum, agent = AgentConnect Interface, wait = AgentConnect
(or QueueCallerAbandon) HoldTime, talk = AgentComplete TalkTime (07c: the time until the
Redirect, as in tests/cti/test_fixtures.py), recording = VarSet MIXMONITOR_FILENAME of the caller
channel (06: MixMonitor began before the CTI connected), cause = the caller's Hangup Cause-txt.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cti.replay import replay
from tests.cti.peer import FIXTURES

REC = "/var/spool/asterisk/monitor/"
VERSIONS = ("18.26.4", "20.20.1", "22.10.1")


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


EXPECTED: dict[str, dict[str, list[dict[str, object]]]] = {
    "18.26.4": {
        "01-answered.ami": [
            s("1796144005.0", "0401000001", "support", "answered", "1001", 2, 12, "1796144005.1.wav")
        ],
        "02-ringnoanswer-then-answered.ami": [
            s("1796144024.0", "0402000002", "billing", "answered", "1003", 7, 15, "1796144024.1.wav")
        ],
        "03-abandon.ami": [
            s("1796144053.0", "0403000003", "support", "abandoned", None, 8, None, "1796144053.1.wav")
        ],
        "04-two-concurrent.ami": [
            s("1796144067.0", "0404000004", "support", "answered", "1001", 2, 18, "1796144067.1.wav"),
            s("1796144067.4", "0404000005", "support", "answered", "1002", 3, 13, "1796144067.5.wav"),
        ],
        "06-resync-status.ami": [  # oldest first, as the resync offers them
            s("1796144092.0", "0406000007", "support", "answered", "1001", 2, 28, None),
            s("1796144096.4", "0406000008", "support", "answered", "1002", 9, 17, None),
        ],
        "07a-blind-transfer.ami": [
            s("1796144128.0", "0407000009", "support", "transferred", "1001", 2, 3, "1796144128.1.wav")
        ],
        "07b-attended-transfer.ami": [
            s("1796144161.0", "0407000010", "support", "transferred", "1001", 2, 7, "1796144161.1.wav")
        ],
        "07c-redirect.ami": [
            s("1796144192.0", "0407000011", "support", "transferred", "1001", 2, 3, "1796144192.1.wav")
        ],
    },
    "20.20.1": {
        "01-answered.ami": [
            s("1796142145.0", "0401000001", "support", "answered", "1001", 2, 12, "1796142145.1.wav")
        ],
        "02-ringnoanswer-then-answered.ami": [
            s("1796142166.0", "0402000002", "billing", "answered", "1003", 7, 15, "1796142166.1.wav")
        ],
        "03-abandon.ami": [
            s("1796142195.0", "0403000003", "support", "abandoned", None, 8, None, "1796142195.1.wav")
        ],
        "04-two-concurrent.ami": [
            s("1796142209.0", "0404000004", "support", "answered", "1001", 2, 18, "1796142209.1.wav"),
            s("1796142210.4", "0404000005", "support", "answered", "1002", 3, 13, "1796142210.5.wav"),
        ],
        "06-resync-status.ami": [  # oldest first, as the resync offers them
            s("1796142237.0", "0406000007", "support", "answered", "1001", 2, 28, None),
            s("1796142241.4", "0406000008", "support", "answered", "1002", 9, 17, None),
        ],
        "07a-blind-transfer.ami": [
            s("1796142273.0", "0407000009", "support", "transferred", "1001", 2, 3, "1796142273.1.wav")
        ],
        "07b-attended-transfer.ami": [
            s("1796142302.0", "0407000010", "support", "transferred", "1001", 2, 7, "1796142302.1.wav")
        ],
        "07c-redirect.ami": [
            s("1796142335.0", "0407000011", "support", "transferred", "1001", 2, 3, "1796142335.1.wav")
        ],
    },
    "22.10.1": {
        # AgentComplete (TalkTime 12) came after both legs' Hangup and without caller fields
        "01-answered.ami": [
            s("1796140417.0", "0401000001", "support", "answered", "1001", 2, 12, "1796140417.1.wav")
        ],
        # 1009 AgentRingNoAnswer, then 1003 AgentConnect HoldTime 7, TalkTime 15
        "02-ringnoanswer-then-answered.ami": [
            s("1796140613.0", "0402000002", "billing", "answered", "1003", 7, 15, "1796140613.1.wav")
        ],
        "03-abandon.ami": [
            s("1796140443.0", "0403000003", "support", "abandoned", None, 8, None, "1796140443.1.wav")
        ],
        "04-two-concurrent.ami": [
            s("1796140456.0", "0404000004", "support", "answered", "1001", 2, 18, "1796140456.1.wav"),
            s("1796140456.4", "0404000005", "support", "answered", "1002", 3, 13, "1796140456.5.wav"),
        ],
        # Hugo waits (QueueEntry), 1002 is unpaused: HoldTime 9, TalkTime 17; Gina was bridged with 1001
        # before the CTI connected: AgentComplete HoldTime 2, TalkTime 28
        "06-resync-status.ami": [  # oldest first, as the resync offers them
            s("1796140481.0", "0406000007", "support", "answered", "1001", 2, 28, None),
            s("1796140485.4", "0406000008", "support", "answered", "1002", 9, 17, None),
        ],
        "07a-blind-transfer.ami": [
            s("1796140517.0", "0407000009", "support", "transferred", "1001", 2, 3, "1796140517.1.wav")
        ],
        "07b-attended-transfer.ami": [
            s("1796140640.0", "0407000010", "support", "transferred", "1001", 2, 6, "1796140640.1.wav")
        ],
        "07c-redirect.ami": [
            s("1796140670.0", "0407000011", "support", "transferred", "1001", 2, 3, "1796140670.1.wav")
        ],
    },
}

CASES = [(version, name) for version in sorted(EXPECTED) for name in sorted(EXPECTED[version])]


def test_every_recorded_version_has_its_trace_and_an_expected_summary_for_each() -> None:
    for version in EXPECTED:
        folder = FIXTURES / version
        assert sorted(EXPECTED[version]) == sorted(p.name for p in folder.glob("*.ami")), version
        assert all((folder / name).with_suffix(".sent").exists() for name in EXPECTED[version])


def test_every_trace_has_a_readme_line_saying_how_it_was_made() -> None:
    for version in EXPECTED:
        readme = (FIXTURES / version / "README.md").read_text()
        assert f"real Asterisk {version}" in readme
        for name in EXPECTED[version]:
            assert f"| `{name}` |" in readme, (version, name)


@pytest.mark.parametrize(("version", "name"), CASES)
def test_replay_of_a_real_trace_gives_the_summary_read_off_it(version: str, name: str) -> None:
    lines = list(replay([FIXTURES / version / name]))
    assert [json.loads(line) for line in lines] == EXPECTED[version][name]


@pytest.mark.parametrize("version", sorted(EXPECTED))
def test_the_banner_of_each_trace_is_that_versions_ami(version: str) -> None:
    ami = {"18.26.4": "7.0.3", "20.20.1": "9.0.0", "22.10.1": "11.0.0"}[version]
    for path in sorted((FIXTURES / version).glob("*.ami")):
        assert Path(path).read_bytes().startswith(f"Asterisk Call Manager/{ami}\r\n".encode()), path.name
