"""Frozen views of the router for wallboards and agent consoles (`Router.snapshot`)."""

from __future__ import annotations

from dataclasses import dataclass

from routing.agent_state import AgentState


@dataclass(frozen=True, slots=True)
class WaitingCallView:
    """A call of a queue without an agent yet (or ringing one), in serving order."""

    call_id: str
    position: int  # 1-based, in serving order
    waited_s: float  # in this queue
    priority: int
    tier: str
    caller: str | None  # the caller's number as the PBX gave it
    ringing: tuple[str, ...]  # agents it rings now
    callback: bool  # a callback keeping the caller's place (the caller is not on the line)
    preferred_agent: str | None  # the sticky/ticket-owner agent it waits for, if any
    estimated_wait_s: float


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    waiting: tuple[WaitingCallView, ...]
    longest_wait_s: float
    agents_staffed: int  # logged in and not paused
    agents_available: int


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: str
    name: str
    state: AgentState
    since: float
    reason: str | None  # pause reason code, or why the state changed
    call_id: str | None
    queues: tuple[tuple[str, int], ...]  # (queue, penalty)
    answered: int  # since local midnight
    missed: int
    talk_s: float
    misses_in_row: int
    phone_busy: bool = False  # control mode: the PBX says the phone is in use (not offered calls)
    pending_pause: str | None = None  # asked to pause during a call: the reason it pauses with after it
    wrapup_overdue: bool = False  # in wrap-up past the queue's maximum (wrapup_ends "agent")


@dataclass(frozen=True, slots=True)
class RouterSnapshot:
    at: float
    mode: str
    queues: tuple[QueueView, ...]
    agents: tuple[AgentView, ...]
    ignored_events: tuple[tuple[str, int], ...]

    def queue(self, name: str) -> QueueView:
        return next(q for q in self.queues if q.name == name)

    def agent(self, agent_id: str) -> AgentView:
        return next(a for a in self.agents if a.agent_id == agent_id)
