"""What the router tells the rest of Hotline: orders to the telephony layer
(ConnectCall, CancelRing, OverflowCall, RejectCall, PlaceCallback) and facts for the
UI (AgentStateChanged, CallQueued). `at` and durations are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from routing.agent_state import AgentState


@dataclass(frozen=True, slots=True)
class ConnectCall:
    """Ring `agent_id` for `call_id`; report RINGING/ANSWERED/RING_NO_ANSWER back.
    The router cancels the ring itself after `ring_timeout_s` (CancelRing)."""

    call_id: str
    agent_id: str
    queue: str
    ring_timeout_s: float


@dataclass(frozen=True, slots=True)
class CancelRing:
    """Stop ringing `agent_id` for `call_id`. reason: timeout, answered-elsewhere,
    caller-gone, agent-paused, agent-logged-out, callback."""

    call_id: str
    agent_id: str
    queue: str
    reason: str


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    agent_id: str
    state: AgentState
    previous: AgentState
    reason: str | None
    at: float


@dataclass(frozen=True, slots=True)
class CallQueued:
    """The call waits in `queue` (for announcements): 1-based position, estimated wait."""

    call_id: str
    queue: str
    position: int
    estimated_wait_s: float
    priority: int


@dataclass(frozen=True, slots=True)
class OverflowCall:
    """The call moved from `from_queue` to `to_queue` (reason: wait, full, no-agents, closed).
    The router already queued it there; the telephony layer may play a message."""

    call_id: str
    from_queue: str
    to_queue: str
    reason: str


@dataclass(frozen=True, slots=True)
class RejectCall:
    """The call cannot stay in `queue` (reason: closed, full, no-agents, timeout).
    Send it to `destination` (voicemail, IVR) or, if None, end it politely."""

    call_id: str
    queue: str
    reason: str
    destination: str | None


@dataclass(frozen=True, slots=True)
class PlaceCallback:
    """Call `number` back for `original_call_id`, connecting `agent_id` (reserved now).
    Report the outbound call's events under `call_id`."""

    call_id: str
    original_call_id: str
    agent_id: str
    queue: str
    number: str
    ring_timeout_s: float


Decision = (
    ConnectCall | CancelRing | AgentStateChanged | CallQueued | OverflowCall | RejectCall | PlaceCallback
)
