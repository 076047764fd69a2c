"""Orders given to the router by the service layer (agent console, supervisor, call intake).

Illegal orders raise (see routing.errors); they never half-apply.
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
