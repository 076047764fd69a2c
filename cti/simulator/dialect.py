"""What the simulated PBX sounds like on a given Asterisk version (`--asterisk-version`).

The simulator's call flows raise today's events (Asterisk 22, as recorded in
tests/fixtures/ami/). A `Dialect` rewrites each outgoing event into the form a
given Asterisk line sends: the banner's AMI version, CoreSettings, and the
event names and fields. The rules come from real traces of 18.26.4, 20.20.1 and
22.10.1 (tests/fixtures/ami/<version>/) and, for 13 and 11, from the event
formats in the Asterisk source at tags 13.38.3 and 11.25.3 (app_queue.c,
channel.c, pbx.c, manager.c).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cti.ami.protocol import FrameSplitter, parse_frame
from cti.ami.versions import parse_version

Fields = dict[str, str]
Out = list[tuple[str, Fields]]

DEFAULT_VERSION = "22.10.1"

# Asterisk tag → AMI protocol version (include/asterisk/manager.h AMI_VERSION)
_AMI = {11: "1.3", 13: "2.10.6", 16: "5.0.5", 18: "7.0.3", 20: "9.0.0", 22: "11.0.0"}
KNOWN_LINES = tuple(sorted(_AMI))

# ---------------------------------------------------------------- 11 (legacy) formats
# event → (its 11 name, [(11 field, today's field)]) for the events 11 has; others are not sent.
_LEGACY: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "Newchannel": (
        "Newchannel",
        [
            ("Channel", "Channel"),
            ("ChannelState", "ChannelState"),
            ("ChannelStateDesc", "ChannelStateDesc"),
            ("CallerIDNum", "CallerIDNum"),
            ("CallerIDName", "CallerIDName"),
            ("AccountCode", "AccountCode"),
            ("Exten", "Exten"),
            ("Context", "Context"),
            ("Uniqueid", "Uniqueid"),
        ],
    ),
    "Newexten": (
        "Newexten",
        [
            ("Channel", "Channel"),
            ("Context", "Context"),
            ("Extension", "Exten"),
            ("Priority", "Priority"),
            ("Application", "Application"),
            ("AppData", "AppData"),
            ("Uniqueid", "Uniqueid"),
        ],
    ),
    "VarSet": (
        "VarSet",
        [("Channel", "Channel"), ("Variable", "Variable"), ("Value", "Value"), ("Uniqueid", "Uniqueid")],
    ),
    "Hangup": (
        "Hangup",
        [
            ("Channel", "Channel"),
            ("Uniqueid", "Uniqueid"),
            ("CallerIDNum", "CallerIDNum"),
            ("CallerIDName", "CallerIDName"),
            ("ConnectedLineNum", "ConnectedLineNum"),
            ("ConnectedLineName", "ConnectedLineName"),
            ("AccountCode", "AccountCode"),
            ("Cause", "Cause"),
            ("Cause-txt", "Cause-txt"),
        ],
    ),
    "QueueCallerJoin": (
        "Join",
        [
            ("Channel", "Channel"),
            ("CallerIDNum", "CallerIDNum"),
            ("CallerIDName", "CallerIDName"),
            ("ConnectedLineNum", "ConnectedLineNum"),
            ("ConnectedLineName", "ConnectedLineName"),
            ("Queue", "Queue"),
            ("Position", "Position"),
            ("Count", "Count"),
            ("Uniqueid", "Uniqueid"),
        ],
    ),
    "QueueCallerLeave": (
        "Leave",
        [
            ("Channel", "Channel"),
            ("Queue", "Queue"),
            ("Count", "Count"),
            ("Position", "Position"),
            ("Uniqueid", "Uniqueid"),
        ],
    ),
    "QueueCallerAbandon": (
        "QueueCallerAbandon",
        [
            ("Queue", "Queue"),
            ("Uniqueid", "Uniqueid"),
            ("Position", "Position"),
            ("OriginalPosition", "OriginalPosition"),
            ("HoldTime", "HoldTime"),
        ],
    ),
    "AgentCalled": (
        "AgentCalled",
        [
            ("Queue", "Queue"),
            ("AgentCalled", "Interface"),
            ("AgentName", "MemberName"),
            ("ChannelCalling", "Channel"),
            ("DestinationChannel", "DestChannel"),
            ("CallerIDNum", "CallerIDNum"),
            ("CallerIDName", "CallerIDName"),
            ("ConnectedLineNum", "ConnectedLineNum"),
            ("ConnectedLineName", "ConnectedLineName"),
            ("Context", "Context"),
            ("Extension", "Exten"),
            ("Priority", "Priority"),
            ("Uniqueid", "Uniqueid"),
        ],
    ),
    "AgentRingNoAnswer": (
        "AgentRingNoAnswer",
        [
            ("Queue", "Queue"),
            ("Uniqueid", "Uniqueid"),
            ("Channel", "Channel"),
            ("Member", "Interface"),
            ("MemberName", "MemberName"),
            ("RingTime", "RingTime"),
        ],
    ),
    "AgentConnect": (
        "AgentConnect",
        [
            ("Queue", "Queue"),
            ("Uniqueid", "Uniqueid"),
            ("Channel", "DestChannel"),
            ("Member", "Interface"),
            ("MemberName", "MemberName"),
            ("HoldTime", "HoldTime"),
            ("BridgedChannel", "DestUniqueid"),
            ("RingTime", "RingTime"),
        ],
    ),
    "AgentComplete": (
        "AgentComplete",
        [
            ("Queue", "Queue"),
            ("Uniqueid", "Uniqueid"),
            ("Channel", "DestChannel"),
            ("Member", "Interface"),
            ("MemberName", "MemberName"),
            ("HoldTime", "HoldTime"),
            ("TalkTime", "TalkTime"),
            ("Reason", "Reason"),
        ],
    ),
    "QueueMemberStatus": (
        "QueueMemberStatus",
        [
            ("Queue", "Queue"),
            ("Location", "Interface"),
            ("MemberName", "MemberName"),
            ("StateInterface", "StateInterface"),
            ("Membership", "Membership"),
            ("Penalty", "Penalty"),
            ("CallsTaken", "CallsTaken"),
            ("LastCall", "LastCall"),
            ("InCall", "InCall"),
            ("Status", "Status"),
            ("Paused", "Paused"),
        ],
    ),
    "QueueMemberAdded": (
        "QueueMemberAdded",
        [
            ("Queue", "Queue"),
            ("Location", "Interface"),
            ("MemberName", "MemberName"),
            ("StateInterface", "StateInterface"),
            ("Membership", "Membership"),
            ("Penalty", "Penalty"),
            ("CallsTaken", "CallsTaken"),
            ("LastCall", "LastCall"),
            ("Status", "Status"),
            ("Paused", "Paused"),
        ],
    ),
    "QueueMemberRemoved": (
        "QueueMemberRemoved",
        [("Queue", "Queue"), ("Location", "Interface"), ("MemberName", "MemberName")],
    ),
    "QueueMemberPause": (
        "QueueMemberPaused",
        [
            ("Queue", "Queue"),
            ("Location", "Interface"),
            ("MemberName", "MemberName"),
            ("Paused", "Paused"),
            ("Reason", "PausedReason"),
        ],
    ),
    "UserEvent": ("UserEvent", []),  # passed as is (Channel, Uniqueid, UserEvent and the user's fields)
    "FullyBooted": ("FullyBooted", [("Status", "Status")]),
    "SuccessfulAuth": ("SuccessfulAuth", []),
    "OriginateResponse": (
        "OriginateResponse",
        [
            ("ActionID", "ActionID"),
            ("Response", "Response"),
            ("Channel", "Channel"),
            ("Context", "Context"),
            ("Exten", "Exten"),
            ("Reason", "Reason"),
            ("Uniqueid", "Uniqueid"),
            ("CallerIDNum", "CallerIDNum"),
            ("CallerIDName", "CallerIDName"),
        ],
    ),
}
_PRIVILEGE = {
    "Join": "call,all",
    "Leave": "call,all",
    "Newchannel": "call,all",
    "Hangup": "call,all",
    "Dial": "call,all",
    "Newexten": "dialplan,all",
    "VarSet": "dialplan,all",
}
# the resync list items in 11 (QueueStatus, CoreShowChannels)
_LEGACY_ITEMS: dict[str, list[tuple[str, str]]] = {
    "QueueMember": [
        ("Queue", "Queue"),
        ("Name", "Name"),
        ("Location", "Location"),
        ("StateInterface", "StateInterface"),
        ("Membership", "Membership"),
        ("Penalty", "Penalty"),
        ("CallsTaken", "CallsTaken"),
        ("LastCall", "LastCall"),
        ("Status", "Status"),
        ("Paused", "Paused"),
        ("ActionID", "ActionID"),
    ],
    "QueueEntry": [
        ("Queue", "Queue"),
        ("Position", "Position"),
        ("Channel", "Channel"),
        ("Uniqueid", "Uniqueid"),
        ("CallerIDNum", "CallerIDNum"),
        ("CallerIDName", "CallerIDName"),
        ("ConnectedLineNum", "ConnectedLineNum"),
        ("ConnectedLineName", "ConnectedLineName"),
        ("Wait", "Wait"),
        ("ActionID", "ActionID"),
    ],
    "CoreShowChannel": [
        ("ActionID", "ActionID"),
        ("Channel", "Channel"),
        ("UniqueID", "Uniqueid"),
        ("Context", "Context"),
        ("Extension", "Exten"),
        ("Priority", "Priority"),
        ("ChannelState", "ChannelState"),
        ("ChannelStateDesc", "ChannelStateDesc"),
        ("Application", "Application"),
        ("ApplicationData", "ApplicationData"),
        ("CallerIDnum", "CallerIDNum"),
        ("Duration", "Duration"),
        ("AccountCode", "AccountCode"),
    ],
}

# 12–15: today's names; no MixMonitor events, no DialState, member records without the 16+ fields
_NOT_IN_13 = frozenset({"MixMonitorStart", "MixMonitorStop", "MixMonitorMute", "DialState"})
_MEMBER_FIELDS_16 = ("LastPause", "LoginTime", "Wrapuptime")
_MEMBER_EVENTS = frozenset(
    {
        "QueueMemberStatus",
        "QueueMemberPause",
        "QueueMemberAdded",
        "QueueMemberRemoved",
        "QueueMemberPenalty",
        "QueueMemberRinginuse",
        "QueueMember",
        "AgentCalled",
        "AgentConnect",
        "AgentComplete",
        "AgentRingNoAnswer",
    }
)


@dataclass
class Dialect:
    """One Asterisk version's AMI, as the simulator sends it."""

    version: str = DEFAULT_VERSION
    ami: str = field(init=False)
    line: int = field(init=False)
    _dials: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        numbers = parse_version(self.version)
        if numbers is None or numbers[0] not in _AMI:
            known = ", ".join(str(n) for n in KNOWN_LINES)
            raise ValueError(f"--asterisk-version {self.version!r}: the simulator speaks the lines {known}")
        self.line = numbers[0]
        self.ami = _AMI[self.line]

    @property
    def banner(self) -> bytes:
        return f"Asterisk Call Manager/{self.ami}\r\n".encode()

    def core_settings(self) -> Fields:
        """The fields of the CoreSettings response (manager.c action_coresettings)."""
        return {
            "AMIversion": self.ami,
            "AsteriskVersion": self.version,
            "SystemName": "",
            "CoreMaxCalls": "0",
            "CoreMaxLoadAvg": "0.000000",
            "CoreRunUser": "",
            "CoreRunGroup": "",
            "CoreMaxFilehandles": "0",
            "CoreRealTimeEnabled": "No",
            "CoreCDRenabled": "Yes",
            "CoreHTTPenabled": "No",
        }

    def rewrite(self, event: str, fields: Fields) -> Out:
        """`event` as this version sends it: zero, one or more events."""
        if self.line >= 20:
            return [(event, fields)]
        if self.line >= 16:  # 16, 18: AttendedTransfer without the TransferTarget* snapshot (real 18.26.4)
            if event == "AttendedTransfer":
                fields = {k: v for k, v in fields.items() if not k.startswith("TransferTarget")}
            return [(event, fields)]
        if self.line >= 12:
            return self._thirteen(event, fields)
        return self._eleven(event, fields)

    def rewrite_all(self, events: Iterable[tuple[str, Fields]]) -> Out:
        return [out for event, fields in events for out in self.rewrite(event, fields)]

    # ------------------------------------------------------------------ 13

    def _thirteen(self, event: str, fields: Fields) -> Out:
        if event in _NOT_IN_13:
            return []
        if event in _MEMBER_EVENTS:
            fields = {k: v for k, v in fields.items() if k not in _MEMBER_FIELDS_16}
        if event == "AttendedTransfer":
            fields = {k: v for k, v in fields.items() if not k.startswith("TransferTarget")}
        return [(event, fields)]

    # ------------------------------------------------------------------ 11

    def _eleven(self, event: str, fields: Fields) -> Out:
        if event == "DialBegin":
            return self._dial_begin(fields)
        if event == "DialEnd":
            return self._dial_end(fields)
        if event in _LEGACY_ITEMS:
            return [(event, _pick(fields, _LEGACY_ITEMS[event]))]
        if event.endswith("Complete") and "EventList" in fields:  # list terminators
            return [(event, {k: fields[k] for k in ("ActionID", "EventList", "ListItems") if k in fields})]
        rule = _LEGACY.get(event)
        if rule is None:
            return []  # 11 has no such event (Bridge*, *Transfer, MixMonitor*, DeviceStateChange …)
        name, mapping = rule
        if not mapping:
            out = {k: v for k, v in fields.items() if k != "Linkedid"}
        else:
            out = {"Privilege": _PRIVILEGE.get(name, fields.get("Privilege", "agent,all"))}
            out.update(_pick(fields, mapping))
        return [(name, out)]

    def _dial_begin(self, fields: Fields) -> Out:
        if not fields.get("Channel"):  # an Originate's dial has no calling channel: 11 sends nothing
            return []
        self._dials[fields.get("Uniqueid", "")] = fields.get("DestUniqueid", "")
        return [
            (
                "Dial",
                {
                    "Privilege": "call,all",
                    "SubEvent": "Begin",
                    "Channel": fields.get("Channel", ""),
                    "Destination": fields.get("DestChannel", ""),
                    "CallerIDNum": fields.get("CallerIDNum", ""),
                    "CallerIDName": fields.get("CallerIDName", ""),
                    "ConnectedLineNum": fields.get("ConnectedLineNum", ""),
                    "ConnectedLineName": fields.get("ConnectedLineName", ""),
                    "UniqueID": fields.get("Uniqueid", ""),
                    "DestUniqueID": fields.get("DestUniqueid", ""),
                    "Dialstring": fields.get("DialString", ""),
                },
            )
        ]

    def _dial_end(self, fields: Fields) -> Out:
        if not fields.get("Channel") or self._dials.pop(fields.get("Uniqueid", ""), None) is None:
            return []
        return [
            (
                "Dial",
                {
                    "Privilege": "call,all",
                    "SubEvent": "End",
                    "Channel": fields.get("Channel", ""),
                    "UniqueID": fields.get("Uniqueid", ""),
                    "DialStatus": fields.get("DialStatus", ""),
                },
            )
        ]


def _pick(fields: Fields, mapping: list[tuple[str, str]]) -> Fields:
    return {old: fields[new] for old, new in mapping if new in fields}


def rewrite_trace(data: bytes, dialect: Dialect) -> bytes:
    """A recorded Asterisk 22 trace as `dialect` would have sent it: the banner, every event
    rewritten (dropped where that version has no such event), responses as they were.

    This is how tests/fixtures/ami/constructed/ was made from the real 22.10.1 traces."""
    splitter = FrameSplitter()
    out = [dialect.banner]
    for frame in splitter.feed(data):
        message = parse_frame(frame)
        fields = {key: message[key] for key in message}
        event = fields.pop("Event", None)
        if event is None:
            out.append(frame + b"\r\n\r\n")
            continue
        for name, rewritten in dialect.rewrite(event, fields):
            out.append(_encode("Event", name, rewritten))
    return b"".join(out)


def _encode(first_key: str, first_value: str, fields: Fields) -> bytes:
    lines = [f"{first_key}: {first_value}", *(f"{k}: {v}" for k, v in fields.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
