"""The router's mutable runtime records: one `Agent` per configured agent, one `Call`
per call the router holds. Only routing.router mutates them; the outside world sees
frozen snapshots (routing.snapshot)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from routing.agent_state import AgentState

# A call's skill requirement, normalised: sorted (skill, minimum proficiency) pairs.
Requirement = tuple[tuple[str, int], ...]


@dataclass(slots=True, eq=False)
class Agent:
    id: str
    name: str
    order: int  # position in the configuration: linear and round-robin order, stable tie-break
    skills: dict[str, int]
    configured_queues: dict[str, int]
    weight: float
    wrapup_s: float | None
    queues: dict[str, int] = field(default_factory=dict)  # membership while logged in: queue -> penalty
    queue_order: list[tuple[tuple[int, int], str, int]] = field(default_factory=list)  # by (-weight, penalty)
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0
    reason: str | None = None
    call_id: str | None = None  # the call the agent is reserved for, talking on, or wrapping up
    idle_since: float = 0.0  # longest-idle key: when the agent last became available
    misses_in_row: int = 0
    pending_pause: str | None = None  # the PBX paused the agent during a call: pause after wrap-up
    wrapup_by_agent: bool = False  # this wrap-up ends when the agent says "Done" (QueueConfig.wrapup_ends)
    wrapup_overdue: bool = False  # ... and it has run past its maximum: the supervisor sees it
    timer_token: int = 0
    index_keys: dict[str, tuple[int, float, int]] = field(default_factory=dict)
    # Per queue: (QueueLine.version, groups checked, [(group, wait needed)]) of the groups the
    # agent may serve.
    group_cache: dict[str, tuple[int, int, list[tuple[Any, float]]]] = field(default_factory=dict)
    # Counters since local midnight (fewest-calls, least-talk-time, wallboard).
    answered: int = 0
    missed: int = 0
    talk_s: float = 0.0
    # Handling of the current call, for AHT when wrap-up ends.
    handled_queue: str | None = None
    handled_call_id: str | None = None
    wrapup_of: tuple[str, str | None] | None = None  # in wrap-up: (the queue, the call) it follows
    handled_talk_s: float = 0.0
    handled_hold_s: float = 0.0
    held_skills: tuple[str, ...] = ()  # skills with proficiency > 0: the per-skill available indexes
    # Control mode: the agent's phone is in use, ringing or unreachable by the PBX's last
    # word (a personal or outbound call, a phone unplugged). Not offered calls until idle.
    phone_busy: bool = False


class CallPhase(enum.StrEnum):
    WAITING = "waiting"  # in a queue, no agent yet (callbacks included)
    RINGING = "ringing"  # offered to one agent (several with ring-all)
    CONNECTED = "connected"
    AFTER_AGENT = "after_agent"  # the agent's leg ended; the call may still be up (survey, transfer)


@dataclass(slots=True, eq=False)
class Call:
    id: str
    queue: str
    caller: str | None
    priority: int
    tier: str
    required: Requirement
    arrived_at: float  # first arrival at Hotline: FIFO order and widening
    seq: int  # arrival order, the FIFO tie-break; kept across overflow and callbacks
    entered_at: float  # arrival in the current queue: per-queue wait, overflow and max wait
    phase: CallPhase = CallPhase.WAITING
    preferences: list[tuple[str, float]] = field(default_factory=list)  # (agent, until), in order
    ringing: list[str] = field(default_factory=list)
    ring_started: float = 0.0
    agent: str | None = None
    answered_at: float = 0.0
    hold_started: float | None = None
    hold_s: float = 0.0
    line_token: int = 0  # bumps whenever the call leaves a waiting line (stale heap entries)
    indexed_token: int = -1  # line_token when last indexed in its queue's groups
    anyone_token: int = -1  # line_token when last pushed into its queue's `anyone` heaps
    timer_token: int = 0
    visited: list[str] = field(default_factory=list)  # queues already tried (no overflow loops)
    callback_number: str | None = None
    original_call_id: str | None = None  # set on callbacks

    @property
    def is_callback(self) -> bool:
        return self.original_call_id is not None
