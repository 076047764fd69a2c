"""The simulated PBX: an AMI server on loopback and the call flows behind it.

Structured concurrency: `run()` owns one TaskGroup holding the TCP server, every
client session and every call in progress; cancelling `run()` ends them all.
Times in the dialplan (ring, talk) are divided by `speed`, so tests run a 14 s
call in a fraction of a second while the event order stays the real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from cti.ami.protocol import FrameSplitter
from cti.simulator.channels import UNKNOWN, Channel, Handset, parse_caller_id, seconds_or
from cti.simulator.observe import QUEUE_CONTEXT, TRANSFER_CONTEXT, QueueCall
from cti.simulator.queues import SimMember, SimQueue
from cti.simulator.wav import write_call_wav

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
WAIT_CONTEXT = "hotline-control"
MONITOR_DIR = "/var/spool/asterisk/monitor"  # ${RECDIR} of the sample dialplan
CONNECT_CONTEXT = "hotline-connect"
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class AgentBehaviour:
    """How a simulated agent phone behaves: rings `ring_s` then answers (None: never answers)."""

    ring_s: float | None = 2.0
    talk_s: float = 90.0  # agent hangs up after this long, unless the caller hangs up first
    dtmf: str = ""  # digits the agent's dialplan sends after answering (1012: "42#")
    dtmf_after_s: float = 2.0


def _encode_message(first_key: str, first_value: str, fields: dict[str, str]) -> bytes:
    lines = [f"{first_key}: {first_value}"]
    lines += [f"{k}: {v}" for k, v in fields.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


class _Session:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.authenticated = False
        self.events = True
        self.challenge: str | None = None

    def send(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)


class SimulatedPbx:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        username: str = "hotline",
        secret: str = "hotline-secret",
        agents: dict[str, AgentBehaviour] | None = None,
        speed: float = 1.0,
        recordings_dir: Path | None = None,
        queues: list[SimQueue] | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.host = host
        self._requested_port = port
        self.username = username
        self._secret = secret
        self.agents = dict(agents or {})
        self.speed = speed
        self.recordings_dir = recordings_dir
        self.port = 0
        self.queues: dict[str, SimQueue] = {q.name: q for q in queues or ()}
        self.queue_calls: set[QueueCall] = set()
        self.channels: dict[str, Channel] = {}
        self.actions_received: list[dict[str, str]] = []
        self.device_states: dict[str, str] = {}  # devices set by `set_device_state` (DeviceStateList)
        self._sessions: set[_Session] = set()
        self._group: asyncio.TaskGroup | None = None
        self._ready = asyncio.Event()
        self._seq = 0
        self._uid = 0
        self._epoch = int(time.time())
        self._bridge_seq = 0
        self._ami_monitors: set[str] = set()  # channels recorded by the MixMonitor action

    # ----------------------------------------------------------------- lifecycle
    async def run(self) -> None:
        """Serve until cancelled."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            # A plain callback that spawns into our TaskGroup: sessions are our tasks, ended with us.
            server = await asyncio.start_server(
                lambda r, w: self._spawn(self._serve_client(r, w), "ami-session"),
                self.host,
                self._requested_port,
            )
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            log.info("simulated PBX: AMI on %s:%d", self.host, self.port)
            try:
                async with server:
                    await asyncio.Future()  # until cancelled
            finally:
                self.drop_connections()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    def drop_connections(self) -> None:
        """Cut every AMI link (as a network failure would); calls go on."""
        for session in list(self._sessions):
            session.writer.close()
        self._sessions.clear()

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

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are to every logged-in client (to test clients against bad input)."""
        for session in list(self._sessions):
            if session.authenticated:
                session.send(data)

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        if self._group is None:
            raise RuntimeError("simulated PBX is not running")
        self._group.create_task(self._guard(coro, name), name=name)

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

    # -------------------------------------------------------------------- events
    def emit(self, event: str, fields: dict[str, str]) -> None:
        data = _encode_message("Event", event, fields)
        for session in list(self._sessions):
            if session.authenticated and session.events:
                session.send(data)

    def send_event(self, event: str, privilege: str, fields: dict[str, str]) -> None:
        self.emit(event, {"Privilege": privilege, **fields})

    # ------------------------------------------------------------------ sessions
    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(writer)
        self._sessions.add(session)
        splitter = FrameSplitter()
        splitter.banner = ""  # we are the server: no banner comes from the client
        writer.write(BANNER)
        try:
            while not writer.is_closing():
                data = await reader.read(65536)
                if not data:
                    break
                for frame in splitter.feed(data):
                    fields = _parse_action(frame)
                    if fields is None:
                        session.send(
                            _encode_message("Response", "Error", {"Message": "Missing action in request"})
                        )
                        continue
                    self._handle_action(session, fields)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._sessions.discard(session)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _respond(self, session: _Session, fields: dict[str, str], response: str, **extra: str) -> None:
        out: dict[str, str] = {}
        if "ActionID" in fields:
            out["ActionID"] = fields["ActionID"]
        out.update(extra)
        session.send(_encode_message("Response", response, out))

    def _handle_action(self, session: _Session, fields: dict[str, str]) -> None:
        action = fields.get("Action", "").lower()
        self.actions_received.append(fields)
        if action == "login":
            self._login(session, fields)
            return
        if action == "challenge":
            session.challenge = secrets.token_hex(8)
            self._respond(session, fields, "Success", Challenge=session.challenge)
            return
        if action == "logoff":
            self._respond(session, fields, "Goodbye", Message="Thanks for all the fish.")
            session.writer.close()
            return
        if not session.authenticated:
            self._respond(session, fields, "Error", Message="Permission denied")
            return
        handler: Callable[[_Session, dict[str, str]], None] | None = getattr(self, f"_action_{action}", None)
        if handler is None:
            self._respond(
                session,
                fields,
                "Error",
                Message=f"Invalid/unknown command: {fields.get('Action', '')}. "
                "Use Action: ListCommands to show available commands.",
            )
            return
        handler(session, fields)

    def _login(self, session: _Session, fields: dict[str, str]) -> None:
        ok = fields.get("Username") == self.username
        if fields.get("AuthType", "").lower() == "md5":
            expected = hashlib.md5(f"{session.challenge}{self._secret}".encode()).hexdigest()
            ok = ok and session.challenge is not None and fields.get("Key", "") == expected
        else:
            ok = ok and fields.get("Secret") == self._secret
        if not ok:
            self._respond(session, fields, "Error", Message="Authentication failed")
            return
        session.authenticated = True
        session.events = fields.get("Events", "on").lower() not in ("off", "no", "false")
        self._respond(session, fields, "Success", Message="Authentication accepted")
        peer = session.writer.get_extra_info("peername") or ("127.0.0.1", 0)
        booted = {"Uptime": str(int(time.time()) - self._epoch), "LastReload": "0", "Status": "Fully Booted"}
        session.send(_encode_message("Event", "FullyBooted", {"Privilege": "system,all", **booted}))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
        session.send(
            _encode_message(
                "Event",
                "SuccessfulAuth",
                {
                    "Privilege": "security,all",
                    "EventTV": stamp,
                    "Severity": "Informational",
                    "Service": "AMI",
                    "EventVersion": "1",
                    "AccountID": self.username,
                    "SessionID": f"0x{id(session):x}",
                    "LocalAddress": f"IPV4/TCP/{self.host}/{self.port}",
                    "RemoteAddress": f"IPV4/TCP/{peer[0]}/{peer[1]}",
                    "UsingPassword": "0",
                    "SessionTV": stamp,
                },
            )
        )

    # ------------------------------------------------------------------- actions
    def _action_ping(self, session: _Session, fields: dict[str, str]) -> None:
        self._respond(session, fields, "Success", Ping="Pong", Timestamp=f"{time.time():.6f}")

    def _action_originate(self, session: _Session, fields: dict[str, str]) -> None:
        target = fields.get("Channel", "")
        exten, _, context = target.removeprefix("Local/").partition("@")
        if fields.get("Application", "").lower() == "chanspy" and target.startswith("Local/"):
            self._respond(session, fields, "Success", Message="Originate successfully queued")
            spied = fields.get("Data", "").split(",", 1)[0]
            self._spawn(self._spy(exten, context, spied, fields.get("ActionID")), f"spy-{exten}")
            return
        observe = context == QUEUE_CONTEXT and exten in self.queues
        if not target.startswith("Local/") or not (observe or context == WAIT_CONTEXT):
            self._respond(session, fields, "Error", Message="Originate failed")
            return
        self._respond(session, fields, "Success", Message="Originate successfully queued")
        number, name = parse_caller_id(fields.get("CallerID", ""))
        handset = fields.get("Exten", "talk-60")
        action_id = fields.get("ActionID")
        variables = _variables(fields.get("Variable", ""))
        if observe:
            call = self._queue_call(self.queues[exten], number, name, handset, action_id, variables)
            self._spawn(call, f"call-{number}")
        else:
            call = self._inbound_call(exten, number, name, handset, action_id, variables)
            self._spawn(call, f"call-{number}")

    async def _spy(self, exten: str, context: str, spied_prefix: str, action_id: str | None) -> None:
        """Originate(Application: ChanSpy): ring the supervisor's phone, then spy on the agent's leg.

        Ends (ChanSpyStop, hangup) when the spied channel hangs up or after 60 s of nothing to spy on.
        """
        phone, spyer_leg = self.local_pair(exten, context)
        await self.sleep(1.0)  # the supervisor picks up
        self.set_state(spyer_leg, 6)
        self.set_state(phone, 6)
        self.send_event(
            "OriginateResponse",
            "call,all",
            {
                **({"ActionID": action_id} if action_id else {}),
                "Response": "Success",
                "Channel": phone.name,
                "Context": "",
                "Exten": "",
                "Reason": "4",
                "Uniqueid": phone.uniqueid,
                "CallerIDNum": UNKNOWN,
                "CallerIDName": UNKNOWN,
            },
        )
        phone.application, phone.app_data = "ChanSpy", f"{spied_prefix},q"
        spyee: Channel | None = None
        waited = time.monotonic()
        while (time.monotonic() - waited) * self.speed < 60.0 and phone.name in self.channels:
            current = next((c for c in self.channels.values() if c.name.startswith(spied_prefix + "-")), None)
            if spyee is None and current is not None:
                spyee = current
                self.send_event(
                    "ChanSpyStart", "call,all", {**phone.fields("Spyer"), **spyee.fields("Spyee")}
                )
            if spyee is not None and spyee.name not in self.channels:
                self.send_event("ChanSpyStop", "call,all", {**phone.fields("Spyer"), **spyee.fields("Spyee")})
                break
            await asyncio.sleep(0.01)
        self.hangup(phone)
        self.hangup(spyer_leg)

    async def _queue_call(
        self,
        queue: SimQueue,
        number: str,
        name: str,
        handset: str,
        action_id: str | None,
        variables: dict[str, str],
    ) -> None:
        call = QueueCall(self, queue)
        self.queue_calls.add(call)
        try:
            await call.run(number, name, handset, action_id, variables)
        finally:
            self.queue_calls.discard(call)

    def queue_call_of(self, channel: Channel) -> QueueCall | None:
        """The app_queue call `channel` is the caller or the connected agent leg of."""
        for call in self.queue_calls:
            if channel is call.caller or (call.agent_legs is not None and channel in call.agent_legs):
                return call
        return None

    # ------------------------------------------ app_queue members (observe mode)
    def _members(self, fields: dict[str, str]) -> list[tuple[SimQueue, SimMember]]:
        interface = fields.get("Interface", "")
        name = fields.get("Queue")
        queues = [q for q in self.queues.values() if not name or q.name == name]
        return [(q, m) for q in queues if (m := q.member(interface)) is not None]

    def _action_queuepause(self, session: _Session, fields: dict[str, str]) -> None:
        found = self._members(fields)
        paused = fields.get("Paused", "true").lower() in ("true", "1", "yes")
        if not found:
            self._respond(session, fields, "Error", Message="Interface not found")
            return
        word = "paused" if paused else "unpaused"
        self._respond(session, fields, "Success", Message=f"Interface {word} successfully")
        for queue, member in found:
            member.paused = paused
            member.reason = fields.get("Reason", "") if paused else ""
            if paused:
                member.last_pause = int(time.time())
            self.send_event("QueueMemberPause", "agent,all", member.fields(queue.name))

    def _action_queueadd(self, session: _Session, fields: dict[str, str]) -> None:
        queue = self.queues.get(fields.get("Queue", ""))
        interface = fields.get("Interface", "")
        if queue is None or not interface:
            self._respond(session, fields, "Error", Message="Unable to add interface: No such queue")
            return
        if queue.member(interface) is not None:
            self._respond(session, fields, "Error", Message="Unable to add interface: Already there")
            return
        paused = fields.get("Paused", "false").lower() in ("true", "1", "yes")
        member = SimMember(
            interface=interface,
            name=fields.get("MemberName", interface),
            penalty=int(fields.get("Penalty", "0") or 0),
            paused=paused,
            reason=fields.get("Reason", "") if paused else "",
            membership="dynamic",
        )
        if paused:
            member.last_pause = int(time.time())
        queue.members.append(member)
        self._respond(session, fields, "Success", Message="Added interface to queue")
        self.send_event("QueueMemberAdded", "agent,all", member.fields(queue.name))

    def _action_queueremove(self, session: _Session, fields: dict[str, str]) -> None:
        queue = self.queues.get(fields.get("Queue", ""))
        member = queue.member(fields.get("Interface", "")) if queue else None
        if queue is None or member is None:
            self._respond(session, fields, "Error", Message="Unable to remove interface: Not there")
            return
        queue.members.remove(member)
        self._respond(session, fields, "Success", Message="Removed interface from queue")
        self.send_event("QueueMemberRemoved", "agent,all", member.fields(queue.name))

    def _action_queuepenalty(self, session: _Session, fields: dict[str, str]) -> None:
        found = self._members(fields)
        penalty = fields.get("Penalty", "")
        if not found or not penalty.isdigit():
            self._respond(session, fields, "Error", Message="Invalid interface, queuename or penalty")
            return
        self._respond(session, fields, "Success", Message="Interface penalty set successfully")
        for queue, member in found:
            member.penalty = int(penalty)
            self.send_event("QueueMemberPenalty", "agent,all", member.fields(queue.name))

    def _action_queuememberringinuse(self, session: _Session, fields: dict[str, str]) -> None:
        found = self._members(fields)
        value = fields.get("RingInUse", "").lower()
        if not found or value not in _TRUE | _FALSE:
            self._respond(
                session, fields, "Error", Message="Invalid interface, queuename, or ringinuse value"
            )
            return
        self._respond(session, fields, "Success", Message="Interface ringinuse set successfully")
        for queue, member in found:
            member.ringinuse = value in _TRUE
            self.send_event("QueueMemberRinginuse", "agent,all", member.fields(queue.name))

    def _action_queuestatus(self, session: _Session, fields: dict[str, str]) -> None:
        action_id = {"ActionID": fields["ActionID"]} if "ActionID" in fields else {}
        wanted = fields.get("Queue")
        self._respond(session, fields, "Success", EventList="start", Message="Queue status will follow")
        items: list[tuple[str, dict[str, str]]] = []
        now = time.time()
        for queue in self.queues.values():
            if wanted and queue.name != wanted:
                continue
            items.append(("QueueParams", queue.params()))
            items += [("QueueMember", m.fields(queue.name, location_key="Location")) for m in queue.members]
            for position, name in enumerate(queue.waiting, start=1):
                channel = self.channels.get(name)
                if channel is not None:
                    items.append(("QueueEntry", _queue_entry(queue.name, position, channel, now)))
        for event, data in items:
            session.send(_encode_message("Event", event, {**data, **action_id}))
        done = {**action_id, "EventList": "Complete", "ListItems": str(len(items))}
        session.send(_encode_message("Event", "QueueStatusComplete", done))

    def _action_setvar(self, session: _Session, fields: dict[str, str]) -> None:
        channel = self.channels.get(fields.get("Channel", ""))
        if channel is None:
            self._respond(session, fields, "Error", Message="No such channel")
            return
        channel.variables[fields.get("Variable", "")] = fields.get("Value", "")
        self._respond(session, fields, "Success", Message="Variable Set")

    def _action_redirect(self, session: _Session, fields: dict[str, str]) -> None:
        channel = self.channels.get(fields.get("Channel", ""))
        if channel is None:
            self._respond(session, fields, "Error", Message="No such channel")
            return
        context, exten = fields.get("Context", ""), fields.get("Exten", "")
        call = self.queue_call_of(channel)
        # Observe mode: the queue caller, bridged with its agent, is sent to [transfer-targets] (07c).
        to_target = context == TRANSFER_CONTEXT and call is not None and channel is call.caller
        if not to_target and (context not in (CONNECT_CONTEXT, WAIT_CONTEXT) or channel.bridge is not None):
            self._respond(session, fields, "Error", Message="Redirect failed")
            return
        if to_target and (channel.bridge is None or not exten):
            self._respond(session, fields, "Error", Message="Redirect failed")
            return
        self._respond(session, fields, "Success", Message="Redirect successful")
        # Taken up by the call's flow: a caller in Dial() leaves it (the ring is cancelled).
        channel.variables["__redirect"] = f"{context},{exten}"

    # ----------------------------------------------- in-call actions (07a-07e)
    def _action_playdtmf(self, session: _Session, fields: dict[str, str]) -> None:
        channel = self.channels.get(fields.get("Channel", ""))
        digit = fields.get("Digit", "")
        if channel is None:
            self._respond(session, fields, "Error", Message="Channel not found")
            return
        if not digit:
            self._respond(session, fields, "Error", Message="No digit specified")
            return
        duration = fields.get("Duration", "")
        self._respond(session, fields, "Success", Message="DTMF successfully queued")
        self._spawn(self.play_dtmf(channel, digit[0], int(duration) if duration.isdigit() else 100), "dtmf")

    def _action_userevent(self, session: _Session, fields: dict[str, str]) -> None:
        """Broadcast as `Event: UserEvent` with every header of the action but `Action` (07d)."""
        if not fields.get("UserEvent"):
            self._respond(session, fields, "Error", Message="Missing UserEvent")
            return
        self._respond(session, fields, "Success", Message="Event Sent")
        self.send_event("UserEvent", "user,all", {k: v for k, v in fields.items() if k != "Action"})

    def _action_mixmonitor(self, session: _Session, fields: dict[str, str]) -> None:
        channel = self.channels.get(fields.get("Channel", ""))
        if channel is None:
            self._respond(session, fields, "Error", Message="No such channel")
            return
        self._respond(session, fields, "Success")
        self._ami_monitors.add(channel.name)
        self.mix_monitor(channel, fields.get("File") or f"{MONITOR_DIR}/{channel.uniqueid}.wav")

    def _action_mixmonitormute(self, session: _Session, fields: dict[str, str]) -> None:
        channel = self.channels.get(fields.get("Channel", ""))
        if channel is None:
            self._respond(session, fields, "Error", Message="No such channel")
            return
        if not channel.monitor:
            self._respond(session, fields, "Error", Message="Cannot set mute flag")
            return
        state = "1" if fields.get("State", "").lower() in _TRUE else "0"
        self._respond(session, fields, "Success")
        mute = {"Direction": fields.get("Direction", "both"), "State": state}
        self.send_event("MixMonitorMute", "call,all", {**channel.fields(), **mute})

    def _action_stopmixmonitor(self, session: _Session, fields: dict[str, str]) -> None:
        """MixMonitorStop: raised only by this explicit stop, never at hangup (07e)."""
        channel = self.channels.get(fields.get("Channel", ""))
        if channel is None:
            self._respond(session, fields, "Error", Message="No such channel")
            return
        if not channel.monitor:
            self._respond(session, fields, "Error", Message="Could not stop MixMonitor")
            return
        self._respond(session, fields, "Success")
        channel.monitor, channel.monitor_stopped = "", time.monotonic()
        self.send_event("MixMonitorStop", "call,all", channel.fields())

    def _transfer_request(self, session: _Session, fields: dict[str, str], flag: str, done: str) -> None:
        """BlindTransfer/Atxfer from the agent leg bridged by app_queue: the call's flow carries it out."""
        channel = self.channels.get(fields.get("Channel", ""))
        exten = fields.get("Exten", "")
        if channel is None:
            self._respond(session, fields, "Error", Message="Channel specified does not exist")
            return
        if not exten:
            self._respond(session, fields, "Error", Message="No extension specified")
            return
        call = self.queue_call_of(channel)
        if call is None or call.agent_legs is None or channel is not call.agent_legs[0] or not channel.bridge:
            self._respond(session, fields, "Error", Message="Transfer failed")
            return
        self._respond(session, fields, "Success", Message=done)
        channel.variables[flag] = f"{fields.get('Context') or channel.context},{exten}"

    def _action_blindtransfer(self, session: _Session, fields: dict[str, str]) -> None:
        self._transfer_request(session, fields, "__blindxfer", "Transfer succeeded")

    def _action_atxfer(self, session: _Session, fields: dict[str, str]) -> None:
        self._transfer_request(session, fields, "__atxfer", "Atxfer successfully queued")

    def _action_hangup(self, session: _Session, fields: dict[str, str]) -> None:
        channel = self.channels.get(fields.get("Channel", ""))
        if channel is None:
            self._respond(session, fields, "Error", Message="No such channel")
            return
        channel.variables["__hangup"] = "1"
        self._respond(session, fields, "Success", Message="Channel Hungup")

    def _action_coreshowchannels(self, session: _Session, fields: dict[str, str]) -> None:
        action_id = {"ActionID": fields["ActionID"]} if "ActionID" in fields else {}
        self._respond(session, fields, "Success", EventList="start", Message="Channels will follow")
        now = time.time()
        for channel in list(self.channels.values()):
            data = {
                **action_id,
                **channel.fields(),
                "Application": channel.application,
                "ApplicationData": channel.app_data,
                "Duration": _hms(now - channel.created_at),
                "BridgeId": channel.bridge or "",
            }
            session.send(_encode_message("Event", "CoreShowChannel", data))
        session.send(
            _encode_message(
                "Event",
                "CoreShowChannelsComplete",
                {**action_id, "EventList": "Complete", "ListItems": str(len(self.channels))},
            )
        )

    def _action_devicestatelist(self, session: _Session, fields: dict[str, str]) -> None:
        """res_manager_devicestate's list: one DeviceStateChange per known device."""
        action_id = {"ActionID": fields["ActionID"]} if "ActionID" in fields else {}
        self._respond(
            session, fields, "Success", EventList="start", Message="Device State Changes will follow"
        )
        for device, state in self.device_states.items():
            session.send(
                _encode_message("Event", "DeviceStateChange", {**action_id, "Device": device, "State": state})
            )
        session.send(
            _encode_message(
                "Event",
                "DeviceStateListComplete",
                {**action_id, "EventList": "Complete", "ListItems": str(len(self.device_states))},
            )
        )

    # ---------------------------------------------------------------- call flows
    def _new_channel(self, base: str, context: str, exten: str, linkedid: str | None = None) -> Channel:
        uniqueid = f"{self._epoch}.{self._uid}"
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
        one = self._new_channel(f"Local/{exten}@{context}-{seq};1", context, exten, linkedid)
        two = self._new_channel(f"Local/{exten}@{context}-{seq};2", context, exten, one.linkedid)
        two.state = 4
        self.send_event("Newchannel", "call,all", one.fields())
        self.send_event("Newchannel", "call,all", two.fields())
        return one, two

    def _set_callerid(self, channel: Channel, number: str, name: str) -> None:
        channel.cid_num, channel.cid_name = number, name
        self.send_event(
            "NewCallerid",
            "call,all",
            {**channel.fields(), "CID-CallingPres": "0 (Presentation Allowed, Not Screened)"},
        )

    def set_state(self, channel: Channel, state: int) -> None:
        channel.state = state
        self.send_event("Newstate", "call,all", channel.fields())

    def hangup(self, channel: Channel, cause: int = 16, text: str = "Normal Clearing") -> None:
        if self.channels.pop(channel.name, None) is None:
            return
        self.send_event("Hangup", "call,all", {**channel.fields(), "Cause": str(cause), "Cause-txt": text})
        if channel.name in self._ami_monitors:  # a MixMonitor started by the AMI action ends with its channel
            self._ami_monitors.discard(channel.name)
            if self.recordings_dir is not None and channel.monitor:
                seconds = (time.monotonic() - channel.monitor_started) * self.speed
                path = self.recordings_dir / Path(channel.monitor).name
                self._spawn(
                    asyncio.to_thread(write_call_wav, path, min(max(0.5, seconds), 600.0)), "mixmonitor"
                )

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
            self._spawn(send, f"dtmf-{agent}")

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
            self._set_callerid(leg, number, name)
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
                "Context": "phones",
                "Exten": handset,
                "Reason": "4",
                "Uniqueid": handset_leg.uniqueid,
                "CallerIDNum": number,
                "CallerIDName": name,
            },
        )
        self.send_event("DialEnd", "call,all", {**handset_leg.fields("Dest"), "DialStatus": "ANSWER"})
        handset_leg.context, handset_leg.exten = "phones", handset
        phone = Handset.parse(handset)
        if phone.dtmf_after is not None:
            dtmf = self.send_dtmf(handset_leg, phone.digits, phone.dtmf_after, Handset.GAP_S)
            self._spawn(dtmf, f"dtmf-{number}")
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

    @staticmethod
    def recording_path(caller: Channel) -> str:
        """The file name as the PBX announces it (VarSet MIXMONITOR_FILENAME), like the sample dialplan."""
        return f"{MONITOR_DIR}/{caller.uniqueid}.wav"

    async def write_recording(self, caller: Channel, started: float) -> None:
        """Write the call's WAV into `recordings_dir`, which stands for the PBX's monitor folder."""
        if self.recordings_dir is not None:
            ended = caller.monitor_stopped or time.monotonic()  # StopMixMonitor ends the file early
            seconds = max(0.5, (ended - started) * self.speed)
            path = self.recordings_dir / f"{caller.uniqueid}.wav"
            await asyncio.to_thread(write_call_wav, path, min(seconds, 600.0))

    async def _inbound_call(
        self,
        queue: str,
        number: str,
        name: str,
        handset: str,
        action_id: str | None,
        variables: dict[str, str] | None = None,
    ) -> None:
        """A caller dialled into `[hotline-control]` (see config/asterisk/extensions.conf)."""
        handset_leg, caller = self.answer_caller(
            queue, WAIT_CONTEXT, number, name, handset, action_id, variables
        )
        started = time.monotonic()
        self.start_recording(caller)
        caller.priority = 5
        self.send_event(
            "UserEvent",
            "user,all",
            {
                **caller.fields(),
                "UserEvent": "HotlineWaiting",
                "CallerNum": number,
                "WaitUniqueid": caller.uniqueid,
                "Queue": queue,
            },
        )
        caller.priority, caller.application, caller.app_data = 6, "MusicOnHold", "default,300"
        patience = Handset.parse(handset).hangup_after
        agent_legs: list[Channel] = []
        answered_at: float | None = None
        agent_hangs_up_at: float | None = None
        try:
            while True:
                elapsed = (time.monotonic() - started) * self.speed
                if caller.variables.pop("__hangup", None) or elapsed >= patience:
                    break
                redirect = caller.variables.pop("__redirect", None)
                if redirect is not None and redirect.startswith(CONNECT_CONTEXT):
                    agent_legs, answered_at, agent_hangs_up_at = [], None, None
                    agent = caller.variables.get("HOTLINE_AGENT", "")
                    legs = await self._dial_agent(caller, agent)
                    if legs is not None:
                        agent_legs = list(legs)
                        answered_at = time.monotonic()
                        agent_hangs_up_at = answered_at + self.agent_behaviour(agent).talk_s / self.speed
                    continue
                if redirect is not None:  # back to [hotline-control] rewait: music again, no new UserEvent
                    caller.context, caller.exten, caller.priority = WAIT_CONTEXT, "wait", 6
                if agent_legs and any(leg.variables.pop("__hangup", None) for leg in agent_legs):
                    break
                if agent_hangs_up_at is not None and time.monotonic() >= agent_hangs_up_at:
                    break
                await asyncio.sleep(0.01)
        finally:
            await self._finish_call(handset_leg, caller, agent_legs, started)

    async def _dial_agent(self, caller: Channel, agent: str) -> tuple[Channel, Channel] | None:
        """`Dial(Local/${HOTLINE_AGENT}@agents/n,${HOTLINE_RING_TIMEOUT})`: ring, bridge on answer.

        Not answered in time (DialEnd NOANSWER) or cancelled by a Redirect of the
        caller or a Hangup of the agent leg (DialEnd CANCEL): the agent legs hang up
        and the caller goes back to waiting (`rewait` in the sample dialplan).
        """
        timeout = seconds_or(caller.variables.get("HOTLINE_RING_TIMEOUT"), 30.0)
        caller.context, caller.exten = CONNECT_CONTEXT, "agent"
        caller.priority, caller.application, caller.app_data = (
            2,
            "Dial",
            f"Local/{agent}@agents/n,{timeout:g}",
        )
        agent_one, agent_two = self.local_pair(agent, "agents", linkedid=caller.linkedid)
        self.send_event(
            "DialBegin",
            "call,all",
            {**caller.fields(), **agent_one.fields("Dest"), "DialString": f"{agent}@agents/n"},
        )
        self.set_state(agent_one, 5)
        ring_s = self.agent_behaviour(agent).ring_s
        began = time.monotonic()
        status = "ANSWER"
        while True:
            rang = (time.monotonic() - began) * self.speed
            caller_left = bool(caller.variables.get("__hangup") or caller.variables.get("__redirect"))
            agent_hung_up = any(leg.variables.pop("__hangup", None) for leg in (agent_one, agent_two))
            if caller_left or agent_hung_up:
                status = "CANCEL"
            elif ring_s is not None and rang >= ring_s and ring_s < timeout:
                status = "ANSWER"
            elif rang >= timeout:
                status = "NOANSWER"
            else:
                await asyncio.sleep(0.01)
                continue
            break
        if status != "ANSWER":
            self.send_event(
                "DialEnd", "call,all", {**caller.fields(), **agent_one.fields("Dest"), "DialStatus": status}
            )
            cause = (19, "No user responding") if status == "NOANSWER" else (16, "Normal Clearing")
            self.hangup(agent_one, *cause)
            self.hangup(agent_two, *cause)
            caller.context, caller.exten, caller.priority = WAIT_CONTEXT, "wait", 6
            caller.application, caller.app_data = "MusicOnHold", "default,300"
            return None
        self.set_state(agent_two, 6)
        self.set_state(agent_one, 6)
        self.send_event(
            "DialEnd", "call,all", {**caller.fields(), **agent_one.fields("Dest"), "DialStatus": "ANSWER"}
        )
        agent_one.cid_num, agent_one.exten = "agent", ""
        self.bridge(agent_one, caller)
        self.start_agent_dtmf(agent, agent_two)
        return agent_one, agent_two

    async def _finish_call(
        self, handset_leg: Channel, caller: Channel, agent_legs: list[Channel], started: float
    ) -> None:
        await self.write_recording(caller, started)
        # Order of the recorded Dial() teardown (07g): handset, bridge legs, agent legs, caller, bridge.
        bridge_id = caller.bridge
        self.hangup(handset_leg)
        self.leave_bridge(caller)
        for leg in agent_legs:
            self.leave_bridge(leg)
        for leg in agent_legs:
            self.hangup(leg)
        self.hangup(caller)
        if bridge_id is not None:
            self.destroy_bridge(bridge_id)


def _hms(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _variables(value: str) -> dict[str, str]:
    """Originate's `Variable: A=1,B=2` (several `Variable` lines arrive joined by commas)."""
    pairs = (item.partition("=") for item in value.split(",") if item.strip())
    return {k.strip(): v.strip() for k, sep, v in pairs if sep and k.strip()}


def _parse_action(frame: bytes) -> dict[str, str] | None:
    """Parse an action sent by a client. Returns None when it has no `Action:` line."""
    fields: dict[str, str] = {}
    for line in frame.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep and key and key not in fields:
            fields[key.strip()] = value.strip()
        elif sep and key == "Variable":
            fields[key] += "," + value.strip()
    return fields if "Action" in fields else None


__all__ = ["AgentBehaviour", "SimulatedPbx"]


def _queue_entry(queue: str, position: int, channel: Channel, now: float) -> dict[str, str]:
    return {
        "Queue": queue,
        "Position": str(position),
        "Channel": channel.name,
        "Uniqueid": channel.uniqueid,
        "CallerIDNum": channel.cid_num,
        "CallerIDName": channel.cid_name,
        "ConnectedLineNum": channel.conn_num,
        "ConnectedLineName": channel.conn_name,
        "Wait": str(int(now - channel.created_at)),
        "Priority": "0",
    }
