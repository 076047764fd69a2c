"""What the router tells the rest of Hotline: orders to the telephony layer
(ConnectCall, CancelRing, OverflowCall, RejectCall, PlaceCallback) and facts for the
UI (AgentStateChanged, CallQueued, PendingPauseChanged). `at` and durations are seconds.

Decisions are immutable NamedTuples rather than frozen dataclasses: the router makes
two or three on every decision, and a frozen dataclass costs 0.62 µs to build against
0.23 µs for a NamedTuple (measured on this machine kind), about 7 % of the wrap-up →
next-call decision. `_distinct` keeps what the dataclasses gave: two decisions are
equal only if they are of the same kind (a bare NamedTuple equals any tuple with the
same values).
"""

from __future__ import annotations

from typing import Any, NamedTuple, TypeVar

from routing.agent_state import AgentState

_T = TypeVar("_T")


def _distinct(cls: type[_T]) -> type[_T]:
    """Equality and hash that include the decision's kind, not only its values."""

    def __eq__(self: tuple[Any, ...], other: object) -> bool:
        return type(self) is type(other) and tuple.__eq__(self, other)

    def __ne__(self: tuple[Any, ...], other: object) -> bool:
        return not __eq__(self, other)

    def __hash__(self: tuple[Any, ...]) -> int:
        return hash((type(self).__name__, tuple.__hash__(self)))

    setattr(cls, "__eq__", __eq__)  # noqa: B010 - assigned after the class is built: NamedTuple
    setattr(cls, "__ne__", __ne__)  # noqa: B010   bodies may not override these
    setattr(cls, "__hash__", __hash__)  # noqa: B010
    return cls


@_distinct
class ConnectCall(NamedTuple):
    """Ring `agent_id` for `call_id`; report RINGING/ANSWERED/RING_NO_ANSWER back.
    The router cancels the ring itself after `ring_timeout_s` (CancelRing)."""

    call_id: str
    agent_id: str
    queue: str
    ring_timeout_s: float


@_distinct
class CancelRing(NamedTuple):
    """Stop ringing `agent_id` for `call_id`. reason: timeout, answered-elsewhere,
    caller-gone, agent-paused, agent-logged-out, callback."""

    call_id: str
    agent_id: str
    queue: str
    reason: str


@_distinct
class AgentStateChanged(NamedTuple):
    agent_id: str
    state: AgentState
    previous: AgentState
    reason: str | None
    at: float


@_distinct
class CallQueued(NamedTuple):
    """The call waits in `queue` (for announcements): 1-based position, estimated wait."""

    call_id: str
    queue: str
    position: int
    estimated_wait_s: float
    priority: int


@_distinct
class OverflowCall(NamedTuple):
    """The call moved from `from_queue` to `to_queue` (reason: wait, full, no-agents, closed).
    The router already queued it there; the telephony layer may play a message."""

    call_id: str
    from_queue: str
    to_queue: str
    reason: str


@_distinct
class RejectCall(NamedTuple):
    """The call cannot stay in `queue` (reason: closed, full, no-agents, timeout).
    Send it to `destination` (voicemail, IVR) or, if None, end it politely."""

    call_id: str
    queue: str
    reason: str
    destination: str | None


@_distinct
class PlaceCallback(NamedTuple):
    """Call `number` back for `original_call_id`, connecting `agent_id` (reserved now).
    Report the outbound call's events under `call_id`."""

    call_id: str
    original_call_id: str
    agent_id: str
    queue: str
    number: str
    ring_timeout_s: float


@_distinct
class HandlingEnded(NamedTuple):
    """`agent_id`'s handling of `call_id` is over (wrap-up ended at `at`): the parts of its
    handle time as the router measured them, so the call log keeps the same AHT the wallboard
    shows (docs/KPIS.md: talk = answer → agent leg end minus hold)."""

    call_id: str
    agent_id: str
    queue: str
    talk_s: float
    hold_s: float
    wrap_s: float
    at: float


@_distinct
class PendingPauseChanged(NamedTuple):
    """A pause asked while `agent_id` talks is kept for after the call and its wrap-up
    (`reason`), or a kept one was dropped (`reason` None: the agent made themselves ready,
    or the PBX unpaused them). No state changes now; the wallboard shows the pending pause."""

    agent_id: str
    reason: str | None
    at: float


Decision = (
    ConnectCall
    | CancelRing
    | AgentStateChanged
    | CallQueued
    | OverflowCall
    | RejectCall
    | PlaceCallback
    | HandlingEnded
    | PendingPauseChanged
)
