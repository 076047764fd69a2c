"""AMI messages → CallEvents and AgentEvents. No I/O; time comes from an injected clock.

`AmiTranslator.feed(msg)` keeps per-call state keyed by the caller channel's
Uniqueid and returns the Hotline events the message implies. A call is born
only from a caller entering the hotline: `QueueCallerJoin` (observe mode) or
`UserEvent: HotlineWaiting` (control mode). Agent legs are only what the PBX
names as such (the `DestChannel` of AgentCalled/AgentConnect, the Dial of a
control-mode caller, a channel bridged with a waiting control-mode caller), so
the `;1`/`;2` halves of Local channels never become calls or agents.

Every event_id is a hash of the call, the kind and an AMI discriminator (the
agent leg's Uniqueid, the queue, the member's LastPause …) plus an occurrence
number, so replaying a trace or resyncing after a reconnect gives the same ids,
and the translator itself never emits an id twice.

Asterisk facts this relies on (see tests/fixtures/ami/README.md):
* `QueueCallerAbandon` is also raised for a queue *timeout*; only the caller
  channel's next step tells them apart (VarSet QUEUESTATUS=TIMEOUT vs Hangup),
  so the decision waits for it.
* `AgentComplete` may lack the caller fields (08) or the Dest* fields (07c), and
  may come after the caller's Hangup (08) and even after the agent leg's (a
  loaded 22.10.1, tests/fixtures/ami/22.10.1/): when an app_queue agent leg
  hangs up, its AGENT_COMPLETED waits for AgentComplete (it has the TalkTime)
  unless the caller goes on elsewhere (a Dial: Redirect, 07c); a call whose
  caller and agent are both gone waits for it too, until the agent's next
  QueueMemberStatus or `COMPLETE_WAIT` more messages.
* `MixMonitorStart` has no file name: it is in the VarSet MIXMONITOR_FILENAME
  just before it, which precedes the caller's QueueCallerJoin. Asterisk before
  16.17 / 18.3 sends no MixMonitorStart at all, and a manager.conf may filter
  VarSet: a recording starts from whichever of VarSet MIXMONITOR_FILENAME,
  MixMonitorStart or the MixMonitor application's Newexten comes, once per
  channel and file.
* Older Asterisk lines name some events and fields differently; they are
  rewritten into this vocabulary first (cti.ami.normalise).
"""

from __future__ import annotations

import collections
import hashlib
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cti.ami.agents import AgentMap, agent_mapper
from cti.ami.dialplan import (
    DIAL_END_USEREVENT,
    IVR_VARIABLE,
    QUEUE_VARIABLE,
    WAIT_TIMEOUT_USEREVENT,
    WAITING_CONTEXTS,
    WAITING_USEREVENT,
)
from cti.ami.normalise import LEGACY_EVENTS, Normaliser
from cti.ami.protocol import AmiMessage
from routing.events import AgentEvent, AgentEventKind, CallEvent, CallEventKind, Event

log = logging.getLogger(__name__)
# What a value no Asterisk sends raises in a handler: a missing key, a number that is not one,
# an epoch out of range (OverflowError; OSError on some platforms), a field of the wrong kind.
MALFORMED = (KeyError, ValueError, IndexError, ArithmeticError, TypeError, OSError)

SOURCE = "asterisk"
COMPLETE_WAIT = 200  # messages a finished queue call waits for a late AgentComplete
Clock = Callable[[], datetime]

# Events the translator reads. Anything else can be skipped before parsing.
HANDLED_EVENTS = frozenset(
    {
        "DeviceStateChange",
        "QueueCallerJoin",
        "QueueCallerLeave",
        "QueueCallerAbandon",
        "AgentCalled",
        "AgentRingNoAnswer",
        "AgentConnect",
        "AgentComplete",
        "DialBegin",
        "DialEnd",
        "BridgeEnter",
        "BridgeLeave",
        "Hangup",
        "BlindTransfer",
        "AttendedTransfer",
        "DTMFEnd",
        "MixMonitorStart",
        "MixMonitorStop",
        "MixMonitorMute",
        "UserEvent",
        "Hold",
        "Unhold",
        "LocalOptimizationBegin",
        "QueueMemberStatus",
        "QueueMemberPause",
        "QueueMemberAdded",
        "QueueMemberRemoved",
        # resync list items and their terminators
        "QueueMember",
        "QueueEntry",
        "QueueStatusComplete",
        "CoreShowChannel",
        "CoreShowChannelsComplete",
    }
)
_HANDLED_BYTES = frozenset(name.encode() for name in HANDLED_EVENTS)
_LEGACY_BYTES = frozenset(name.encode() for name in LEGACY_EVENTS) - {b"Newchannel"}

# DeviceStateChange `State` (ast_devstate_str) → AgentEvent DEVICE_STATE detail; UNKNOWN is dropped
_DEVICE_STATE_NAMES = {
    "NOT_INUSE": "idle",
    "INUSE": "in_use",
    "BUSY": "in_use",
    "ONHOLD": "in_use",
    "RINGINUSE": "in_use",
    "RINGING": "ringing",
    "UNAVAILABLE": "unavailable",
    "INVALID": "unavailable",
}

# QueueMemberStatus codes (ast_device_state) → AgentEvent DEVICE_STATE detail
_DEVICE_STATE = {
    "0": "unavailable",
    "1": "idle",
    "2": "in_use",
    "3": "in_use",
    "4": "unavailable",
    "5": "unavailable",
    "6": "ringing",
    "7": "ringing",
    "8": "in_use",
}


def wanted_frame(name: bytes, frame: bytes) -> bool:
    """Cheap pre-parse filter for AmiClient(frame_filter=...): keep what `feed` reads."""
    if name in _HANDLED_BYTES:
        return True
    if name == b"VarSet":
        return b"Variable: MIXMONITOR_FILENAME\r\n" in frame or b"Variable: QUEUESTATUS\r\n" in frame
    if name == b"Newexten":
        return b"Application: MixMonitor\r\n" in frame
    return name in _LEGACY_BYTES


def _utc_now() -> datetime:
    return datetime.now(UTC)


def fact_id(call_id: str, kind: CallEventKind, key: str = "") -> str:
    """The event id the translator gives a once-only fact of a call: whoever reports the same
    fact later (reconciliation after a restart) reuses it, so no consumer applies it twice."""
    return AmiTranslator._digest(f"{call_id}|{kind.value}|{key}")


def _clean(value: str | None) -> str | None:
    if value is None or value in ("", "<unknown>"):
        return None
    return value


@dataclass
class _Call:
    call_id: str
    caller_uid: str
    channel: str
    caller: str | None
    caller_name: str | None
    dialed: str | None
    mode: str  # "observe" | "control"
    queue: str | None = None
    ivr_choice: str | None = None  # control mode: the dialplan IVR's HOTLINE_IVR (HotlineWaiting IvrChoice)
    in_queue: bool = False
    legs: dict[str, str] = field(default_factory=dict)  # agent leg uid → agent id
    answered_leg: str | None = None
    completed_legs: set[str] = field(default_factory=set)
    pending_abandon: tuple[str, str] | None = None  # (queue, hold time) until the next step
    ending: str | None = None  # hangup cause, when HUNG_UP waits for AgentComplete
    transferred: bool = False
    queue_answered: bool = False  # answered by app_queue (AgentConnect): an AgentComplete will follow
    gone_legs: set[str] = field(default_factory=set)  # agent legs hung up, AgentComplete not seen yet
    dial_reported: bool = False  # control mode: this Dial()'s end was told (DialEnd) before HotlineDialEnd
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    held: bool = False
    recordings: dict[str, str] = field(default_factory=dict)  # channel uid → file
    ended: bool = False
    emitted: set[str] = field(default_factory=set)
    seen: Counter[str] = field(default_factory=Counter)

    @property
    def agent(self) -> str | None:
        return self.legs.get(self.answered_leg) if self.answered_leg else None


@dataclass
class _Member:
    present: bool = False
    paused: bool | None = None
    device: str | None = None


class AmiTranslator:
    """Feed AMI messages in order; get Hotline events. One instance per PBX link."""

    def __init__(
        self,
        *,
        default_queue: str = "default",
        agents: Mapping[str, str] | AgentMap | None = None,
        devices: Mapping[str, str] | None = None,
        clock: Clock = _utc_now,
        waiting_contexts: Iterable[str] = WAITING_CONTEXTS,
        retain_ended: int = 2000,
        call_prefix: str = "",
    ) -> None:
        """`call_prefix` goes before every call id (`east:` + the Linkedid) when a center has
        several PBXs: their Uniqueids are only unique per PBX, and the prefix says whose a call is."""
        self.default_queue = default_queue
        self.call_prefix = call_prefix
        self.agent_of = agent_mapper(agents)
        # Agent phones by exact device name (`PJSIP/1001`): whose DeviceStateChange to report.
        # Exact, unlike `agent_of`: `Local/support@hotline` must not become an agent "support".
        self.devices = dict(devices or {})
        self._device_states: dict[str, str] = {}  # agent → last reported device state
        self._lost_phones: set[str] = set()  # agents shown unavailable by `link_lost`, not heard of since
        self.clock = clock
        self.waiting_contexts = frozenset(waiting_contexts)
        self.retain_ended = retain_ended
        self.bad_messages = 0
        self._calls: dict[str, _Call] = {}  # caller uid → call (live and recent)
        self._by_id: dict[str, _Call] = {}  # call_id → call
        self._legs: dict[str, _Call] = {}  # agent leg uid → call
        self._ended: collections.deque[_Call] = collections.deque()
        self._names: dict[str, str] = {}  # channel name → uid (live channels)
        self._uid_names: dict[str, str] = {}  # uid → channel name
        self._files: dict[str, str] = {}  # channel uid → MIXMONITOR_FILENAME
        self._app_files: dict[str, str] = {}  # channel uid → MixMonitor() file of its Newexten, not started
        self.normaliser = Normaliser()  # older Asterisk's names → this vocabulary
        self._early_recording: dict[str, str] = {}  # uid → file, started before the call existed
        self._bridges: dict[str, set[str]] = {}  # bridge uid → channel uids
        self._optimised: set[str] = set()
        self._members: dict[tuple[str, str], _Member] = {}
        self._member_seen: Counter[str] = Counter()
        self._originates: dict[str, str] = {}  # agent id → call_id (control mode Originate+Bridge)
        self._snapshot_members: list[AmiMessage] = []
        self._snapshot_entries: list[AmiMessage] = []
        self._snapshot_channels: list[AmiMessage] = []
        self._last_calls: dict[str, datetime] = {}  # agent -> QueueMember LastCall (end of their last call)
        # caller uid -> when the PBX's CDRs say the call ended (the link sets it before a resync)
        self.cdr_end: Callable[[str], datetime | None] | None = None
        # caller uids and call ids of calls told whole from the PBX's records (`told_from_records`)
        self._recorded: set[str] = set()
        self._recorded_order: collections.deque[str] = collections.deque()
        self._fed = 0
        self._awaiting: dict[str, int] = {}  # call_id → message count until which it waits for AgentComplete

    # ------------------------------------------------------------------ queries

    def caller_channel(self, call_id: str) -> str | None:
        """The caller's channel name for a live call (for Redirect, Hangup, MixMonitor …)."""
        call = self._by_id.get(call_id)
        return call.channel if call is not None and not call.ended else None

    def agent_channel(self, call_id: str) -> str | None:
        """The connected agent leg's channel name, if the call is answered."""
        call = self._by_id.get(call_id)
        if call is None or call.ended or call.answered_leg is None:
            return None
        return self._uid_names.get(call.answered_leg)

    def live_calls(self) -> list[str]:
        return [c.call_id for c in self._calls.values() if not c.ended]

    def known_calls(self) -> frozenset[str]:
        """The call ids and caller Uniqueids of every call held now, live or ended (the last
        `retain_ended`): what a re-login must not tell again as a call the link never saw. The
        Uniqueids carry the `call_prefix` as the call ids do (cti.ami.reconcile.missed_calls)."""
        uids = frozenset(self.call_prefix + c.caller_uid for c in self._by_id.values())
        return frozenset(self._by_id) | uids | self._recorded

    def told_from_records(self, events: Iterable[Event]) -> None:
        """The calls of `events` were told whole from the PBX's CDRs (cti.ami.reconcile): they
        are over, and their live events, if some still wait to be translated (a link behind the
        PBX), must not enter them a second time under other ids. Call it before any await after
        `known_calls` was read: then each call is told once, by the records or by the stream."""
        for event in events:
            if not isinstance(event, CallEvent):
                continue
            refs = (event.call_id, *(self.call_prefix + ref for ref in event.source_refs))
            for ref in refs:
                if ref not in self._recorded:
                    self._recorded.add(ref)
                    self._recorded_order.append(ref)
        while len(self._recorded_order) > 4 * self.retain_ended:
            self._recorded.discard(self._recorded_order.popleft())

    def channel_live(self, uid: str) -> bool:
        """The channel `uid` (no call prefix) is on the PBX now, as far as this link saw: listed by
        a CoreShowChannels or named by an event since, and not hung up (exact after the first
        login's resync; a later one does not forget the channels gone while the link was down)."""
        return uid in self._uid_names

    def take_over(self, call_id: str, caller_uid: str, *, caller: str | None, queue: str | None) -> None:
        """An open call of the records whose caller is live on the PBX outside the hotline's
        contexts (transferred to a second level, in the voicemail fallback): the resync did not
        enter it. Held from now on as it is, so that its caller's Hangup ends it."""
        if caller_uid in self._calls or call_id in self._by_id:
            return
        call = _Call(
            call_id=call_id,
            caller_uid=caller_uid,
            channel=self._uid_names.get(caller_uid, ""),
            caller=caller,
            caller_name=None,
            dialed=None,
            mode="observe",
            queue=queue,
        )
        self._calls[caller_uid] = call
        self._by_id[call_id] = call

    def _from_records(self, msg: AmiMessage) -> bool:
        """A caller whose call the records told already (`told_from_records`)."""
        uid = msg.get("Uniqueid", "")
        return bool(self._recorded) and self.call_prefix + uid in self._recorded

    def expect_originate(self, call_id: str, agent: str) -> None:
        """Control mode Originate+Bridge: the next agent leg dialled for `agent` belongs to `call_id`."""
        self._originates[agent] = call_id

    # --------------------------------------------------------------------- feed

    def feed(self, msg: AmiMessage) -> list[Event]:
        out: list[Event] = []
        name = msg.event
        try:
            msg = self.normaliser.feed(msg)
            name = msg.event
            if name is None:
                return []
            self._fed += 1
            if self._awaiting:
                self._end_overdue(out)
            if self._app_files and name not in ("VarSet", "MixMonitorStart", "Newexten"):
                self._flush_app_file(msg, out)  # a MixMonitor() seen only as Newexten: started now
            handler = _HANDLERS.get(name)
            if handler is None:
                if name == "VarSet":
                    out.extend(self._var_set(msg))
                elif name == "Newexten":
                    self._newexten(msg, out)
                return out
            handler(self, msg, out)
        except MALFORMED as exc:  # a malformed message must not stop the link
            self.bad_messages += 1
            log.warning("AMI translator: skipped a malformed %s (%s: %s)", name, type(exc).__name__, exc)
        return out

    # ---------------------------------------------------------------- helpers

    def _at(self, msg: AmiMessage) -> datetime:
        stamp = msg.get("Timestamp")
        if stamp:
            try:
                return datetime.fromtimestamp(float(stamp), UTC)
            except (ValueError, OverflowError, OSError):
                pass
        tv = msg.get("EventTV")
        if tv:
            try:
                parsed = datetime.fromisoformat(tv)
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            except ValueError:
                pass
        return self.clock()

    @staticmethod
    def _digest(key: str) -> str:
        return "ami-" + hashlib.blake2b(key.encode(), digest_size=12).hexdigest()

    def _emit(
        self,
        out: list[Event],
        call: _Call,
        kind: CallEventKind,
        at: datetime,
        *,
        key: str = "",
        once: bool = True,
        agent: str | None = None,
        detail: str | None = None,
        hold_s: int | None = None,
        talk_s: int | None = None,
        untimed: bool = False,
    ) -> None:
        base = f"{call.call_id}|{kind.value}|{key}"
        if once:
            if base in call.emitted:
                return  # already emitted (a resync or a second AMI event for the same fact)
            call.emitted.add(base)
            event_id = self._digest(base)
        else:  # repeatable facts (DTMF digits, hold): numbered by occurrence
            n = call.seen[base]
            call.seen[base] = n + 1
            event_id = self._digest(f"{base}|{n}")
        out.append(
            CallEvent(
                call_id=call.call_id,
                kind=kind,
                at=at,
                event_id=event_id,
                source=SOURCE,
                caller=call.caller,
                caller_name=call.caller_name,
                dialed=call.dialed,
                queue=call.queue,
                agent=agent,
                detail=detail,
                source_refs=(call.caller_uid,),
                hold_s=hold_s,
                talk_s=talk_s,
                ivr_choice=call.ivr_choice if kind is CallEventKind.OFFERED else None,
                untimed=untimed,
            )
        )

    def _remember(self, msg: AmiMessage) -> None:
        name, uid = msg.get("Channel"), msg.get("Uniqueid")
        if name and uid:
            self._name_channel(name, uid)

    def _name_channel(self, name: str, uid: str) -> None:
        self._names[name] = uid
        self._uid_names[uid] = name

    def _forget_channel(self, uid: str) -> None:
        name = self._uid_names.pop(uid, None)
        if name is not None and self._names.get(name) == uid:
            del self._names[name]
        self._files.pop(uid, None)
        self._app_files.pop(uid, None)
        self._early_recording.pop(uid, None)
        self._optimised.discard(uid)

    def _call_of(self, msg: AmiMessage) -> _Call | None:
        uid = msg.get("Uniqueid")
        return self._calls.get(uid) if uid else None

    def _new_call(self, msg: AmiMessage, mode: str, queue: str | None) -> _Call:
        uid = msg["Uniqueid"]
        call = _Call(
            call_id=self.call_prefix + (msg.get("Linkedid") or uid),
            caller_uid=uid,
            channel=msg.get("Channel", ""),
            caller=_clean(msg.get("CallerIDNum")),
            caller_name=_clean(msg.get("CallerIDName")),
            dialed=_clean(msg.get("Exten")) if mode == "observe" else None,
            mode=mode,
            queue=queue,
        )
        self._calls[uid] = call
        self._by_id[call.call_id] = call
        return call

    def _offer(self, call: _Call, queue: str, at: datetime, out: list[Event]) -> None:
        call.queue = queue
        call.in_queue = True
        if call.offered_at is None:
            call.offered_at = at
        self._emit(out, call, CallEventKind.OFFERED, at, key=queue)
        early = self._early_recording.pop(call.caller_uid, None)
        if early is not None:
            self._recording_started(call, call.caller_uid, early, at, out)

    def _recording_started(self, call: _Call, uid: str, file: str, at: datetime, out: list[Event]) -> None:
        file = self.call_prefix + file  # `east:/var/spool/…`: the same path on two PBXs is two files
        call.recordings[uid] = file
        self._emit(out, call, CallEventKind.RECORDING_STARTED, at, key=f"{uid}|{file}", detail=file)

    def _add_leg(self, call: _Call, leg_uid: str, agent: str, leg_name: str | None) -> None:
        call.legs[leg_uid] = agent
        self._legs[leg_uid] = call
        if leg_name:
            self._name_channel(leg_name, leg_uid)

    def _answer(
        self,
        call: _Call,
        leg: str,
        at: datetime,
        out: list[Event],
        hold_s: int | None = None,
        detail: str | None = None,
        untimed: bool = False,
    ) -> None:
        """`hold_s`: Asterisk's HoldTime when it gives one (AgentConnect); else the seconds since
        the offer on the events' clock (exact with `timestampevents = yes`). `untimed`: nobody
        says when it was answered (`at` is now): neither the answer time nor the hold is guessed."""
        current = call.answered_leg
        if current is not None and current != leg and current not in call.completed_legs:
            return  # already talking to another agent leg (ringall loser's late event)
        call.answered_leg = leg
        call.in_queue = False
        if call.answered_at is None and not untimed:
            call.answered_at = at
        if hold_s is None and call.offered_at is not None and not untimed:
            hold_s = _between(call.offered_at, at)
        self._emit(
            out,
            call,
            CallEventKind.ANSWERED,
            at,
            key=leg,
            agent=call.legs[leg],
            hold_s=hold_s,
            detail=detail,
            untimed=untimed,
        )

    def _complete(
        self,
        call: _Call,
        leg: str,
        at: datetime,
        out: list[Event],
        hold_s: int | None = None,
        talk_s: int | None = None,
    ) -> None:
        if leg in call.completed_legs or leg not in call.legs:
            return
        call.completed_legs.add(leg)
        if talk_s is None and leg == call.answered_leg and call.answered_at is not None:
            # no AgentComplete TalkTime (control mode, or it came after both channels were gone)
            talk_s = _between(call.answered_at, at)
        self._emit(
            out,
            call,
            CallEventKind.AGENT_COMPLETED,
            at,
            key=leg,
            agent=call.legs[leg],
            hold_s=hold_s,
            talk_s=talk_s,
        )

    def _settle_gone(self, call: _Call, at: datetime, out: list[Event]) -> None:
        """Agent legs that hung up without an AgentComplete yet: completed without a talk time."""
        for leg in sorted(call.gone_legs):
            self._complete(call, leg, at, out)
        call.gone_legs.clear()

    def _wait_for_complete(self, call: _Call) -> None:
        self._awaiting[call.call_id] = self._fed + COMPLETE_WAIT

    def _end_overdue(self, out: list[Event], agent: str | None = None, queue: str | None = None) -> None:
        """End the calls that waited long enough (or whose agent's member state says the call is over)."""
        for call_id, until in list(self._awaiting.items()):
            call = self._by_id.get(call_id)
            if call is None or call.ended or call.ending is None:
                del self._awaiting[call_id]
                continue
            if self._fed > until or (agent is not None and agent == call.agent and queue == call.queue):
                del self._awaiting[call_id]
                self._hang_up(call, call.ending, self.clock(), out)

    def _open_leg(self, call: _Call) -> str | None:
        leg = call.answered_leg
        return leg if leg is not None and leg not in call.completed_legs else None

    def _settle_abandon(self, call: _Call, at: datetime, out: list[Event], status: str | None) -> None:
        if call.pending_abandon is None:
            return
        queue, hold = call.pending_abandon
        call.pending_abandon = None
        call.in_queue = False
        hold_s = _seconds(hold)
        if status is None:
            self._emit(out, call, CallEventKind.ABANDONED, at, key=queue, hold_s=hold_s)
        else:
            self._emit(
                out, call, CallEventKind.LEFT_QUEUE, at, key=queue, detail=status.lower(), hold_s=hold_s
            )

    def _hang_up(self, call: _Call, cause: str, at: datetime, out: list[Event]) -> None:
        if call.answered_leg is None and call.in_queue:
            # hung up while waiting: app_queue says QueueCallerAbandon; control mode has no such event
            call.in_queue = False
            self._emit(out, call, CallEventKind.ABANDONED, at, key=call.queue or "")
        leg = self._open_leg(call)
        if leg is not None:
            self._complete(call, leg, at, out)
        call.gone_legs.clear()
        self._awaiting.pop(call.call_id, None)
        for uid, file in call.recordings.items():
            self._emit(out, call, CallEventKind.RECORDING_READY, at, key=f"{uid}|{file}", detail=file)
        call.ended = True
        call.ending = None
        self._emit(out, call, CallEventKind.HUNG_UP, at, detail=cause)
        self._ended.append(call)
        while len(self._ended) > self.retain_ended:
            self._drop(self._ended.popleft())

    def _drop(self, call: _Call) -> None:
        """Forget an ended call (kept for a while so late AMI events still find it)."""
        if self._calls.get(call.caller_uid) is call:
            del self._calls[call.caller_uid]
        if self._by_id.get(call.call_id) is call:
            del self._by_id[call.call_id]
        for leg in call.legs:
            if self._legs.get(leg) is call:
                del self._legs[leg]

    # ---------------------------------------------------------------- handlers

    def _queue_caller_join(self, msg: AmiMessage, out: list[Event]) -> None:
        if not msg.get("Uniqueid"):
            return
        self._remember(msg)
        at = self._at(msg)
        call = self._call_of(msg)
        if call is None:
            if self._from_records(msg):
                return
            call = self._new_call(msg, "observe", msg.get("Queue"))
        else:
            self._settle_abandon(call, at, out, "exit")
        self._offer(call, msg.get("Queue") or self.default_queue, at, out)

    def _user_event(self, msg: AmiMessage, out: list[Event]) -> None:
        name = msg.get("UserEvent")
        if name == WAIT_TIMEOUT_USEREVENT:  # control mode: nobody was connected in time
            call = self._call_of(msg)
            if call is not None and call.answered_leg is None and call.in_queue:
                call.in_queue = False
                at = self._at(msg)
                self._emit(out, call, CallEventKind.LEFT_QUEUE, at, key=call.queue or "", detail="timeout")
            return
        if name == DIAL_END_USEREVENT:
            self._dial_failed(msg, out)
            return
        if name != WAITING_USEREVENT or not msg.get("Uniqueid"):
            return
        self._remember(msg)
        queue = msg.get("Queue") or self.default_queue
        call = self._call_of(msg)
        if call is None and self._from_records(msg):
            return
        call = call or self._new_call(msg, "control", queue)
        call.ivr_choice = _clean(msg.get("IvrChoice")) or call.ivr_choice
        self._offer(call, queue, self._at(msg), out)

    def _dial_failed(self, msg: AmiMessage, out: list[Event]) -> None:
        """[hotline-connect]'s Dial() ended unanswered. When it failed before any agent leg
        existed (`PJSIP/1001` unregistered: no DialBegin, no DialEnd), this is the only word.
        CHANUNAVAIL/CONGESTION: the router pauses the agent as "phone-unreachable"."""
        call = self._call_of(msg)
        if call is None or call.mode != "control" or call.answered_leg is not None or call.ended:
            return
        status = (msg.get("DialStatus") or "").lower()
        agent = _clean(msg.get("Agent"))
        if call.dial_reported:
            call.dial_reported = False
        elif agent is not None:
            at = self._at(msg)
            self._emit(
                out,
                call,
                CallEventKind.RING_NO_ANSWER,
                at,
                key="dial",
                once=False,
                agent=agent,
                detail=status,
            )

    def _queue_caller_abandon(self, msg: AmiMessage, out: list[Event]) -> None:
        call = self._call_of(msg)
        if call is not None and call.answered_leg is None:
            queue = msg.get("Queue") or call.queue or self.default_queue
            call.pending_abandon = (queue, msg.get("HoldTime", ""))

    def _queue_caller_leave(self, msg: AmiMessage, out: list[Event]) -> None:
        call = self._call_of(msg)
        if call is not None and call.pending_abandon is None and call.answered_leg is None:
            call.in_queue = False

    def _var_set(self, msg: AmiMessage) -> list[Event]:
        variable, uid = msg.get("Variable"), msg.get("Uniqueid")
        if not uid:
            return []
        if variable == "MIXMONITOR_FILENAME":
            file = msg.get("Value", "")
            self._files[uid] = file
            self._app_files.pop(uid, None)
            started: list[Event] = []
            self._start_file(uid, file, self._at(msg), started)
            return started
        if variable == "QUEUESTATUS":
            call = self._calls.get(uid)
            value = msg.get("Value", "")
            if call is not None and value and call.answered_leg is None and not call.ended:
                out: list[Event] = []
                if call.pending_abandon is None:
                    call.pending_abandon = (call.queue or self.default_queue, "")
                self._settle_abandon(call, self._at(msg), out, value)
                return out
        return []

    def _agent_called(self, msg: AmiMessage, out: list[Event]) -> None:
        call = self._call_of(msg)
        leg = msg.get("DestUniqueid")
        if call is None or not leg:
            return
        agent = self.agent_of(msg.get("Interface") or msg.get("DestChannel", ""))
        if agent is None:
            return
        self._add_leg(call, leg, agent, msg.get("DestChannel"))
        self._emit(out, call, CallEventKind.RINGING, self._at(msg), key=leg, agent=agent)

    def _agent_ring_no_answer(self, msg: AmiMessage, out: list[Event]) -> None:
        call = self._call_of(msg)
        leg = msg.get("DestUniqueid")
        if call is None or not leg or leg not in call.legs:
            return
        self._emit(out, call, CallEventKind.RING_NO_ANSWER, self._at(msg), key=leg, agent=call.legs[leg])

    def _agent_connect(self, msg: AmiMessage, out: list[Event]) -> None:
        call = self._call_of(msg)
        leg = msg.get("DestUniqueid")
        if call is None or not leg:
            return
        if leg not in call.legs:
            agent = self.agent_of(msg.get("Interface") or msg.get("DestChannel", ""))
            if agent is None:
                return
            self._add_leg(call, leg, agent, msg.get("DestChannel"))
        call.queue_answered = True
        self._answer(call, leg, self._at(msg), out, _seconds(msg.get("HoldTime")))

    def _agent_complete(self, msg: AmiMessage, out: list[Event]) -> None:
        call, leg = self._find_completed_leg(msg)
        if call is None or leg is None:
            return
        at = self._at(msg)
        self._complete(call, leg, at, out, _seconds(msg.get("HoldTime")), _seconds(msg.get("TalkTime")))
        call.gone_legs.discard(leg)
        if call.ending is not None:
            self._hang_up(call, call.ending, at, out)

    def _find_completed_leg(self, msg: AmiMessage) -> tuple[_Call | None, str | None]:
        leg = msg.get("DestUniqueid")
        if leg and leg in self._legs:
            return self._legs[leg], leg
        agent = self.agent_of(msg.get("Interface") or "")
        call = self._call_of(msg)
        candidates = [call] if call is not None else list(self._calls.values())
        queue = msg.get("Queue")
        for cand in candidates:
            if cand is None or (call is None and queue and cand.queue != queue):
                continue
            for leg_uid, leg_agent in cand.legs.items():
                if leg_agent == agent and leg_uid == cand.answered_leg and leg_uid not in cand.completed_legs:
                    return cand, leg_uid
        return None, None

    def _dial_begin(self, msg: AmiMessage, out: list[Event]) -> None:
        leg, dest = msg.get("DestUniqueid"), msg.get("DestChannel", "")
        if not leg:
            return
        if dest:
            self._name_channel(dest, leg)
        call = self._call_of(msg)
        at = self._at(msg)
        if call is None:
            if not msg.get("Channel"):  # an Originate: no calling channel
                agent = self.agent_of(dest)
                call_id = self._originates.pop(agent, None) if agent else None
                originated = self._by_id.get(call_id) if call_id else None
                if originated is not None and agent is not None and not originated.ended:
                    self._add_leg(originated, leg, agent, dest)
                    self._emit(out, originated, CallEventKind.RINGING, at, key=leg, agent=agent)
            return
        if call.answered_leg is not None:
            self._settle_gone(call, at, out)  # the caller goes on (Redirect): the agent's part is over
            if self._open_leg(call) is None and not call.transferred:
                call.transferred = True
                target = self.agent_of(dest) or dest
                self._emit(
                    out,
                    call,
                    CallEventKind.TRANSFERRED,
                    at,
                    key=leg,
                    agent=call.agent,
                    detail=target,
                )
            return
        if call.mode == "control" and leg not in call.legs:
            agent = self.agent_of(dest)
            if agent is not None:
                self._add_leg(call, leg, agent, dest)
                self._emit(out, call, CallEventKind.RINGING, at, key=leg, agent=agent)

    def _dial_end(self, msg: AmiMessage, out: list[Event]) -> None:
        call = self._call_of(msg)
        leg = msg.get("DestUniqueid")
        if call is None or call.mode != "control" or not leg or leg not in call.legs:
            return
        status = msg.get("DialStatus", "")
        at = self._at(msg)
        if status == "ANSWER":
            self._answer(call, leg, at, out)
        elif status and call.answered_leg is None:
            call.dial_reported = True
            self._emit(
                out,
                call,
                CallEventKind.RING_NO_ANSWER,
                at,
                key=leg,
                agent=call.legs[leg],
                detail=status.lower(),
            )

    def _bridge_enter(self, msg: AmiMessage, out: list[Event]) -> None:
        self._remember(msg)
        bridge, uid = msg.get("BridgeUniqueid"), msg.get("Uniqueid")
        if not bridge or not uid:
            return
        members = self._bridges.setdefault(bridge, set())
        members.add(uid)
        # control mode Originate+Bridge: a channel bridged with a waiting caller is the agent leg
        for other in members:
            call = self._calls.get(other) or self._calls.get(uid)
            if call is None or call.mode != "control" or call.answered_leg is not None or call.ended:
                continue
            leg = uid if other == call.caller_uid else other
            if leg == call.caller_uid:
                continue
            if leg not in call.legs:
                agent = self.agent_of(self._uid_names.get(leg, ""))
                if agent is None:
                    continue
                self._add_leg(call, leg, agent, None)
            self._answer(call, leg, self._at(msg), out)
            return

    def _bridge_leave(self, msg: AmiMessage, out: list[Event]) -> None:
        bridge, uid = msg.get("BridgeUniqueid"), msg.get("Uniqueid")
        if bridge and uid and bridge in self._bridges:
            members = self._bridges[bridge]
            members.discard(uid)
            if not members:
                del self._bridges[bridge]

    def _hangup(self, msg: AmiMessage, out: list[Event]) -> None:
        uid = msg.get("Uniqueid")
        if not uid:
            return
        try:
            self._hangup_of(uid, msg, out)
        finally:
            self._forget_channel(uid)

    def _hangup_of(self, uid: str, msg: AmiMessage, out: list[Event]) -> None:
        at = self._at(msg)
        call = self._calls.get(uid)
        if call is not None and not call.ended:
            self._settle_abandon(call, at, out, None)
            cause = msg.get("Cause-txt") or msg.get("Cause") or "unknown"
            if call.mode == "observe" and self._open_leg(call) is not None:
                call.ending = cause  # AgentComplete (with TalkTime) or the leg's Hangup follows
                if call.answered_leg in call.gone_legs:
                    self._wait_for_complete(call)  # both gone: only AgentComplete is left to come
                return
            self._hang_up(call, cause, at, out)
            return
        leg_call = self._legs.get(uid)
        if leg_call is not None and uid not in self._optimised:
            waits = leg_call.queue_answered and uid not in leg_call.completed_legs
            if uid == leg_call.answered_leg and waits:
                leg_call.gone_legs.add(uid)  # AgentComplete (TalkTime) is still to come
                if leg_call.ending is not None:
                    self._wait_for_complete(leg_call)
                return
            if uid == leg_call.answered_leg:
                self._complete(leg_call, uid, at, out)
            if leg_call.ending is not None:
                self._hang_up(leg_call, leg_call.ending, at, out)

    def _blind_transfer(self, msg: AmiMessage, out: list[Event]) -> None:
        if msg.get("Result") != "Success":
            return
        call = self._calls.get(msg.get("TransfereeUniqueid", ""))
        if call is None:
            return
        call.transferred = True
        target = msg.get("Extension", "")
        self._emit(
            out,
            call,
            CallEventKind.TRANSFERRED,
            self._at(msg),
            key=target,
            agent=call.agent,
            detail=target,
        )

    def _attended_transfer(self, msg: AmiMessage, out: list[Event]) -> None:
        if msg.get("Result") != "Success":
            return
        call = self._calls.get(msg.get("TransfereeUniqueid", ""))
        if call is None:
            return
        call.transferred = True
        skip = {call.caller_uid, msg.get("OrigTransfererUniqueid"), msg.get("SecondTransfererUniqueid")}
        target = ""
        for bridge in (msg.get("DestBridgeUniqueid"), msg.get("SecondBridgeUniqueid")):
            for uid in sorted(self._bridges.get(bridge or "", ())):
                if uid not in skip:
                    name = self._uid_names.get(uid, "")
                    target = self.agent_of(name) or name
                    break
            if target:
                break
        self._emit(
            out,
            call,
            CallEventKind.TRANSFERRED,
            self._at(msg),
            key=target,
            agent=call.agent,
            detail=target or None,
        )

    def _dtmf_end(self, msg: AmiMessage, out: list[Event]) -> None:
        call = self._call_of(msg)
        if call is None or call.ended or msg.get("Direction") != "Received":
            return
        digit = msg.get("Digit", "")
        self._emit(out, call, CallEventKind.DTMF, self._at(msg), key=digit, once=False, detail=digit)

    def _mixmonitor_start(self, msg: AmiMessage, out: list[Event]) -> None:
        uid = msg.get("Uniqueid")
        if not uid:
            return
        file = self._files.get(uid) or self._app_files.pop(uid, None) or ""
        self._start_file(uid, file, self._at(msg), out)

    def _start_file(self, uid: str, file: str, at: datetime, out: list[Event]) -> None:
        """A recording of channel `uid` began (VarSet, MixMonitorStart or Newexten: once)."""
        call = self._calls.get(uid) or self._legs.get(uid)
        if call is None:
            self._early_recording[uid] = file
            return
        if call.recordings.get(uid) == file:
            return  # the same recording told twice (VarSet, then MixMonitorStart)
        self._recording_started(call, uid, file, at, out)

    def _newexten(self, msg: AmiMessage, out: list[Event]) -> None:
        uid = msg.get("Uniqueid")
        if not uid:
            return
        if msg.get("Application") == "MixMonitor":
            data = msg.get("AppData") or ""
            file = data.split(",")[0].strip()
            if file:
                self._app_files[uid] = file  # VarSet MIXMONITOR_FILENAME, if it comes, has the full name
            return
        self._flush_app_file(msg, out)

    def _flush_app_file(self, msg: AmiMessage, out: list[Event]) -> None:
        uid = msg.get("Uniqueid")
        file = self._app_files.pop(uid, None) if uid else None
        if uid and file is not None:
            self._start_file(uid, file, self._at(msg), out)

    def _mixmonitor_stop(self, msg: AmiMessage, out: list[Event]) -> None:
        uid = msg.get("Uniqueid", "")
        call = self._calls.get(uid) or self._legs.get(uid)
        if call is None or uid not in call.recordings:
            return
        file = call.recordings.pop(uid)
        self._emit(out, call, CallEventKind.RECORDING_READY, self._at(msg), key=f"{uid}|{file}", detail=file)

    def _mixmonitor_mute(self, msg: AmiMessage, out: list[Event]) -> None:
        uid = msg.get("Uniqueid", "")
        call = self._calls.get(uid) or self._legs.get(uid)
        if call is None:
            return
        kind = CallEventKind.RECORDING_PAUSED if msg.get("State") == "1" else CallEventKind.RECORDING_RESUMED
        self._emit(out, call, kind, self._at(msg), key=uid, once=False, detail=call.recordings.get(uid))

    def _hold(self, msg: AmiMessage, out: list[Event]) -> None:
        uid = msg.get("Uniqueid", "")
        call = self._calls.get(uid) or self._legs.get(uid)
        if call is None or call.ended or call.held:
            return
        call.held = True
        self._emit(out, call, CallEventKind.HELD, self._at(msg), key=uid, once=False, agent=call.agent)

    def _unhold(self, msg: AmiMessage, out: list[Event]) -> None:
        uid = msg.get("Uniqueid", "")
        call = self._calls.get(uid) or self._legs.get(uid)
        if call is None or call.ended or not call.held:
            return
        call.held = False
        self._emit(out, call, CallEventKind.UNHELD, self._at(msg), key=uid, once=False, agent=call.agent)

    def _local_optimization(self, msg: AmiMessage, out: list[Event]) -> None:
        uid = msg.get("LocalOneUniqueid")
        if uid:
            self._optimised.add(uid)

    # ------------------------------------------------------------------ members

    def _member(self, msg: AmiMessage, out: list[Event], *, present: bool | None = True) -> None:
        queue = msg.get("Queue")
        agent = self.agent_of(msg.get("Interface") or msg.get("Location") or msg.get("StateInterface") or "")
        if not queue or agent is None:
            return
        state = self._members.setdefault((queue, agent), _Member())
        at = self._at(msg)
        login = msg.get("LoginTime", "")
        if present is False:
            if state.present:
                state.present = False
                self._agent_event(out, agent, queue, AgentEventKind.LEFT_QUEUE, at, login)
            return
        if not state.present:
            state.present = True
            # A static member is configuration, not a log-in: only dynamic members (QueueAdd, a
            # console or phone login) are reported as joining. Otherwise the first QueueMemberStatus
            # or a resync would log in every agent of queues.conf on the router.
            if msg.get("Membership") != "static":
                self._agent_event(out, agent, queue, AgentEventKind.JOINED_QUEUE, at, login)
        paused = msg.get("Paused") == "1"
        if state.paused is None or state.paused != paused:
            was_known = state.paused is not None
            state.paused = paused
            if paused or was_known:
                kind = AgentEventKind.PAUSED if paused else AgentEventKind.UNPAUSED
                reason = _clean(msg.get("PausedReason")) if paused else None
                self._agent_event(out, agent, queue, kind, at, msg.get("LastPause", ""), detail=reason)
        device = _DEVICE_STATE.get(msg.get("Status", ""))
        if device is not None:
            self._lost_phones.discard(agent)
        if device is not None and device != state.device:
            state.device = device
            disc = f"{device}|{msg.get('CallsTaken', '')}|{msg.get('LastCall', '')}"
            self._agent_event(out, agent, queue, AgentEventKind.DEVICE_STATE, at, disc, detail=device)

    def _agent_event(
        self,
        out: list[Event],
        agent: str,
        queue: str | None,
        kind: AgentEventKind,
        at: datetime,
        disc: str,
        detail: str | None = None,
    ) -> None:
        key = f"agent|{agent}|{queue}|{kind.value}|{disc}"
        n = self._member_seen[key]
        self._member_seen[key] = n + 1
        if len(self._member_seen) > 100_000:  # bound memory on a PBX that runs for years
            self._member_seen.clear()
        event_id = self._digest(f"{key}|{n}")
        out.append(
            AgentEvent(
                agent=agent, kind=kind, at=at, event_id=event_id, source=SOURCE, queue=queue, detail=detail
            )
        )

    def link_lost(self, at: datetime) -> list[Event]:
        """The link to this PBX is lost: every agent phone on it is shown unavailable, so a
        center with several PBXs routes no call to them (the other PBXs' go on). Their next
        report (the re-login's resync) says what they are; `link_restored` covers the rest."""
        out: list[Event] = []
        for agent in sorted(set(self.devices.values())):
            self._device_states[agent] = "unavailable"
            for (_, member_agent), member in self._members.items():
                if member_agent == agent:
                    member.device = "unavailable"
            self._lost_phones.add(agent)
            self._agent_event(out, agent, None, AgentEventKind.DEVICE_STATE, at, "link-lost", "unavailable")
        return out

    def link_restored(self, at: datetime) -> list[Event]:
        """After the re-login's resync: the phones it said nothing of (a PBX that lists only the
        devices whose state was set) are taken as idle again, as before the loss."""
        out: list[Event] = []
        for agent in sorted(self._lost_phones):
            if self._device_states.get(agent) == "unavailable":
                self._device_states[agent] = "idle"
                self._agent_event(out, agent, None, AgentEventKind.DEVICE_STATE, at, "link-back", "idle")
        self._lost_phones.clear()
        return out

    def _device_state(self, msg: AmiMessage, out: list[Event]) -> None:
        """An agent's phone changed state (control mode keeps agents on personal calls out)."""
        agent = self.devices.get(msg.get("Device", ""))
        state = _DEVICE_STATE_NAMES.get(msg.get("State", ""))
        if agent is not None:
            self._lost_phones.discard(agent)
        if agent is None or state is None or self._device_states.get(agent) == state:
            return
        self._device_states[agent] = state
        self._agent_event(out, agent, None, AgentEventKind.DEVICE_STATE, self._at(msg), state, detail=state)

    def _member_update(self, msg: AmiMessage, out: list[Event]) -> None:
        self._member(msg, out)
        if self._awaiting and msg.event == "QueueMemberStatus":  # the agent is free: the call is over
            self._end_overdue(out, self.agent_of(msg.get("Interface") or ""), msg.get("Queue"))

    def _member_removed(self, msg: AmiMessage, out: list[Event]) -> None:
        self._member(msg, out, present=False)

    # ------------------------------------------------------------------- resync

    def _queue_member_item(self, msg: AmiMessage, out: list[Event]) -> None:
        self._snapshot_members.append(msg)

    def _queue_entry_item(self, msg: AmiMessage, out: list[Event]) -> None:
        self._snapshot_entries.append(msg)

    def _core_show_channel(self, msg: AmiMessage, out: list[Event]) -> None:
        self._snapshot_channels.append(msg)

    def _queue_status_complete(self, msg: AmiMessage, out: list[Event]) -> None:
        members, self._snapshot_members = self._snapshot_members, []
        entries, self._snapshot_entries = self._snapshot_entries, []
        out.extend(self.apply_queue_status(members + entries, self._at(msg)))

    def _core_show_channels_complete(self, msg: AmiMessage, out: list[Event]) -> None:
        channels, self._snapshot_channels = self._snapshot_channels, []
        out.extend(self.apply_channels(channels, self._at(msg)))

    def apply_queue_status(self, items: list[AmiMessage], at: datetime | None = None) -> list[Event]:
        """Reconcile members (QueueMember items) and known waiting callers (QueueEntry).

        Unknown callers in a QueueEntry are left to `apply_channels`: QueueEntry
        has no Linkedid, so it cannot name the call.
        """
        at = at or self.clock()
        out: list[Event] = []
        for item in items:
            if item.event == "QueueMember":
                self._member(item, out)
                agent = self.agent_of(item.get("Location") or item.get("Interface") or "")
                last = _seconds(item.get("LastCall"))
                if agent is not None and last:
                    stamp = datetime.fromtimestamp(last, UTC)
                    if stamp > self._last_calls.get(agent, stamp - timedelta(seconds=1)):
                        self._last_calls[agent] = stamp
            elif item.event == "QueueEntry":
                call = self._calls.get(item.get("Uniqueid", ""))
                queue = item.get("Queue")
                if (
                    call is not None
                    and not call.ended
                    and queue
                    and call.answered_leg is None
                    and (call.queue != queue or not call.in_queue)
                ):
                    self._offer(call, queue, at - timedelta(seconds=_seconds(item.get("Wait")) or 0), out)
        return out

    def _ended_at(self, call: _Call, at: datetime) -> datetime:
        """When a call that ended while the link was down ended, as far as Asterisk says: the
        CDRs (`cdr_end`, when the link reads Master.csv), else its agent's QueueMember `LastCall`
        (a QueueStatus before this; observe mode), else `at` (now)."""
        if self.cdr_end is not None and (ended := self.cdr_end(call.caller_uid)) is not None:
            return min(max(ended, call.answered_at or ended), at)
        agent, answered = call.agent, call.answered_at
        last = self._last_calls.get(agent) if agent is not None else None
        if last is None or answered is None or last < answered - timedelta(seconds=1):
            return at
        return max(last, answered)

    def unknown_waiting(self, channels: list[AmiMessage]) -> list[str]:
        """The channels of a CoreShowChannels snapshot that wait in a control-mode context for
        calls this translator does not know: they came while the link was down, and only their
        channel variables say their queue and IVR choice (the resync asks for them)."""
        return [
            item["Channel"]
            for item in channels
            if item.get("Context") in self.waiting_contexts
            and item.get("Channel")
            and item.get("Uniqueid")
            and item["Uniqueid"] not in self._calls
        ]

    def answered_unheard(self, channels: list[AmiMessage]) -> list[tuple[str, str]]:
        """(channel, Uniqueid) of the app_queue callers of a CoreShowChannels snapshot that are
        bridged while this translator knows of no answer: answered while the link was down. Their
        QEHOLDTIME (app_queue's wait before the answer) dates the answer (the resync asks for it)."""
        out = []
        for item in channels:
            uid, channel = item.get("Uniqueid", ""), item.get("Channel", "")
            if item.get("Application") != "Queue" or not uid or not channel:
                continue
            if not (item.get("BridgeId") or item.get("BridgeID")):
                continue
            call = self._calls.get(uid)
            if call is None or (not call.ended and call.answered_leg is None):
                out.append((channel, uid))
        return out

    def apply_channels(
        self,
        channels: list[AmiMessage],
        at: datetime | None = None,
        hold_times: Mapping[str, int] | None = None,
        waiting_vars: Mapping[str, Mapping[str, str]] | None = None,
    ) -> list[Event]:
        """Reconcile with a CoreShowChannels (or Status) snapshot taken after a (re)connect.

        Calls we knew that are gone ended while the link was down: they get the
        missing AGENT_COMPLETED/HUNG_UP. Callers we did not know (in a Queue,
        or in a control-mode waiting context) are offered; a caller bridged with
        a known agent leg is answered. Already-emitted events are not repeated.

        Times are Asterisk's: a caller found here was offered `Duration` ago (its channel's
        age), and answered after `hold_times[caller uid]` seconds of that (app_queue's
        QEHOLDTIME, when the caller knows it), else at an unknown time (`untimed`: its agent
        leg's age is when that leg began ringing, on a real Asterisk as old as the offer); the
        ANSWERED says `detail="resync"` (answered while Hotline was
        reconnecting: the agent gets a pop). A call gone meanwhile ended at its agent's
        QueueMember `LastCall` (apply_queue_status first), else now.

        `waiting_vars`: channel name → its HOTLINE_QUEUE / HOTLINE_IVR, for the control-mode
        callers not known yet (`unknown_waiting`): without them they are offered in the default
        queue, as a UserEvent HotlineWaiting without `Queue:` is.
        """
        at = at or self.clock()
        found_vars = waiting_vars or {}
        holds = hold_times or {}
        ages = {
            c["Uniqueid"]: d
            for c in channels
            if c.get("Uniqueid") and (d := _duration(c.get("Duration") or c.get("Seconds"))) is not None
        }
        out: list[Event] = []
        by_uid = {c["Uniqueid"]: c for c in channels if c.get("Uniqueid")}
        for item in channels:
            if item.get("Channel") and item.get("Uniqueid"):
                self._name_channel(item["Channel"], item["Uniqueid"])
        for call in list(self._calls.values()):
            if call.ended or call.caller_uid in by_uid:
                continue
            self._settle_abandon(call, at, out, None)
            self._hang_up(call, "ended while the AMI link was down", self._ended_at(call, at), out)
        bridges: dict[str, list[AmiMessage]] = {}
        for item in channels:
            bridge = item.get("BridgeId") or item.get("BridgeID")
            if bridge:
                bridges.setdefault(bridge, []).append(item)
        # Callers not known yet are offered oldest first: the router breaks a tie of arrival (the
        # age is whole seconds: two callers within one second) by the order it is told of them,
        # and Asterisk lists its channels in no particular order. Among callers of the same age,
        # the Uniqueid's counter says who came first (one PBX numbers its channels in order).
        for item in sorted(channels, key=lambda c: _arrival_order(c, ages)):
            uid = item.get("Uniqueid", "")
            app = item.get("Application", "")
            waiting = item.get("Context") in self.waiting_contexts
            if not uid or (app != "Queue" and not waiting):
                continue
            known = self._calls.get(uid)
            if known is None and self._from_records(item):
                continue  # told whole from the CDRs: a CDR is written when the caller hangs up
            if known is None:
                data = item.get("ApplicationData") or item.get("Data") or ""
                variables = found_vars.get(item.get("Channel", ""), {})
                queue = data.split(",")[0] if app == "Queue" else variables.get(QUEUE_VARIABLE, "")
                call = self._new_call(item, "observe" if app == "Queue" else "control", None)
                call.ivr_choice = _clean(variables.get(IVR_VARIABLE)) or call.ivr_choice
                age = ages.get(uid)
                self._offer(call, queue or self.default_queue, at - timedelta(seconds=age or 0), out)
            elif known.ended:
                continue
            else:
                call = known
            bridge = item.get("BridgeId") or item.get("BridgeID")
            if not bridge:
                continue
            for peer in bridges.get(bridge, []):
                leg = peer.get("Uniqueid", "")
                if leg == uid:
                    continue
                agent = call.legs.get(leg) or self.agent_of(peer.get("Channel", ""))
                if agent is None:
                    continue
                if leg not in call.legs:
                    self._add_leg(call, leg, agent, peer.get("Channel"))
                if call.answered_leg is None:
                    call.pending_abandon = None
                    call.queue_answered = app == "Queue"  # app_queue's AgentComplete will follow
                    if uid in holds and call.offered_at is not None:
                        answered = call.offered_at + timedelta(seconds=holds[uid])
                        self._answer(call, leg, min(answered, at), out, detail="resync")
                    else:  # the agent leg's age is when it began ringing (a real Asterisk 22.10.1)
                        self._answer(call, leg, at, out, detail="resync", untimed=True)
        return out


Handler = Callable[[AmiTranslator, AmiMessage, list[Event]], None]
_HANDLERS: dict[str, Handler] = {
    "QueueCallerJoin": AmiTranslator._queue_caller_join,
    "QueueCallerLeave": AmiTranslator._queue_caller_leave,
    "QueueCallerAbandon": AmiTranslator._queue_caller_abandon,
    "UserEvent": AmiTranslator._user_event,
    "AgentCalled": AmiTranslator._agent_called,
    "AgentRingNoAnswer": AmiTranslator._agent_ring_no_answer,
    "AgentConnect": AmiTranslator._agent_connect,
    "AgentComplete": AmiTranslator._agent_complete,
    "DialBegin": AmiTranslator._dial_begin,
    "DialEnd": AmiTranslator._dial_end,
    "BridgeEnter": AmiTranslator._bridge_enter,
    "BridgeLeave": AmiTranslator._bridge_leave,
    "Hangup": AmiTranslator._hangup,
    "BlindTransfer": AmiTranslator._blind_transfer,
    "AttendedTransfer": AmiTranslator._attended_transfer,
    "DTMFEnd": AmiTranslator._dtmf_end,
    "MixMonitorStart": AmiTranslator._mixmonitor_start,
    "MixMonitorStop": AmiTranslator._mixmonitor_stop,
    "MixMonitorMute": AmiTranslator._mixmonitor_mute,
    "Hold": AmiTranslator._hold,
    "Unhold": AmiTranslator._unhold,
    "LocalOptimizationBegin": AmiTranslator._local_optimization,
    "DeviceStateChange": AmiTranslator._device_state,
    "QueueMemberStatus": AmiTranslator._member_update,
    "QueueMemberPause": AmiTranslator._member_update,
    "QueueMemberAdded": AmiTranslator._member_update,
    "QueueMemberRemoved": AmiTranslator._member_removed,
    "QueueMember": AmiTranslator._queue_member_item,
    "QueueEntry": AmiTranslator._queue_entry_item,
    "QueueStatusComplete": AmiTranslator._queue_status_complete,
    "CoreShowChannel": AmiTranslator._core_show_channel,
    "CoreShowChannelsComplete": AmiTranslator._core_show_channels_complete,
}


def _between(start: datetime, end: datetime) -> int:
    """Whole seconds from `start` to `end`, as Asterisk counts HoldTime/TalkTime (never negative)."""
    return max(0, round((end - start).total_seconds()))


def _arrival_order(channel: AmiMessage, ages: Mapping[str, int]) -> tuple[int, float, int, str]:
    """Oldest first: by age (seconds, larger first), then by the Uniqueid (`[system-]epoch.n`:
    the epoch of its creation, then Asterisk's channel counter); unreadable ids last, by name."""
    uid = channel.get("Uniqueid", "")
    epoch, _, counter = uid.rpartition("-")[2].partition(".")
    try:
        created = (float(epoch), int(counter))
    except ValueError:
        created = (math.inf, 0)
    return (-(ages.get(uid) or 0), *created, uid)


def _duration(value: str | None) -> int | None:
    """CoreShowChannel `Duration` (HH:MM:SS) or Status `Seconds` → seconds; None if absent."""
    if not value:
        return None
    if value.isdigit():
        return int(value)
    parts = value.split(":")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2])
    return None


def _seconds(value: str | None) -> int | None:
    """AMI's HoldTime/TalkTime (whole seconds as text); None if absent or not a number."""
    return int(value) if value is not None and value.isdigit() else None
