"""The AMI actions the simulated PBX carries out, as Asterisk 22 answers them.

Each handler answers the action (`Response: Success` / `Error` with Asterisk's
message) and then changes the PBX (`cti.simulator.core`): Originate starts a
call in one of the dialplans (`control`, `observe`), Redirect and the transfer
actions leave a flag on the channel that the call's flow takes up, list
actions (QueueStatus, CoreShowChannels, DeviceStateList) send their items to
the asking session only. `table()` is what the AMI server dispatches on.
"""

from __future__ import annotations

import asyncio
import time

from cti.ami.dialplan import (
    CONNECT_CONTEXT,
    MONITOR_DIR,
    OBSERVE_CONTEXT,
    QUEUE_CONTEXT,
    TRANSFER_TARGETS_CONTEXT,
    WAIT_CONTEXT,
)
from cti.simulator.ami_server import ActionHandler, AmiSession
from cti.simulator.channels import UNKNOWN, Channel, parse_caller_id
from cti.simulator.control import ControlCall
from cti.simulator.core import PbxCore
from cti.simulator.observe import QueueCall
from cti.simulator.queues import SimMember, SimQueue

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class PbxActions:
    def __init__(self, core: PbxCore) -> None:
        self.core = core

    def table(self) -> dict[str, ActionHandler]:
        """Lower-case action name -> handler (Login, Challenge and Logoff are the server's own)."""
        return {
            "ping": self.ping,
            "originate": self.originate,
            "queuepause": self.queuepause,
            "queueadd": self.queueadd,
            "queueremove": self.queueremove,
            "queuepenalty": self.queuepenalty,
            "queuememberringinuse": self.queuememberringinuse,
            "queuestatus": self.queuestatus,
            "setvar": self.setvar,
            "getvar": self.getvar,
            "redirect": self.redirect,
            "playdtmf": self.playdtmf,
            "userevent": self.userevent,
            "mixmonitor": self.mixmonitor,
            "mixmonitormute": self.mixmonitormute,
            "stopmixmonitor": self.stopmixmonitor,
            "blindtransfer": self.blindtransfer,
            "atxfer": self.atxfer,
            "hangup": self.hangup,
            "coreshowchannels": self.coreshowchannels,
            "devicestatelist": self.devicestatelist,
        }

    def ping(self, session: AmiSession, fields: dict[str, str]) -> None:
        session.respond(fields, "Success", Ping="Pong", Timestamp=f"{time.time():.6f}")

    def originate(self, session: AmiSession, fields: dict[str, str]) -> None:
        target = fields.get("Channel", "")
        exten, _, context = target.removeprefix("Local/").partition("@")
        if fields.get("Application", "").lower() == "chanspy" and target.startswith("Local/"):
            session.respond(fields, "Success", Message="Originate successfully queued")
            data = fields.get("Data", "")
            self.core.spawn(self._spy(exten, context, data, fields.get("ActionID")), f"spy-{exten}")
            return
        observe = context in (QUEUE_CONTEXT, OBSERVE_CONTEXT) and exten in self.core.queues
        if not target.startswith("Local/"):
            session.respond(fields, "Error", Message="Originate failed")
            return
        session.respond(fields, "Success", Message="Originate successfully queued")
        if not (observe or context == WAIT_CONTEXT):  # as Asterisk: taken, then failed (no such exten)
            self.core.send_event(
                "OriginateResponse",
                "call,all",
                {
                    **({"ActionID": fields["ActionID"]} if fields.get("ActionID") else {}),
                    "Response": "Failure",
                    "Channel": target,
                    "Context": fields.get("Context", ""),
                    "Exten": fields.get("Exten", ""),
                    "Application": "",
                    "Data": "",
                    "Reason": "0",
                    "Uniqueid": "<null>",
                    "CallerIDNum": "<unknown>",
                    "CallerIDName": "<unknown>",
                },
            )
            return
        number, name = parse_caller_id(fields.get("CallerID", ""))
        handset = fields.get("Exten", "talk-60")
        action_id = fields.get("ActionID")
        variables = _variables(fields.get("Variable", ""))
        if observe:
            call = self._queue_call(self.core.queues[exten], number, name, handset, action_id, variables)
            self.core.spawn(call, f"call-{number}")
        else:
            waiting = ControlCall(self.core).run(exten, number, name, handset, action_id, variables)
            self.core.spawn(waiting, f"call-{number}")

    async def _spy(self, exten: str, context: str, data: str, action_id: str | None) -> None:
        """Originate(Application: ChanSpy): ring the supervisor's phone, then spy as Asterisk's ChanSpy.

        `data` is ChanSpy's `<chanprefix>,<options>`: any channel whose name starts with the prefix
        is spied on (as app_chanspy's iterator by name prefix). Without `E` a spy whose channel
        hangs up goes on to the next matching channel, as Asterisk 22.10.1 did (it spied on the
        agent's next caller, tests/fixtures/live-22.10.1/control-spy-linger.ami); with `E` it ends
        then, with `S` it ends when nothing matches. The supervisor's phone hangs up after 60 s.
        """
        spied_prefix, _, options = data.partition(",")
        phone, spyer_leg = self.core.local_pair(exten, context)
        await self.core.sleep(1.0)  # the supervisor picks up
        self.core.set_state(spyer_leg, 6)
        self.core.set_state(phone, 6)
        self.core.send_event(
            "OriginateResponse",
            "call,all",
            {
                **({"ActionID": action_id} if action_id else {}),
                "Response": "Success",
                "Channel": phone.name,
                "Application": "ChanSpy",
                "Data": data,
                "Reason": "4",
                "Uniqueid": phone.uniqueid,
                "CallerIDNum": UNKNOWN,
                "CallerIDName": UNKNOWN,
            },
        )
        phone.application, phone.app_data = "ChanSpy", data
        spyee: Channel | None = None
        answered = time.monotonic()
        while (time.monotonic() - answered) * self.core.speed < 60.0 and phone.name in self.core.channels:
            if spyee is not None and spyee.name not in self.core.channels:
                self.core.send_event(
                    "ChanSpyStop", "call,all", {**phone.fields("Spyer"), **spyee.fields("Spyee")}
                )
                spyee = None
                if "E" in options:
                    break
            if spyee is None:
                spyee = next(
                    (
                        c
                        for c in self.core.channels.values()
                        if c.name.startswith(spied_prefix) and c is not phone and c is not spyer_leg
                    ),
                    None,
                )
                if spyee is None and "S" in options:
                    break
                if spyee is not None:
                    self.core.send_event(
                        "ChanSpyStart", "call,all", {**phone.fields("Spyer"), **spyee.fields("Spyee")}
                    )
            await asyncio.sleep(0.01)
        self.core.hangup(phone)
        self.core.hangup(spyer_leg)

    async def _queue_call(
        self,
        queue: SimQueue,
        number: str,
        name: str,
        handset: str,
        action_id: str | None,
        variables: dict[str, str],
    ) -> None:
        call = QueueCall(self.core, queue)
        self.core.queue_calls.add(call)
        try:
            await call.run(number, name, handset, action_id, variables)
        finally:
            self.core.queue_calls.discard(call)

    # ------------------------------------------ app_queue members (observe mode)
    def _members(self, fields: dict[str, str]) -> list[tuple[SimQueue, SimMember]]:
        interface = fields.get("Interface", "")
        name = fields.get("Queue")
        queues = [q for q in self.core.queues.values() if not name or q.name == name]
        return [(q, m) for q in queues if (m := q.member(interface)) is not None]

    def queuepause(self, session: AmiSession, fields: dict[str, str]) -> None:
        found = self._members(fields)
        paused = fields.get("Paused", "true").lower() in ("true", "1", "yes")
        if not found:
            session.respond(fields, "Error", Message="Interface not found")
            return
        word = "paused" if paused else "unpaused"
        session.respond(fields, "Success", Message=f"Interface {word} successfully")
        for queue, member in found:
            member.paused = paused
            member.reason = fields.get("Reason", "") if paused else ""
            if paused:
                member.last_pause = int(time.time())
            self.core.send_event("QueueMemberPause", "agent,all", member.fields(queue.name))

    def queueadd(self, session: AmiSession, fields: dict[str, str]) -> None:
        queue = self.core.queues.get(fields.get("Queue", ""))
        interface = fields.get("Interface", "")
        if queue is None or not interface:
            session.respond(fields, "Error", Message="Unable to add interface: No such queue")
            return
        if queue.member(interface) is not None:
            session.respond(fields, "Error", Message="Unable to add interface: Already there")
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
        session.respond(fields, "Success", Message="Added interface to queue")
        self.core.send_event("QueueMemberAdded", "agent,all", member.fields(queue.name))

    def queueremove(self, session: AmiSession, fields: dict[str, str]) -> None:
        queue = self.core.queues.get(fields.get("Queue", ""))
        member = queue.member(fields.get("Interface", "")) if queue else None
        if queue is None or member is None:
            session.respond(fields, "Error", Message="Unable to remove interface: Not there")
            return
        queue.members.remove(member)
        session.respond(fields, "Success", Message="Removed interface from queue")
        self.core.send_event("QueueMemberRemoved", "agent,all", member.fields(queue.name))

    def queuepenalty(self, session: AmiSession, fields: dict[str, str]) -> None:
        found = self._members(fields)
        penalty = fields.get("Penalty", "")
        if not found or not penalty.isdigit():
            session.respond(fields, "Error", Message="Invalid interface, queuename or penalty")
            return
        session.respond(fields, "Success", Message="Interface penalty set successfully")
        for queue, member in found:
            member.penalty = int(penalty)
            self.core.send_event("QueueMemberPenalty", "agent,all", member.fields(queue.name))

    def queuememberringinuse(self, session: AmiSession, fields: dict[str, str]) -> None:
        found = self._members(fields)
        value = fields.get("RingInUse", "").lower()
        if not found or value not in _TRUE | _FALSE:
            session.respond(fields, "Error", Message="Invalid interface, queuename, or ringinuse value")
            return
        session.respond(fields, "Success", Message="Interface ringinuse set successfully")
        for queue, member in found:
            member.ringinuse = value in _TRUE
            self.core.send_event("QueueMemberRinginuse", "agent,all", member.fields(queue.name))

    def queuestatus(self, session: AmiSession, fields: dict[str, str]) -> None:
        action_id = {"ActionID": fields["ActionID"]} if "ActionID" in fields else {}
        wanted = fields.get("Queue")
        session.respond(fields, "Success", EventList="start", Message="Queue status will follow")
        items: list[tuple[str, dict[str, str]]] = []
        now = time.time()
        for queue in self.core.queues.values():
            if wanted and queue.name != wanted:
                continue
            items.append(("QueueParams", queue.params()))
            items += [("QueueMember", m.fields(queue.name, location_key="Location")) for m in queue.members]
            for position, name in enumerate(queue.waiting, start=1):
                channel = self.core.channels.get(name)
                if channel is not None:
                    items.append(("QueueEntry", _queue_entry(queue.name, position, channel, now)))
        for event, data in items:
            session.send_event(event, {**data, **action_id})
        done = {**action_id, "EventList": "Complete", "ListItems": str(len(items))}
        session.send_event("QueueStatusComplete", done)

    def setvar(self, session: AmiSession, fields: dict[str, str]) -> None:
        channel = self.core.channels.get(fields.get("Channel", ""))
        if channel is None:
            session.respond(fields, "Error", Message="No such channel")
            return
        channel.variables[fields.get("Variable", "")] = fields.get("Value", "")
        session.respond(fields, "Success", Message="Variable Set")

    def getvar(self, session: AmiSession, fields: dict[str, str]) -> None:
        """As Asterisk 22: the channel's variable (an unset one is an empty Value)."""
        channel = self.core.channels.get(fields.get("Channel", ""))
        if channel is None:
            session.respond(fields, "Error", Message="No such channel")
            return
        name = fields.get("Variable", "")
        session.respond(fields, "Success", Variable=name, Value=channel.variables.get(name, ""))

    def redirect(self, session: AmiSession, fields: dict[str, str]) -> None:
        channel = self.core.channels.get(fields.get("Channel", ""))
        if channel is None:
            session.respond(fields, "Error", Message="No such channel")
            return
        context, exten = fields.get("Context", ""), fields.get("Exten", "")
        call = self.core.queue_call_of(channel)
        # Observe mode: the queue caller, bridged with its agent, is sent to [transfer-targets] (07c).
        to_target = context == TRANSFER_TARGETS_CONTEXT and call is not None and channel is call.caller
        if not to_target and (context not in (CONNECT_CONTEXT, WAIT_CONTEXT) or channel.bridge is not None):
            session.respond(fields, "Error", Message="Redirect failed")
            return
        if to_target and (channel.bridge is None or not exten):
            session.respond(fields, "Error", Message="Redirect failed")
            return
        session.respond(fields, "Success", Message="Redirect successful")
        # Taken up by the call's flow: a caller in Dial() leaves it (the ring is cancelled).
        channel.variables["__redirect"] = f"{context},{exten}"

    # ----------------------------------------------- in-call actions (07a-07e)
    def playdtmf(self, session: AmiSession, fields: dict[str, str]) -> None:
        channel = self.core.channels.get(fields.get("Channel", ""))
        digit = fields.get("Digit", "")
        if channel is None:
            session.respond(fields, "Error", Message="Channel not found")
            return
        if not digit:
            session.respond(fields, "Error", Message="No digit specified")
            return
        duration = fields.get("Duration", "")
        session.respond(fields, "Success", Message="DTMF successfully queued")
        self.core.spawn(
            self.core.play_dtmf(channel, digit[0], int(duration) if duration.isdigit() else 100), "dtmf"
        )

    def userevent(self, session: AmiSession, fields: dict[str, str]) -> None:
        """Broadcast as `Event: UserEvent` with every header of the action but `Action` (07d)."""
        if not fields.get("UserEvent"):
            session.respond(fields, "Error", Message="Missing UserEvent")
            return
        session.respond(fields, "Success", Message="Event Sent")
        self.core.send_event("UserEvent", "user,all", {k: v for k, v in fields.items() if k != "Action"})

    def mixmonitor(self, session: AmiSession, fields: dict[str, str]) -> None:
        channel = self.core.channels.get(fields.get("Channel", ""))
        if channel is None:
            session.respond(fields, "Error", Message="No such channel")
            return
        session.respond(fields, "Success")
        self.core.ami_monitors.add(channel.name)
        self.core.mix_monitor(channel, fields.get("File") or f"{MONITOR_DIR}/{channel.uniqueid}.wav")

    def mixmonitormute(self, session: AmiSession, fields: dict[str, str]) -> None:
        channel = self.core.channels.get(fields.get("Channel", ""))
        if channel is None:
            session.respond(fields, "Error", Message="No such channel")
            return
        if not channel.monitor:
            session.respond(fields, "Error", Message="Cannot set mute flag")
            return
        state = "1" if fields.get("State", "").lower() in _TRUE else "0"
        session.respond(fields, "Success")
        mute = {"Direction": fields.get("Direction", "both"), "State": state}
        self.core.send_event("MixMonitorMute", "call,all", {**channel.fields(), **mute})

    def stopmixmonitor(self, session: AmiSession, fields: dict[str, str]) -> None:
        """MixMonitorStop: raised only by this explicit stop, never at hangup (07e)."""
        channel = self.core.channels.get(fields.get("Channel", ""))
        if channel is None:
            session.respond(fields, "Error", Message="No such channel")
            return
        if not channel.monitor:
            session.respond(fields, "Error", Message="Could not stop MixMonitor")
            return
        session.respond(fields, "Success")
        channel.monitor, channel.monitor_stopped = "", time.monotonic()
        self.core.send_event("MixMonitorStop", "call,all", channel.fields())

    def _transfer_request(self, session: AmiSession, fields: dict[str, str], flag: str, done: str) -> None:
        """BlindTransfer/Atxfer from the agent leg bridged by app_queue: the call's flow carries it out."""
        channel = self.core.channels.get(fields.get("Channel", ""))
        exten = fields.get("Exten", "")
        if channel is None:
            session.respond(fields, "Error", Message="Channel specified does not exist")
            return
        if not exten:
            session.respond(fields, "Error", Message="No extension specified")
            return
        call = self.core.queue_call_of(channel)
        if call is None or call.agent_legs is None or channel is not call.agent_legs[0] or not channel.bridge:
            session.respond(fields, "Error", Message="Transfer failed")
            return
        session.respond(fields, "Success", Message=done)
        channel.variables[flag] = f"{fields.get('Context') or channel.context},{exten}"

    def blindtransfer(self, session: AmiSession, fields: dict[str, str]) -> None:
        self._transfer_request(session, fields, "__blindxfer", "Transfer succeeded")

    def atxfer(self, session: AmiSession, fields: dict[str, str]) -> None:
        self._transfer_request(session, fields, "__atxfer", "Atxfer successfully queued")

    def hangup(self, session: AmiSession, fields: dict[str, str]) -> None:
        channel = self.core.channels.get(fields.get("Channel", ""))
        if channel is None:
            session.respond(fields, "Error", Message="No such channel")
            return
        channel.variables["__hangup"] = "1"
        session.respond(fields, "Success", Message="Channel Hungup")

    def coreshowchannels(self, session: AmiSession, fields: dict[str, str]) -> None:
        action_id = {"ActionID": fields["ActionID"]} if "ActionID" in fields else {}
        session.respond(fields, "Success", EventList="start", Message="Channels will follow")
        now = time.time()
        for channel in list(self.core.channels.values()):
            data = {
                **action_id,
                **channel.fields(),
                "Application": channel.application,
                "ApplicationData": channel.app_data,
                "Duration": _hms(now - channel.created_at),
                "BridgeId": channel.bridge or "",
            }
            session.send_event("CoreShowChannel", data)
        session.send_event(
            "CoreShowChannelsComplete",
            {**action_id, "EventList": "Complete", "ListItems": str(len(self.core.channels))},
        )

    def devicestatelist(self, session: AmiSession, fields: dict[str, str]) -> None:
        """res_manager_devicestate's list: one DeviceStateChange per known device."""
        action_id = {"ActionID": fields["ActionID"]} if "ActionID" in fields else {}
        session.respond(fields, "Success", EventList="start", Message="Device State Changes will follow")
        for device, state in self.core.device_states.items():
            session.send_event("DeviceStateChange", {**action_id, "Device": device, "State": state})
        session.send_event(
            "DeviceStateListComplete",
            {**action_id, "EventList": "Complete", "ListItems": str(len(self.core.device_states))},
        )


def _hms(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _variables(value: str) -> dict[str, str]:
    """Originate's `Variable: A=1,B=2` (several `Variable` lines arrive joined by commas)."""
    pairs = (item.partition("=") for item in value.split(",") if item.strip())
    return {k.strip(): v.strip() for k, sep, v in pairs if sep and k.strip()}


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
