"""The simulated PBX's channels and bridges: what every dialplan of it is built from.

A `PbxCore` holds the channels, bridges, device states and queues, and raises
the AMI events Asterisk raises when they change (Newchannel, Newstate, Hangup,
BridgeEnter, DTMFBegin, MixMonitorStart, ...), through `emit`, which the AMI
server (`cti.simulator.ami_server`) sends to its logged-in clients. The
dialplans (`control`, `observe`) and the AMI actions (`actions`) drive it; it
knows none of them. Times are divided by `speed`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cti.ami.dialplan import MONITOR_DIR, PHONES_CONTEXT
from cti.simulator.cdr import CdrWriter
from cti.simulator.channels import UNKNOWN, Channel, Handset
from cti.simulator.mixmonitor import MixMonitors
from cti.simulator.queues import SimQueue
from cti.simulator.wav import write_call_wav

log = logging.getLogger(__name__)

Emit = Callable[[str, dict[str, str]], None]
"""Send one event (name, fields with Privilege first) to every client that wants events."""


class QueueCallState(Protocol):
    """What the core and the actions see of an app_queue call (cti.simulator.observe.QueueCall)."""

    caller: Channel | None
    agent_legs: tuple[Channel, Channel] | None  # (;1 bridged with the caller, ;2)
    ringing: set[str]  # member interfaces being rung for this call


@dataclass(frozen=True)
class AgentBehaviour:
    """How a simulated agent phone behaves: rings `ring_s` then answers (None: never answers)."""

    ring_s: float | None = 2.0
    talk_s: float = 90.0  # agent hangs up after this long, unless the caller hangs up first
    dtmf: str = ""  # digits the agent's dialplan sends after answering (1012: "42#")
    dtmf_after_s: float = 2.0
    reachable: bool = True  # False: no phone behind the interface ([agents] answers Congestion at once)


class PbxCore:
    def __init__(
        self,
        *,
        emit: Emit,
        agents: dict[str, AgentBehaviour] | None = None,
        speed: float = 1.0,
        recordings_dir: Path | None = None,
        queues: list[SimQueue] | None = None,
        cdr: CdrWriter | None = None,
    ) -> None:
        """`cdr` writes a cdr_csv line per channel at its hang-up (Asterisk's Master.csv)."""
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self._emit = emit
        self.agents = dict(agents or {})
        self.speed = speed
        self.recordings_dir = recordings_dir
        self.queues: dict[str, SimQueue] = {q.name: q for q in queues or ()}
        self.queue_calls: set[QueueCallState] = set()  # observe mode: calls in app_queue right now
        self.channels: dict[str, Channel] = {}
        self.device_states: dict[str, str] = {}  # devices set by `set_device_state` (DeviceStateList)
        self.ami_monitors: set[str] = set()  # channels recorded by the MixMonitor action
        self.epoch = int(time.time())
        self.group: asyncio.TaskGroup | None = None  # set by SimulatedPbx.run(): every call is its task
        self.monitors = MixMonitors(speed)  # MixMonitor files being written
        self.cdr = cdr
        self._seq = 0
        self._uid = 0
        self._bridge_seq = 0

    def send_event(self, event: str, privilege: str, fields: dict[str, str]) -> None:
        self._emit(event, {"Privilege": privilege, **fields})

    def set_device_state(self, device: str, state: str) -> None:
        """A phone changes state outside Hotline's calls (the agent picks up to call a
        colleague, hangs up): DeviceStateChange as Asterisk sends it, kept for DeviceStateList.
        `state` is Asterisk's name: NOT_INUSE, INUSE, RINGING, UNAVAILABLE, ..."""
        self.device_states[device] = state
        self.send_event("DeviceStateChange", "call,all", {"Device": device, "State": state})

    def agent_behaviour(self, agent: str) -> AgentBehaviour:
        return self.agents.get(agent, AgentBehaviour())

    def level2_behaviour(self, exten: str) -> AgentBehaviour:
        """A second-level agent in [level2] (transfer targets 2xxx): rings 1 s, talks 60 s."""
        return self.agents.get(exten, AgentBehaviour(ring_s=1.0, talk_s=60.0))

    def spawn(self, coro: Awaitable[None], name: str) -> None:
        if self.group is None:
            raise RuntimeError("simulated PBX is not running")
        self.group.create_task(self._guard(coro, name), name=name)

    @staticmethod
    async def _guard(coro: Awaitable[None], name: str) -> None:
        # A broken call flow must not take the whole PBX (and the demo) down.
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("simulated PBX: %s failed", name)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)

    def queue_call_of(self, channel: Channel) -> QueueCallState | None:
        """The app_queue call `channel` is the caller or the connected agent leg of."""
        for call in self.queue_calls:
            if channel is call.caller or (call.agent_legs is not None and channel in call.agent_legs):
                return call
        return None

    # ---------------------------------------------------------------- call flows
    def new_channel(self, base: str, context: str, exten: str, linkedid: str | None = None) -> Channel:
        uniqueid = f"{self.epoch}.{self._uid}"
        self._uid += 1
        channel = Channel(
            name=base,
            uniqueid=uniqueid,
            linkedid=linkedid or uniqueid,
            context=context,
            exten=exten,
            created_at=time.time(),
        )
        self.channels[channel.name] = channel
        return channel

    def local_pair(self, exten: str, context: str, linkedid: str | None = None) -> tuple[Channel, Channel]:
        seq = f"{self._seq:08x}"
        self._seq += 1
        one = self.new_channel(f"Local/{exten}@{context}-{seq};1", context, exten, linkedid)
        two = self.new_channel(f"Local/{exten}@{context}-{seq};2", context, exten, one.linkedid)
        two.state = 4
        self.send_event("Newchannel", "call,all", one.fields())
        self.send_event("Newchannel", "call,all", two.fields())
        return one, two

    def set_callerid(self, channel: Channel, number: str, name: str) -> None:
        channel.cid_num, channel.cid_name = number, name
        self.send_event(
            "NewCallerid",
            "call,all",
            {**channel.fields(), "CID-CallingPres": "0 (Presentation Allowed, Not Screened)"},
        )

    def set_state(self, channel: Channel, state: int) -> None:
        channel.state = state
        if state == 6 and channel.answered_at is None:
            channel.answered_at = time.time()
        self.send_event("Newstate", "call,all", channel.fields())

    def hangup(self, channel: Channel, cause: int = 16, text: str = "Normal Clearing") -> None:
        if self.channels.pop(channel.name, None) is None:
            return
        self.send_event("Hangup", "call,all", {**channel.fields(), "Cause": str(cause), "Cause-txt": text})
        if self.cdr is not None:
            self.cdr.hangup(channel, time.time())
        # A MixMonitor still recording this channel (one the AMI action started) ends with it.
        self.ami_monitors.discard(channel.name)
        self.monitors.finish(channel.name, self.monitor_seconds(channel, channel.monitor_started))

    def bridge(self, *members: Channel) -> str:
        """A new basic bridge with `members` entering it in this order."""
        bridge_id = self.create_bridge()
        for member in members:
            self.enter_bridge(bridge_id, member)
        return bridge_id

    def create_bridge(self) -> str:
        self._bridge_seq += 1
        bridge_id = f"{secrets.token_hex(4)}-sim0-4000-8000-{self._bridge_seq:012x}"
        self.send_event("BridgeCreate", "call,all", self.bridge_fields(bridge_id))
        return bridge_id

    def enter_bridge(self, bridge_id: str, channel: Channel) -> None:
        for other in self.channels.values():
            if other.bridge == bridge_id and other is not channel:
                other.peer, channel.peer = other.peer or channel.name, channel.peer or other.name
        channel.bridge = bridge_id
        self.send_event("BridgeEnter", "call,all", {**self.bridge_fields(bridge_id), **channel.fields()})

    def bridge_fields(self, bridge_id: str, prefix: str = "") -> dict[str, str]:
        """The bridge block of an event (with the current channel count).

        `prefix`: "To"/"From" for BridgeMerge, "Orig"/"Second" for AttendedTransfer.
        """
        count = sum(1 for c in self.channels.values() if c.bridge == bridge_id)
        return {
            f"{prefix}BridgeUniqueid": bridge_id,
            f"{prefix}BridgeType": "basic",
            f"{prefix}BridgeTechnology": "simple_bridge",
            f"{prefix}BridgeCreator": UNKNOWN,
            f"{prefix}BridgeName": UNKNOWN,
            f"{prefix}BridgeNumChannels": str(count),
            f"{prefix}BridgeVideoSourceMode": "none",
        }

    def bridge_peers(self, channel: Channel) -> list[Channel]:
        """The other channels in `channel`'s bridge."""
        if channel.bridge is None:
            return []
        return [c for c in self.channels.values() if c.bridge == channel.bridge and c is not channel]

    def leave_bridge(self, channel: Channel) -> None:
        bridge_id = channel.bridge
        if bridge_id is None:
            return
        channel.bridge = None
        self.send_event("BridgeLeave", "call,all", {**self.bridge_fields(bridge_id), **channel.fields()})

    def destroy_bridge(self, bridge_id: str) -> None:
        self.send_event("BridgeDestroy", "call,all", self.bridge_fields(bridge_id))

    def partner(self, channel: Channel) -> Channel | None:
        """The other half of a Local channel (`...;1` <-> `...;2`), if it is still up."""
        base, sep, half = channel.name.rpartition(";")
        if not sep or half not in ("1", "2"):
            return None
        return self.channels.get(f"{base};{'2' if half == '1' else '1'}")

    # ---------------------------------------------------------------------- DTMF
    def _dtmf_legs(self, written: Channel) -> list[tuple[Channel, str]]:
        """Where a digit written to a Local half shows (07d): the other half receives it and,
        through a bridge, the peer sends it on to its own other half. No event on `written`."""
        inside = self.partner(written)
        if inside is None:
            return []
        legs = [(inside, "Received")]
        for peer in self.bridge_peers(inside):
            legs.append((peer, "Sent"))
            far = self.partner(peer)
            if far is not None:
                legs.append((far, "Received"))
        return legs

    async def play_dtmf(self, written: Channel, digit: str, duration_ms: int) -> None:
        """One digit written to `written` (SendDTMF of its dialplan, AMI PlayDTMF): DTMFBegin, DTMFEnd."""
        legs = self._dtmf_legs(written)
        for leg, direction in legs:
            self.send_event("DTMFBegin", "dtmf,all", {**leg.fields(), "Digit": digit, "Direction": direction})
        await self.sleep(duration_ms / 1000)
        for leg, direction in legs:
            if leg.name in self.channels:
                end = {"Digit": digit, "DurationMs": str(duration_ms), "Direction": direction}
                self.send_event("DTMFEnd", "dtmf,all", {**leg.fields(), **end})

    async def send_dtmf(self, written: Channel, digits: str, after_s: float, gap_s: float) -> None:
        """`Wait(after_s)` then `SendDTMF(digits, gap_s)` on `written` (100 ms tones), while it is up."""
        await self.sleep(after_s)
        for digit in digits:
            if written.name not in self.channels:
                return
            await self.play_dtmf(written, digit, int(Handset.TONE_S * 1000))
            await self.sleep(gap_s)

    def start_agent_dtmf(self, agent: str, agent_two: Channel) -> None:
        """An agent whose dialplan sends DTMF after answering (1012 in the sample dialplan)."""
        behaviour = self.agent_behaviour(agent)
        if behaviour.dtmf:
            send = self.send_dtmf(agent_two, behaviour.dtmf, behaviour.dtmf_after_s, 0.2)
            self.spawn(send, f"dtmf-{agent}")

    def answer_caller(
        self,
        exten: str,
        context: str,
        number: str,
        name: str,
        handset: str,
        action_id: str | None,
        variables: dict[str, str] | None = None,
    ) -> tuple[Channel, Channel]:
        """The Originate of a caller: the handset (`;1`, in [phones]) and the caller in the PBX (`;2`).

        The Originate's `Variable`s are set on both halves (VarSet on each, as in 07f's QTIMEOUT).
        """
        handset_leg, caller = self.local_pair(exten, context)
        for variable, value in (variables or {}).items():
            for leg in (handset_leg, caller):
                leg.variables[variable] = value
                self.send_event(
                    "VarSet", "dialplan,all", {**leg.fields(), "Variable": variable, "Value": value}
                )
        for leg in (handset_leg, caller):
            self.set_callerid(leg, number, name)
            leg.conn_num, leg.conn_name = number, name
        self.send_event(
            "DialBegin", "call,all", {**handset_leg.fields("Dest"), "DialString": f"{exten}@{context}"}
        )
        self.set_state(caller, 6)
        self.set_state(handset_leg, 6)
        self.send_event(
            "OriginateResponse",
            "call,all",
            {
                **({"ActionID": action_id} if action_id else {}),
                "Response": "Success",
                "Channel": handset_leg.name,
                "Context": PHONES_CONTEXT,
                "Exten": handset,
                "Reason": "4",
                "Uniqueid": handset_leg.uniqueid,
                "CallerIDNum": number,
                "CallerIDName": name,
            },
        )
        self.send_event("DialEnd", "call,all", {**handset_leg.fields("Dest"), "DialStatus": "ANSWER"})
        handset_leg.context, handset_leg.exten = PHONES_CONTEXT, handset
        phone = Handset.parse(handset)
        if phone.dtmf_after is not None:
            dtmf = self.send_dtmf(handset_leg, phone.digits, phone.dtmf_after, Handset.GAP_S)
            self.spawn(dtmf, f"dtmf-{number}")
        return handset_leg, caller

    def start_recording(self, caller: Channel) -> None:
        """`MixMonitor(${RECDIR}/${UNIQUEID}.wav)`: the file name is announced by VarSet, as on Asterisk."""
        caller.priority = 4
        self.mix_monitor(caller, self.recording_path(caller))

    def mix_monitor(self, channel: Channel, path: str) -> None:
        """MixMonitor on `channel`: VarSet MIXMONITOR_FILENAME, then MixMonitorStart (which names no file)."""
        channel.monitor, channel.monitor_started, channel.monitor_stopped = path, time.monotonic(), None
        self.send_event(
            "VarSet", "dialplan,all", {**channel.fields(), "Variable": "MIXMONITOR_FILENAME", "Value": path}
        )
        self.send_event("MixMonitorStart", "call,all", channel.fields())
        if self.recordings_dir is not None:  # written as the call goes, like format_wav (mixmonitor.py)
            self.monitors.start(channel.name, self.recordings_dir / Path(path).name)
            self.spawn(self.monitors.feed(channel.name, lambda: channel.monitor_stopped), "mixmonitor")

    @staticmethod
    def recording_path(caller: Channel) -> str:
        """The file name as the PBX announces it (VarSet MIXMONITOR_FILENAME), like the sample dialplan."""
        return f"{MONITOR_DIR}/{caller.uniqueid}.wav"

    async def write_recording(self, caller: Channel, started: float) -> None:
        """Write the call's WAV into `recordings_dir`, which stands for the PBX's monitor folder."""
        if self.recordings_dir is not None:
            seconds = self.monitor_seconds(caller, started)
            if not self.monitors.finish(caller.name, seconds):
                path = self.recordings_dir / f"{caller.uniqueid}.wav"
                await asyncio.to_thread(write_call_wav, path, seconds)

    def monitor_seconds(self, channel: Channel, started: float) -> float:
        """How much audio a recording of `channel` begun at `started` (monotonic) holds by now."""
        ended = channel.monitor_stopped or time.monotonic()  # StopMixMonitor ends the file early
        return min(max(0.5, (ended - started) * self.speed), 600.0)
