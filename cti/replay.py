"""`hotline ami replay FILE...`: run raw AMI traces through the translator.

Prints one JSON line per call (call_id, caller, queue, outcome, agent, wait_s,
talk_s, recording, hangup_cause), or with `events=True` one line per Hotline
event. It is a debugging tool for a trace captured on a customer's PBX and the
harness of the fixture tests: the summary is folded from the CallEvents alone,
so it checks what the rest of Hotline would see.

A trace has no clock of its own (`timestampevents = no` is the default): event
times come from the `Timestamp:` header when present, otherwise from the trace's
CDRs (cdr_manager) and the channel creation times (the epoch part of Uniqueid).
Durations in the summary are Asterisk's own HoldTime/TalkTime where it gives them
(AgentConnect, AgentComplete), else the translator's from those event times.
A trace with no time at all (fragments pasted from an issue thread, 1.6's
member events) starts at the file's modification time, never at 1970.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cti.ami.errors import FrameError
from cti.ami.protocol import AmiMessage, FrameSplitter, parse_frame
from cti.ami.translate import AmiTranslator
from routing.events import AgentEvent, CallEvent, CallEventKind, Event

log = logging.getLogger(__name__)

SUMMARY_KEYS = (
    "call_id",
    "caller",
    "queue",
    "outcome",
    "agent",
    "wait_s",
    "talk_s",
    "recording",
    "hangup_cause",
)


_ANSWER_EVENTS = frozenset({"DialEnd", "BridgeEnter", "AgentConnect"})


class _TraceClock:
    """Time as far as a trace tells.

    With the trace's own CDRs (cdr_manager's `Cdr` events, one per channel at its end, in
    whole seconds), a message about a channel happens at that channel's StartTime, its
    AnswerTime (DialEnd ANSWER, BridgeEnter, AgentConnect) or its EndTime (Hangup); a Local
    `;1` without a CDR of its own borrows its `;2` half's. Otherwise (and before any CDR
    applies) the newest Uniqueid epoch seen so far. Never goes back.
    """

    def __init__(
        self,
        start: datetime | None = None,
        cdrs: dict[str, tuple[datetime, datetime | None, datetime]] | None = None,
    ) -> None:
        self.now = start or datetime.now(UTC)
        self._cdrs = cdrs or {}
        self._names: dict[str, str] = {}  # channel name -> uid
        self._uids: dict[str, str] = {}  # uid -> channel name

    def _cdr(self, uid: str) -> tuple[datetime, datetime | None, datetime] | None:
        found = self._cdrs.get(uid)
        if found is None:
            name = self._uids.get(uid, "")
            if name.endswith(";1"):
                sibling = self._names.get(name[:-1] + "2")
                found = self._cdrs.get(sibling) if sibling else None
        return found

    def learn(self, msg: AmiMessage) -> None:
        """Remember the channel names (uid <-> name) a message shows."""
        channel, uid = msg.get("Channel"), msg.get("Uniqueid")
        if channel and uid:
            self._names[channel], self._uids[uid] = uid, channel
        dest, dest_uid = msg.get("DestChannel"), msg.get("DestUniqueid")
        if dest and dest_uid:
            self._names[dest], self._uids[dest_uid] = dest_uid, dest

    def observe(self, msg: AmiMessage) -> None:
        self.learn(msg)
        uid, dest_uid = msg.get("Uniqueid"), msg.get("DestUniqueid")
        stamp = msg.get("Timestamp")  # `timestampevents = yes`: the exact time; list items have none
        if stamp:
            with contextlib.suppress(ValueError, OverflowError, OSError):
                self._advance(datetime.fromtimestamp(float(stamp), UTC))
        for key in ("Uniqueid", "DestUniqueid"):
            value = msg.get(key)
            if not value:
                continue
            head = value.partition(".")[0]
            if head.isdigit():
                self._advance(datetime.fromtimestamp(int(head), UTC))
        name = msg.event or ""
        if name == "Hangup" and uid and (cdr := self._cdr(uid)) is not None:
            self._advance(cdr[2])
        elif name in _ANSWER_EVENTS:
            answered = dest_uid if name != "BridgeEnter" else uid
            if name == "DialEnd" and msg.get("DialStatus") != "ANSWER":
                answered = None
            cdr = self._cdr(answered) if answered else None
            if cdr is not None and cdr[1] is not None:
                self._advance(cdr[1])
        elif uid and (cdr := self._cdr(uid)) is not None:
            self._advance(cdr[0])

    def _advance(self, stamp: datetime) -> None:
        if stamp > self.now:
            self.now = stamp

    def __call__(self) -> datetime:
        return self.now


def _cdr_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None


def trace_cdrs(messages: Iterable[AmiMessage]) -> dict[str, tuple[datetime, datetime | None, datetime]]:
    """UniqueID -> (StartTime, AnswerTime, EndTime) of every `Cdr` event in a trace (UTC, as
    the recorded PBX wrote them: `usegmtime`). A channel with several CDRs keeps its first
    start, its first answer and its last end."""
    found: dict[str, tuple[datetime, datetime | None, datetime]] = {}
    for msg in messages:
        if msg.event != "Cdr":
            continue
        uid = msg.get("UniqueID") or ""
        start, answer, end = (_cdr_time(msg.get(k)) for k in ("StartTime", "AnswerTime", "EndTime"))
        if not uid or start is None or end is None:
            continue
        if uid in found:
            old = found[uid]
            start, answer, end = min(old[0], start), old[1] or answer, max(old[2], end)
        found[uid] = (start, answer, end)
    return found


def trace_clock(data: bytes, start: datetime | None = None) -> _TraceClock:
    """The clock a raw trace gives (its CDRs, else its Uniqueid epochs), for its translator;
    it knows every channel's name up front, so it also serves a filtered stream (wanted_frame)."""
    messages = list(read_messages(data))
    clock = _TraceClock(first_epoch(data) or start, trace_cdrs(messages))
    for msg in messages:
        clock.learn(msg)
    return clock


@dataclass
class CallSummary:
    call_id: str
    caller: str | None = None
    queue: str | None = None
    outcome: str = "live"
    agent: str | None = None
    wait_s: int | None = None
    talk_s: int | None = None
    recording: str | None = None
    hangup_cause: str | None = None
    _kinds: list[CallEventKind] = field(default_factory=list, repr=False)

    def apply(self, event: CallEvent) -> None:
        kind = event.kind
        self._kinds.append(kind)
        self.caller = self.caller or event.caller
        if kind is CallEventKind.OFFERED:
            self.queue = event.queue
        elif kind is CallEventKind.ANSWERED and self.agent is None:
            self.agent = event.agent
            self.wait_s = event.hold_s
        elif kind is CallEventKind.AGENT_COMPLETED and event.agent == self.agent and self.talk_s is None:
            self.talk_s = event.talk_s
            if event.hold_s is not None:  # AgentComplete's HoldTime: Asterisk's own, even after a resync
                self.wait_s = event.hold_s
        elif kind in (CallEventKind.ABANDONED, CallEventKind.LEFT_QUEUE) and self.agent is None:
            self.wait_s = event.hold_s
        elif kind is CallEventKind.RECORDING_STARTED and self.recording is None:
            self.recording = event.detail
        elif kind is CallEventKind.HUNG_UP:
            self.hangup_cause = event.detail
        self.outcome = self._outcome(event)

    def _outcome(self, event: CallEvent) -> str:
        kinds = self._kinds
        if CallEventKind.TRANSFERRED in kinds:
            return "transferred"
        if CallEventKind.ANSWERED in kinds:
            return "answered"
        if CallEventKind.ABANDONED in kinds:
            return "abandoned"
        if CallEventKind.LEFT_QUEUE in kinds:
            return "timeout" if event.kind is not CallEventKind.LEFT_QUEUE else (event.detail or "left_queue")
        if CallEventKind.HUNG_UP in kinds:
            return "unanswered"
        return "ringing" if CallEventKind.RINGING in kinds else "waiting"

    def as_dict(self) -> dict[str, object]:
        return {key: getattr(self, key) for key in SUMMARY_KEYS}


def read_messages(data: bytes) -> Iterator[AmiMessage]:
    """Every parseable message of a raw trace; bad frames are logged and skipped."""
    splitter = FrameSplitter()
    for frame in splitter.feed(data):
        try:
            yield parse_frame(frame)
        except FrameError as exc:
            log.warning("replay: skipped a bad frame (%s)", exc)


def first_epoch(data: bytes) -> datetime | None:
    """The first channel creation time in a trace (events before any channel get it), else its
    first `Timestamp:` header."""
    found = re.search(rb"Uniqueid: (\d{9,11})\.", data) or re.search(rb"Timestamp: (\d{9,11})[.\r]", data)
    return datetime.fromtimestamp(int(found.group(1)), UTC) if found else None


def _file_time(path: Path) -> datetime:
    return datetime.fromtimestamp(int(path.stat().st_mtime), UTC)


def translate(
    messages: Iterable[AmiMessage],
    start: datetime | None = None,
    *,
    default_queue: str = "default",
    clock: _TraceClock | None = None,
) -> Iterator[Event]:
    """Feed messages through a fresh translator on the trace's own clock."""
    clock = clock or _TraceClock(start)
    translator = AmiTranslator(clock=clock, default_queue=default_queue)
    for msg in messages:
        clock.observe(msg)
        yield from translator.feed(msg)


def summarize(events: Iterable[Event]) -> list[CallSummary]:
    calls: dict[str, CallSummary] = {}
    for event in events:
        if isinstance(event, CallEvent):
            calls.setdefault(event.call_id, CallSummary(event.call_id)).apply(event)
    return list(calls.values())


def event_json(event: Event) -> str:
    if isinstance(event, AgentEvent):
        data: dict[str, object] = {"type": "agent", "agent": event.agent, "kind": event.kind.value}
        data.update(queue=event.queue, detail=event.detail)
    else:
        data = {"type": "call", "call_id": event.call_id, "kind": event.kind.value}
        data.update(caller=event.caller, caller_name=event.caller_name, queue=event.queue, agent=event.agent)
        data.update(detail=event.detail, source_refs=list(event.source_refs), ivr_choice=event.ivr_choice)
        data.update(hold_s=event.hold_s, talk_s=event.talk_s)
    data.update(at=event.at.isoformat(), event_id=event.event_id)
    return json.dumps(data, ensure_ascii=False)


def replay(
    paths: Iterable[str | Path], events: bool = False, default_queue: str = "default"
) -> Iterator[str]:
    """One JSON line per call of each trace (or per event with `events=True`)."""
    for path in paths:
        path = Path(path)
        data = path.read_bytes()
        clock = trace_clock(data, _file_time(path))
        stream = translate(read_messages(data), default_queue=default_queue, clock=clock)
        if events:
            yield from (event_json(e) for e in stream)
        else:
            yield from (json.dumps(s.as_dict(), ensure_ascii=False) for s in summarize(stream))
