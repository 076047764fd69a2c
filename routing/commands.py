"""Orders: to the router from the service layer (agent console, supervisor, call intake), and the
orders the telephony layer gives over the bus (a caller's "call me back", a survey score).

A command has exactly one handler and a reply (the handler's result or its error);
an event (routing.events) has any number of subscribers and no reply. Illegal
router orders raise (see routing.errors); they never half-apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class LoginAgent:
    """Log an agent in. `queues` (queue -> penalty) replaces the configured membership
    for this session; None keeps AgentConfig.queues. `paused` logs in paused with `reason`."""

    agent_id: str
    queues: Mapping[str, int] | None = None
    paused: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class LogoutAgent:
    agent_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SetAgentReady:
    """End a pause, or end wrap-up early."""

    agent_id: str


@dataclass(frozen=True, slots=True)
class PauseAgent:
    agent_id: str
    reason: str = "break"


@dataclass(frozen=True, slots=True)
class OfferCall:
    """Put a call in `queue`, with what the service desk knows about the caller.

    `tier` (vip, strategic, profitable, ordinary, risk) sets the priority unless
    `priority` is given (higher is served first). `required_skills` maps skill ->
    minimum proficiency (1..100). `ticket_owner` is the agent owning the caller's
    open ticket, `last_agent` the agent who served them last: the call waits for
    each first (QueueConfig.ticket_owner_wait_s, last_agent_wait_s). An explicit
    `preferred_agent` waits until `preferred_until` (epoch seconds) and comes first.
    `arrived_at` is when the caller reached the hotline (epoch seconds; default: now).
    FIFO is by arrival, not by when the offer is processed: offers of different
    calls are enriched (customer lookup) concurrently and may reach the router out
    of order. A time later than `now` is taken as `now`.
    """

    call_id: str
    queue: str
    caller: str | None = None
    tier: str = "ordinary"
    priority: int | None = None
    required_skills: Mapping[str, int] = field(default_factory=dict)
    preferred_agent: str | None = None
    preferred_until: float | None = None
    ticket_owner: str | None = None
    last_agent: str | None = None
    arrived_at: float | None = None


@dataclass(frozen=True, slots=True)
class RequestCallback:
    """The waiting caller asks to be called back: they may hang up and keep their place.

    `number` defaults to the caller's number; `callback_id` names the outbound call
    (defaults to "<call_id>:callback") so late events about the inbound leg cannot be
    mistaken for the callback's."""

    call_id: str
    number: str | None = None
    callback_id: str | None = None


Command = LoginAgent | LogoutAgent | SetAgentReady | PauseAgent | OfferCall | RequestCallback


@dataclass(frozen=True, slots=True)
class RecordSurveyScore:
    """The customer keyed `score` (1–5) on the follow-up survey call for `ticket_id`.

    For the service desk: store it on the ticket's pending follow-up (idempotent:
    a second score for a follow-up already scored changes nothing). `call_id` is
    the survey call, so the order queues behind that call's events.
    """

    call_id: str
    ticket_id: int
    score: int


BusCommand = RequestCallback | RecordSurveyScore
"""What the telephony layer orders over the bus (cti.bus.EventBus.send): one handler each."""
