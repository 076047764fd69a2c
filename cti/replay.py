"""`hotline ami replay FILE...`: run raw AMI traces through the translator.

Prints one JSON line per call (call_id, caller, queue, outcome, agent, wait_s,
talk_s, recording, hangup_cause), or with `events=True` one line per Hotline
event. It is a debugging tool for a trace captured on a customer's PBX and the
harness of the fixture tests: the summary is folded from the CallEvents alone,
so it checks what the rest of Hotline would see.

A trace has no clock of its own (`timestampevents = no` is the default): event
times come from the `Timestamp:` header when present, otherwise from the newest
channel creation time seen (the epoch part of Uniqueid), which is approximate.
Durations in the summary come from Asterisk's own HoldTime/TalkTime fields.
"""

from __future__ import annotations

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


class _TraceClock:
    """Time as far as a trace tells: the newest Uniqueid epoch seen so far."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.fromtimestamp(0, UTC)

    def observe(self, msg: AmiMessage) -> None:
        for key in ("Uniqueid", "DestUniqueid"):
            value = msg.get(key)
            if value:
                head = value.partition(".")[0]
                if head.isdigit():
                    stamp = datetime.fromtimestamp(int(head), UTC)
                    if stamp > self.now:
                        self.now = stamp

    def __call__(self) -> datetime:
        return self.now


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
    """The first channel creation time in a trace (events before any channel get it)."""
    found = re.search(rb"Uniqueid: (\d{9,11})\.", data)
    return datetime.fromtimestamp(int(found.group(1)), UTC) if found else None


def translate(
    messages: Iterable[AmiMessage], start: datetime | None = None, *, default_queue: str = "default"
) -> Iterator[Event]:
    """Feed messages through a fresh translator on the trace's own clock."""
    clock = _TraceClock(start)
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
        data = Path(path).read_bytes()
        stream = translate(read_messages(data), first_epoch(data), default_queue=default_queue)
        if events:
            yield from (event_json(e) for e in stream)
        else:
            yield from (json.dumps(s.as_dict(), ensure_ascii=False) for s in summarize(stream))
