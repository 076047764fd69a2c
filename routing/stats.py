"""Raw facts for KPIs, kept since local midnight (and for the rolling window).

The router records facts as they happen; `routing.kpis` turns them into figures on
demand. Records older than both the window start and local midnight are pruned.
Definitions of every figure: docs/KPIS.md.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

from routing.agent_state import AgentState


class Outcome(enum.StrEnum):
    """How a call left a queue."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"  # the caller hung up while waiting or ringing
    TIMED_OUT = "timed_out"  # left unanswered for another reason: max wait, exit key
    OVERFLOWED = "overflowed"  # moved on to the overflow queue after waiting
    CALLBACK = "callback"  # the caller asked to be called back


# Records are NamedTuples, not frozen dataclasses: they are made on the hot path and a
# NamedTuple is several times cheaper to build, as immutable, and as readable.


class CallRecord(NamedTuple):
    at: float
    outcome: Outcome
    wait_s: float  # time in this queue


class HandleRecord(NamedTuple):
    """One finished handling (wrap-up over): the AHT parts."""

    at: float
    talk_s: float
    hold_s: float
    wrap_s: float


# (start, end, state): a plain tuple, made on every agent state change.
Interval = tuple[float, float, AgentState]


@dataclass(slots=True)
class QueueStats:
    calls: deque[CallRecord] = field(default_factory=deque)
    handles: deque[HandleRecord] = field(default_factory=deque)
    arrivals: deque[float] = field(default_factory=deque)
    rejected: deque[float] = field(default_factory=deque)  # refused at entry: closed, full, empty
    recent_handle_s: deque[float] = field(default_factory=lambda: deque(maxlen=50))  # for wait estimates

    def prune(self, before: float) -> None:
        for records in (self.calls, self.handles):
            while records and records[0].at < before:
                records.popleft()
        for times in (self.arrivals, self.rejected):
            while times and times[0] < before:
                times.popleft()


@dataclass(slots=True)
class AgentStats:
    intervals: deque[Interval] = field(default_factory=deque)
    handles: deque[HandleRecord] = field(default_factory=deque)
    answers: deque[float] = field(default_factory=deque)
    misses: deque[float] = field(default_factory=deque)

    def prune(self, before: float) -> None:
        while self.intervals and self.intervals[0][1] < before:
            self.intervals.popleft()
        while self.handles and self.handles[0].at < before:
            self.handles.popleft()
        for times in (self.answers, self.misses):
            while times and times[0] < before:
                times.popleft()


class Stats:
    """Per-queue and per-agent fact logs."""

    def __init__(self, queues: list[str], agents: list[str]) -> None:
        self.queues = {q: QueueStats() for q in queues}
        self.agents = {a: AgentStats() for a in agents}

    def prune(self, before: float) -> None:
        for q in self.queues.values():
            q.prune(before)
        for a in self.agents.values():
            a.prune(before)
