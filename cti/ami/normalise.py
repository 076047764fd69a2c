"""Older Asterisk's AMI in today's words, before the translator sees it.

The translator speaks one vocabulary: Asterisk 12+ (`QueueCallerJoin`,
`Interface`, `DestUniqueid`, `HoldTime`, `DialBegin` …). `Normaliser.feed`
returns the message unchanged when it already is in that vocabulary (every
event of 12 and later: a dict lookup), and rewrites the few events that older
lines name differently:

* `Join` / `Leave` → `QueueCallerJoin` / `QueueCallerLeave`;
* AgentCalled's `AgentCalled`, `AgentName`, `ChannelCalling`, `DestinationChannel`
  → `Interface`, `MemberName`, `Channel`, `DestChannel` (+ `DestUniqueid`);
* AgentConnect/Complete/RingNoAnswer's `Member`, `Channel` (there: the agent
  leg), `BridgedChannel` → `Interface`, `DestChannel`, `DestUniqueid`;
* `Holdtime` / `Ringtime` (1.6–10) → `HoldTime` / `RingTime`;
* `QueueMemberPaused` (`Location`, `Reason`) → `QueueMemberPause` (`Interface`, `PausedReason`);
* `Dial` with `SubEvent: Begin/End`, `UniqueID`, `Destination`, `DestUniqueID`
  → `DialBegin` / `DialEnd`.

The agent leg's Uniqueid is not in 11's AgentCalled: it comes from the
`Newchannel` of `DestinationChannel` when the stream has it, otherwise the
channel name stands in for it until AgentConnect's `BridgedChannel` names the
real one. 11's AgentComplete names the leg only by channel: same lookup.
11 has no Linkedid: a call is named by its caller channel's Uniqueid.
"""

from __future__ import annotations

from cti.ami.protocol import AmiMessage

# legacy event name → today's (events whose fields only are renamed keep their name)
_RENAMED = {"Join": "QueueCallerJoin", "Leave": "QueueCallerLeave", "QueueMemberPaused": "QueueMemberPause"}
_AGENT_EVENTS = frozenset({"AgentConnect", "AgentComplete", "AgentRingNoAnswer", "AgentDump"})
LEGACY_EVENTS = frozenset({*_RENAMED, "Dial", "Newchannel"})

_MAX_NAMES = 20_000  # channel name → uid entries kept (a PBX runs for years)


def _with(msg: AmiMessage, changes: dict[str, str | None], event: str | None = None) -> AmiMessage:
    """A copy of `msg` with fields renamed/set (None: removed), in the original order."""
    fields: dict[str, str] = {}
    for key, value in msg.items():
        if key in changes:
            continue
        fields[key] = value
    for key, new in changes.items():
        if new is not None:
            fields[key] = new
    if event is not None:
        fields["Event"] = event
    return AmiMessage.of(**fields)


class Normaliser:
    """Stateful: remembers channel names and rung legs to fill the fields 11 does not send."""

    def __init__(self) -> None:
        self.legacy_seen = 0  # messages rewritten (a supervisor page or the version log may show it)
        self._uid_of: dict[str, str] = {}  # channel name → uid (from Newchannel; legacy only)
        self._name_of: dict[str, str] = {}  # uid → channel name
        self._rung: dict[tuple[str, str], str] = {}  # (caller uid, interface) → agent leg uid
        self._dial: dict[str, str] = {}  # caller uid → dest uid of its last Dial Begin

    def feed(self, msg: AmiMessage) -> AmiMessage:
        name = msg.event
        if name is None:
            return msg
        if name == "Newchannel":
            self._remember(msg.get("Channel"), msg.get("Uniqueid"))
            return msg
        if name in _RENAMED:
            return self._renamed(msg, name)
        if name == "AgentCalled":
            return self._agent_called(msg) if "Interface" not in msg else msg
        if name in _AGENT_EVENTS:
            return self._agent_event(msg, name) if "Interface" not in msg else msg
        if name == "Dial":
            return self._dial_event(msg)
        return msg

    # ------------------------------------------------------------------ helpers

    def _remember(self, channel: str | None, uid: str | None) -> None:
        if not channel or not uid:
            return
        if len(self._uid_of) > _MAX_NAMES:
            self._uid_of.clear()
            self._name_of.clear()
            self._rung.clear()
            self._dial.clear()
        self._uid_of[channel] = uid
        self._name_of[uid] = channel

    def _renamed(self, msg: AmiMessage, name: str) -> AmiMessage:
        self.legacy_seen += 1
        changes: dict[str, str | None] = {}
        if name == "QueueMemberPaused":
            changes = {"Location": None, "Reason": None}
            changes["Interface"] = msg.get("Interface") or msg.get("Location") or ""
            changes["PausedReason"] = msg.get("PausedReason") or msg.get("Reason") or ""
        if "Channel" in msg and "Uniqueid" in msg:
            self._remember(msg["Channel"], msg["Uniqueid"])
        return _with(msg, changes, _RENAMED[name])

    def _leg_uid(self, channel: str) -> str:
        return self._uid_of.get(channel) or channel  # the name stands in until a real uid is known

    def _agent_called(self, msg: AmiMessage) -> AmiMessage:
        self.legacy_seen += 1
        interface = msg.get("AgentCalled", "")
        dest = msg.get("DestinationChannel", "")
        leg = self._leg_uid(dest)
        caller = msg.get("Uniqueid", "")
        self._rung[(caller, interface)] = leg
        changes: dict[str, str | None] = {
            "AgentCalled": None,
            "AgentName": None,
            "ChannelCalling": None,
            "DestinationChannel": None,
            "Interface": interface,
            "MemberName": msg.get("AgentName", ""),
            "Channel": msg.get("ChannelCalling", ""),
            "DestChannel": dest,
            "DestUniqueid": leg,
        }
        return _with(msg, changes)

    def _agent_event(self, msg: AmiMessage, name: str) -> AmiMessage:
        if "Member" not in msg and "Holdtime" not in msg and "Ringtime" not in msg:
            return msg
        self.legacy_seen += 1
        interface = msg.get("Member", "")
        caller = msg.get("Uniqueid", "")
        changes: dict[str, str | None] = {"Member": None, "Holdtime": None, "Ringtime": None}
        changes["Interface"] = interface
        for old, new in (("Holdtime", "HoldTime"), ("Ringtime", "RingTime")):
            if old in msg:
                changes[new] = msg[old]
        if name == "AgentRingNoAnswer":  # 11: `Channel` is the caller's; the leg was rung before
            leg = self._rung.pop((caller, interface), None)
            if leg is not None:
                changes["DestUniqueid"] = leg
            return _with(msg, changes)
        agent_channel = msg.get("Channel", "")
        changes["Channel"] = self._name_of.get(caller)  # the caller's channel, when known
        changes["DestChannel"] = agent_channel
        if name == "AgentConnect":
            leg = msg.get("BridgedChannel") or self._leg_uid(agent_channel)
            changes["BridgedChannel"] = None
            self._remember(agent_channel, leg)
            self._rung.pop((caller, interface), None)
        else:
            leg = self._uid_of.get(agent_channel, "")
        if leg:
            changes["DestUniqueid"] = leg
        return _with(msg, changes)

    def _dial_event(self, msg: AmiMessage) -> AmiMessage:
        sub = msg.get("SubEvent", "")
        caller = msg.get("UniqueID") or msg.get("Uniqueid") or ""
        changes: dict[str, str | None] = {"SubEvent": None, "UniqueID": None, "Uniqueid": caller}
        if sub == "Begin":
            self.legacy_seen += 1
            dest = msg.get("Destination", "")
            leg = msg.get("DestUniqueID") or self._leg_uid(dest)
            self._remember(dest, leg)
            self._dial[caller] = leg
            changes.update(Destination=None, DestUniqueID=None, DestChannel=dest, DestUniqueid=leg)
            return _with(msg, changes, "DialBegin")
        if sub == "End":
            self.legacy_seen += 1
            leg = self._dial.pop(caller, "")
            changes.update(DestUniqueid=leg or None, DestChannel=self._name_of.get(leg))
            return _with(msg, changes, "DialEnd")
        return msg
