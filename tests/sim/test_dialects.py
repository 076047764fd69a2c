"""The simulated PBX speaks each Asterisk version's dialect (`--asterisk-version`).

For every line with real traces (tests/fixtures/ami/<version>/) the simulator, set to that
version, answers with that version's banner and CoreSettings, sends the queue events of an
answered call in the real order, and each event with exactly a field list the real Asterisk
of that version sent. For 13 and 11 (no lab build) the references are the documented formats
and the foreign captures (tests/fixtures/ami/foreign/: a real 13.18 console log, amiws' 11 fixtures).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from cti.ami.protocol import AmiMessage, FrameSplitter, parse_frame
from cti.simulator import SimulatedPbx
from cti.simulator.dialect import Dialect
from cti.simulator.standalone import arguments
from tests.sim.test_fidelity import AGENTS, SECRET, SPEED, generate, last_member_idle, queues_conf, session

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ami"
REAL = ("18.26.4", "20.20.1", "22.10.1")
QUEUE_EVENTS = ("QueueCallerJoin", "AgentCalled", "AgentConnect", "AgentComplete", "QueueCallerLeave")


def messages(path: Path) -> list[AmiMessage]:
    return [parse_frame(f) for f in FrameSplitter().feed(path.read_bytes())]


def field_lists(paths: list[Path]) -> dict[str, set[tuple[str, ...]]]:
    """Every field list each event had in these traces."""
    out: dict[str, set[tuple[str, ...]]] = {}
    for path in paths:
        for m in messages(path):
            if m.event:
                out.setdefault(m.event, set()).add(tuple(m))
    return out


@asynccontextmanager
async def simulator(version: str) -> AsyncIterator[SimulatedPbx]:
    pbx = SimulatedPbx(
        secret=SECRET, agents=AGENTS, speed=SPEED, queues=queues_conf(), asterisk_version=version
    )
    async with asyncio.TaskGroup() as group:
        task = group.create_task(pbx.run())
        await pbx.wait_ready()
        try:
            yield pbx
        finally:
            task.cancel()


async def answered_call(version: str) -> tuple[str, list[AmiMessage], AmiMessage]:
    async with simulator(version) as pbx:
        async with session(pbx) as recorder:
            await recorder.send("CoreSettings")
            await generate(pbx, "support", '"Anna Caller" <0401000001>', talk=14)
            await recorder.until(lambda m: last_member_idle(m) and m.get("CallsTaken") == "1")
        banner = recorder._splitter.banner or ""  # the banner the client read
    settings = next(m for m in recorder.messages if m.get("AsteriskVersion"))
    return banner, recorder.messages, settings


def _real_paths(version: str) -> list[Path]:
    paths = sorted((FIXTURES / version).glob("*.ami"))
    if not paths:
        pytest.skip(f"no real {version} traces")
    return paths


@pytest.mark.parametrize("version", REAL)
async def test_simulator_speaks_the_real_versions_dialect_on_an_answered_call(version: str) -> None:
    paths = _real_paths(version)
    real_banner = paths[0].read_bytes().split(b"\r\n", 1)[0].decode()
    banner, ours, settings = await answered_call(version)
    assert banner == real_banner
    assert settings["AsteriskVersion"] == version and real_banner.endswith(settings["AMIversion"])
    real = messages(FIXTURES / version / "01-answered.ami")
    # the app_queue events in the real order (AgentComplete may come late in a real trace: not compared)
    order = [m.event for m in real if m.event in QUEUE_EVENTS and m.event != "AgentComplete"]
    assert [m.event for m in ours if m.event in QUEUE_EVENTS and m.event != "AgentComplete"] == order
    known = field_lists(paths)
    for message in ours:
        if message.event in (*QUEUE_EVENTS, "QueueMemberStatus", "DialBegin", "DialEnd", "MixMonitorStart"):
            assert tuple(message) in known[message.event], (version, message.event, list(message))


@pytest.mark.parametrize("version", REAL)
def test_attended_transfer_has_the_fields_of_that_version(version: str) -> None:
    """18.26.4's AttendedTransfer has no TransferTarget* snapshot; 20.20.1's and 22.10.1's have."""
    [ours] = [
        m
        for m in messages(FIXTURES / "22.10.1" / "07b-attended-transfer.ami")
        if m.event == "AttendedTransfer"
    ]
    [real] = [
        m for m in messages(FIXTURES / version / "07b-attended-transfer.ami") if m.event == "AttendedTransfer"
    ]
    fields = {k: ours[k] for k in ours if k != "Event"}
    [(_name, rewritten)] = Dialect(version).rewrite("AttendedTransfer", fields)
    assert ["Event", *rewritten] == list(real)


async def test_thirteen_sends_no_mixmonitor_start_and_thirteens_member_fields() -> None:
    banner, ours, settings = await answered_call("13.38.3")
    assert banner == "Asterisk Call Manager/2.10.6" and settings["AsteriskVersion"] == "13.38.3"
    names = [m.event for m in ours]
    assert "MixMonitorStart" not in names and "DialState" not in names
    assert "QueueCallerJoin" in names and "BridgeEnter" in names  # today's names since 12
    # the real 13.18 capture (vistep, a SIP call) has these queue events with the same fields, less
    # the headers of its `manager set debug on` (SequenceNumber, File, Line, Func)
    debug = {"SequenceNumber", "File", "Line", "Func"}
    capture = field_lists([FIXTURES / "foreign" / "vistep-callme-ast13.18-queue-answered.ami"])
    for name in ("QueueCallerJoin", "AgentCalled", "AgentConnect", "AgentComplete", "QueueCallerLeave"):
        real = {tuple(k for k in fields if k not in debug) for fields in capture[name]}
        ours_fields = {tuple(m) for m in ours if m.event == name}
        assert ours_fields and ours_fields <= real, name


async def test_eleven_speaks_join_leave_member_and_bridgedchannel() -> None:
    banner, ours, settings = await answered_call("11.25.3")
    assert banner == "Asterisk Call Manager/1.3" and settings["AsteriskVersion"] == "11.25.3"
    names = {m.event for m in ours}
    assert {"Join", "Leave", "AgentCalled", "AgentConnect", "AgentComplete", "Dial"} <= names
    assert not names & {"QueueCallerJoin", "DialBegin", "BridgeEnter", "MixMonitorStart", "DeviceStateChange"}
    assert all("Linkedid" not in m for m in ours)
    # the field lists of amiws' Asterisk 11 fixtures (Join, AgentConnect, AgentComplete)
    capture = field_lists([FIXTURES / "foreign" / "amiws-queue-ast11-fixture-events.ami"])
    for name in ("Join", "AgentConnect", "AgentComplete"):
        ours_fields = {tuple(m) for m in ours if m.event == name}
        assert ours_fields == capture[name], name


def test_the_command_line_takes_a_version_and_refuses_an_unknown_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert arguments(["--asterisk-version", "18.26.4"]).asterisk_version == "18.26.4"
    assert arguments([]).asterisk_version == "22.10.1"
    with pytest.raises(SystemExit):
        arguments(["--asterisk-version", "1.8.32.3"])
    assert "speaks the lines 11, 13, 16, 18, 20, 22" in capsys.readouterr().err
    assert Dialect("16.30.1").banner == b"Asterisk Call Manager/5.0.5\r\n"
