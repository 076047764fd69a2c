"""Channels of the simulated PBX and the AMI header blocks Asterisk prints for them."""

from __future__ import annotations

from dataclasses import dataclass, field

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
UNKNOWN = "<unknown>"


@dataclass
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    priority: int = 1
    state: int = 0
    cid_num: str = UNKNOWN
    cid_name: str = UNKNOWN
    conn_num: str = UNKNOWN
    conn_name: str = UNKNOWN
    variables: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    application: str = ""
    app_data: str = ""  # CoreShowChannel ApplicationData (e.g. "support,tT,,,120" for Queue)
    bridge: str | None = None
    monitor: str = ""  # file of the running MixMonitor ("" when none)
    monitor_started: float = 0.0  # time.monotonic() when it started
    monitor_stopped: float | None = None  # StopMixMonitor: the recording ends there
    answered_at: float | None = None  # time.time() it first went Up (the CDR's answer time)
    peer: str = ""  # the first channel it was bridged with (the CDR's dstchannel)

    def fields(self, prefix: str = "") -> dict[str, str]:
        """The channel block of an AMI event; `prefix="Dest"` for the far side of a Dial."""
        p = prefix
        return {
            f"{p}Channel": self.name,
            f"{p}ChannelState": str(self.state),
            f"{p}ChannelStateDesc": STATE_DESC.get(self.state, "Unknown"),
            f"{p}CallerIDNum": self.cid_num,
            f"{p}CallerIDName": self.cid_name,
            f"{p}ConnectedLineNum": self.conn_num,
            f"{p}ConnectedLineName": self.conn_name,
            f"{p}Language": "en",
            f"{p}AccountCode": "",
            f"{p}Context": self.context,
            f"{p}Exten": self.exten,
            f"{p}Priority": str(self.priority),
            f"{p}Uniqueid": self.uniqueid,
            f"{p}Linkedid": self.linkedid,
        }


@dataclass(frozen=True)
class Handset:
    """The caller's handset, the `Exten` of the Originate in `[phones]` of the sample dialplan.

    `talk-N`: hangs up N s after the PBX answered. `dtmf-D-N-DIGITS`: sends DIGITS
    with `SendDTMF(DIGITS,250)` (100 ms tones, 250 ms apart) D s after the answer,
    then hangs up N s later.
    """

    hangup_after: float
    dtmf_after: float | None = None
    digits: str = ""

    TONE_S = 0.1  # SendDTMF's default tone length
    GAP_S = 0.25  # the `250` of SendDTMF(DIGITS,250) in the dialplan

    @classmethod
    def parse(cls, exten: str) -> Handset:
        kind, _, rest = exten.partition("-")
        parts = rest.split("-")
        try:
            if kind == "dtmf" and len(parts) == 3:
                after, talk, digits = float(parts[0]), float(parts[1]), parts[2]
                sending = len(digits) * (cls.TONE_S + cls.GAP_S)
                return cls(hangup_after=after + sending + talk, dtmf_after=after, digits=digits)
            return cls(hangup_after=float(parts[0]))
        except ValueError:
            return cls(hangup_after=60.0)


def parse_caller_id(value: str) -> tuple[str, str]:
    """`"Name" <number>` → (number, name); a bare number → (number, "<unknown>")."""
    value = value.strip()
    if "<" in value and value.endswith(">"):
        name, _, number = value[:-1].rpartition("<")
        name = name.strip().strip('"').strip()
        return number.strip() or UNKNOWN, name or UNKNOWN
    return value or UNKNOWN, UNKNOWN


def seconds_or(value: str | None, default: float) -> float:
    """A dialplan variable holding seconds (`QTIMEOUT`, `HOTLINE_RING_TIMEOUT`); `default` if unset or bad."""
    try:
        return float(value) if value else default
    except ValueError:
        return default
