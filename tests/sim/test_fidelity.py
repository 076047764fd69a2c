"""The simulated PBX emits what the real Asterisk emitted for the same scenario.

Each test replays a recorded scenario's actions against the simulator over TCP and
compares the order of the significant messages with the real trace's
`key_sequence` in tests/fixtures/ami/manifest.json (noise events excluded, as the
manifest does), then checks the fields of the queue events against the trace.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from cti.ami.protocol import AmiMessage, FrameSplitter, encode_action, parse_frame
from cti.simulator import AgentBehaviour, SimulatedPbx
from cti.simulator.queues import SimMember, SimQueue

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ami"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
NOISE = frozenset(
    {
        "Cdr",
        "DTMFBegin",
        "DeviceStateChange",
        "DialState",
        "HangupRequest",
        "LocalBridge",
        "MusicOnHoldStart",
        "MusicOnHoldStop",
        "NewCallerid",
        "NewConnectedLine",
        "Newexten",
        "Newstate",
        "SoftHangupRequest",
        "VarSet",
    }
)
SECRET = "hotline-secret"
SPEED = 20.0


def key(message: AmiMessage) -> str:
    return message.event or f"Response({message.response})"


def recorded(name: str) -> list[AmiMessage]:
    data = (FIXTURES / name).read_bytes()
    return [parse_frame(f) for f in FrameSplitter().feed(data)]


def queues_conf() -> list[SimQueue]:
    """queues.conf of the recordings: support (rrmemory), billing (linear, timeout 5), sales (ringall)."""
    return [
        SimQueue(
            "support",
            strategy="rrmemory",
            members=[
                SimMember("Local/1001@agents/n", "Alice Agent"),
                SimMember("Local/1002@agents/n", "Bob Agent"),
            ],
        ),
        SimQueue(
            "billing",
            strategy="linear",
            timeout_s=5,
            members=[
                SimMember("Local/1009@agents/n", "Nora NoAnswer"),
                SimMember("Local/1003@agents/n", "Carol Agent"),
            ],
        ),
        SimQueue("sales", strategy="ringall"),
    ]


AGENTS = {
    "1001": AgentBehaviour(ring_s=2),
    "1002": AgentBehaviour(ring_s=1),
    "1003": AgentBehaviour(ring_s=3),
    "1009": AgentBehaviour(ring_s=None),
}


ARRIVED: dict[int, float] = {}
"""id(message) -> when the Recorder read it (monotonic): the simulator's times, for the translator."""


class Recorder:
    """A CTI client that logs in and records everything, like the recorded one did."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.messages: list[AmiMessage] = []
        self._splitter = FrameSplitter()
        self._n = 0
        self._pending: list[AmiMessage] = []

    async def send(self, action: str, **fields: str) -> None:
        self._n += 1
        self.writer.write(encode_action(action, {**fields, "ActionID": f"cti-{self._n}"}))
        await self.writer.drain()

    async def until(self, done: Callable[[AmiMessage], bool], timeout: float = 10) -> None:  # noqa: ASYNC109
        """Read until a message satisfies `done`; later messages of the same read stay queued."""
        async with asyncio.timeout(timeout):
            while True:
                while self._pending:
                    message = self._pending.pop(0)
                    self.messages.append(message)
                    ARRIVED[id(message)] = time.monotonic()
                    if done(message):
                        return
                data = await self.reader.read(65536)
                assert data, "simulator closed the connection"
                self._pending += [parse_frame(frame) for frame in self._splitter.feed(data)]

    def sequence(self) -> list[str]:
        return [key(m) for m in self.messages if key(m) not in NOISE]


@asynccontextmanager
async def session(pbx: SimulatedPbx) -> AsyncIterator[Recorder]:
    reader, writer = await asyncio.open_connection("127.0.0.1", pbx.port)
    recorder = Recorder(reader, writer)
    await recorder.send("Login", Username="hotline", Secret=SECRET, Events="on")
    await recorder.until(lambda m: m.event == "FullyBooted")
    try:
        yield recorder
    finally:
        await recorder.send("Logoff")
        await recorder.until(lambda m: m.response == "Goodbye")
        writer.close()
        await writer.wait_closed()


@asynccontextmanager
async def simulator() -> AsyncIterator[SimulatedPbx]:
    pbx = SimulatedPbx(secret=SECRET, agents=AGENTS, speed=SPEED, queues=queues_conf())
    async with asyncio.TaskGroup() as group:
        task = group.create_task(pbx.run())
        await pbx.wait_ready()
        try:
            yield pbx
        finally:
            task.cancel()


async def generate(pbx: SimulatedPbx, queue: str, caller: str, talk: int) -> None:
    """The unrecorded traffic generator's Originate (a second AMI connection)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", pbx.port)
    writer.write(encode_action("Login", {"Username": "hotline", "Secret": SECRET, "Events": "off"}))
    writer.write(
        encode_action(
            "Originate",
            {
                "Channel": f"Local/{queue}@hotline",
                "CallerID": caller,
                "Context": "phones",
                "Exten": f"talk-{talk}",
                "Priority": "1",
                "Async": "true",
                "ActionID": "gen-1",
            },
        )
    )
    await writer.drain()
    async with asyncio.timeout(5):  # the PBX has taken the Originate once it answers it
        while b"ActionID: gen-1\r\n" not in await reader.readuntil(b"\r\n\r\n"):
            pass
    writer.close()
    await writer.wait_closed()


def last_member_idle(message: AmiMessage) -> bool:
    return message.event == "QueueMemberStatus" and message.get("Status") == "1"


async def test_answered_call_matches_the_real_trace_01() -> None:
    async with simulator() as pbx:
        async with session(pbx) as recorder:
            await generate(pbx, "support", '"Anna Caller" <0401000001>', talk=14)
            await recorder.until(last_member_idle)
        assert recorder.sequence() == MANIFEST["01-answered.ami"]["key_sequence"]
        real = {
            key(m): m for m in recorded("01-answered.ami") if m.event in ("AgentConnect", "AgentComplete")
        }
        ours = {key(m): m for m in recorder.messages if m.event in ("AgentConnect", "AgentComplete")}
        for name in ("AgentConnect", "AgentComplete"):
            assert list(ours[name]) == list(real[name]), name  # same fields, same order
            assert ours[name]["Interface"] == "Local/1001@agents/n"
        assert ours["AgentComplete"]["Reason"] == "caller"


async def test_ring_no_answer_then_answered_matches_the_real_trace_02() -> None:
    async with simulator() as pbx:
        async with session(pbx) as recorder:
            await generate(pbx, "billing", '"Ben Caller" <0402000002>', talk=20)
            await recorder.until(lambda m: last_member_idle(m) and m.get("CallsTaken") == "1")
        ours = recorder.sequence()
        real = MANIFEST["02-ringnoanswer-then-answered.ami"]["key_sequence"]
        assert [k for k in ours if k.startswith(("Agent", "Queue"))] == [
            k for k in real if k.startswith(("Agent", "Queue"))
        ]
        no_answer = next(m for m in recorder.messages if m.event == "AgentRingNoAnswer")
        assert no_answer["Interface"] == "Local/1009@agents/n"
        assert list(no_answer) == list(
            next(m for m in recorded("02-ringnoanswer-then-answered.ami") if m.event == "AgentRingNoAnswer")
        )


async def test_abandon_with_paused_agents_matches_the_real_trace_03() -> None:
    async with simulator() as pbx:
        async with session(pbx) as recorder:
            for member in ("1001", "1002"):
                await recorder.send(
                    "QueuePause",
                    Queue="support",
                    Interface=f"Local/{member}@agents/n",
                    Paused="true",
                    Reason="meeting",
                )
            await generate(pbx, "support", '"Carl Caller" <0403000003>', talk=8)
            await recorder.until(lambda m: m.event == "QueueCallerLeave")
            await recorder.until(lambda m: m.event == "Hangup")
            for member in ("1001", "1002"):
                await recorder.send(
                    "QueuePause", Queue="support", Interface=f"Local/{member}@agents/n", Paused="false"
                )
            await recorder.until(
                lambda m: m.event == "QueueMemberPause" and "1002" in m["Interface"] and m["Paused"] == "0"
            )
        assert recorder.sequence() == MANIFEST["03-abandon.ami"]["key_sequence"]
        pause = next(m for m in recorder.messages if m.event == "QueueMemberPause")
        assert list(pause) == list(
            next(m for m in recorded("03-abandon.ami") if m.event == "QueueMemberPause")
        )


async def test_control_mode_caller_waits_and_is_connected_by_setvar_and_redirect_like_07g() -> None:
    async with simulator() as pbx:
        async with session(pbx) as recorder:
            _reader, writer = await asyncio.open_connection("127.0.0.1", pbx.port)
            writer.write(encode_action("Login", {"Username": "hotline", "Secret": SECRET, "Events": "off"}))
            writer.write(
                encode_action(
                    "Originate",
                    {
                        "Channel": "Local/support@hotline-control",
                        "CallerID": '"王小明" <+8613800138000>',
                        "Context": "phones",
                        "Exten": "talk-10",
                        "Priority": "1",
                        "Async": "true",
                    },
                )
            )
            await writer.drain()
            await recorder.until(lambda m: m.event == "UserEvent")
            waiting = recorder.messages[-1]
            assert waiting["UserEvent"] == "HotlineWaiting" and waiting["CallerIDName"] == "王小明"
            await recorder.send("Setvar", Channel=waiting["Channel"], Variable="HOTLINE_AGENT", Value="1001")
            await recorder.send(
                "Redirect", Channel=waiting["Channel"], Context="hotline-connect", Exten="agent", Priority="1"
            )
            await recorder.until(lambda m: m.event == "Hangup" and m["Channel"] == waiting["Channel"])
            writer.close()
            await writer.wait_closed()
        ours = [k for k in recorder.sequence() if k not in ("QueueMemberStatus",)]
        dial = next(
            m
            for m in recorder.messages
            if m.event == "DialBegin" and m.get("DestChannel", "").startswith("Local/1001@agents-")
        )
        assert dial["DialString"] == "1001@agents/n"
        assert ours.count("BridgeEnter") == 2 and ours.index("DialEnd") < ours.index("BridgeCreate")
