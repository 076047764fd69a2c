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
    for this session; None keeps AgentConfig.queues. `paused` logs in paused with `reason`.
    `wrapup_since` (epoch seconds) logs in in wrap-up of the call `wrapup_call` of
    `wrapup_queue`, begun then (a new leader restoring an agent kept in wrap-up: cti.agent_store):
    it ends as that queue's wrap-up ends, counted from then, not from now."""

    agent_id: str
    queues: Mapping[str, int] | None = None
    paused: bool = False
    reason: str | None = None
    wrapup_since: float | None = None
    wrapup_queue: str | None = None
    wrapup_call: str | None = None


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
    `ivr_choice` is the IVR menu entry the caller chose: its skills (RouterConfig.choice_skills)
    and the queue's (QueueConfig.required_skills) are added to `required_skills`, the higher
    minimum winning, so whoever builds the offer need not know the configuration.
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
    ivr_choice: str | None = None


@dataclass(frozen=True, slots=True)
class RequestCallback:
    """The waiting caller asks to be called back: they may hang up and keep their place.

    `number` defaults to the caller's number; `callback_id` names the outbound call
    (defaults to "<call_id>:callback") so late events about the inbound leg cannot be
    mistaken for the callback's."""

    call_id: str
    number: str | None = None
    callback_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectRefused:
    """Control mode: the telephony link could not even try to ring `agent_id` for `call_id`
    (the PBX link is down, the action was refused before any ring). Not a no-answer: the
    agent is available again with no miss counted, and the call waits in its place."""

    call_id: str
    agent_id: str
    reason: str = "telephony refused"


@dataclass(frozen=True, slots=True)
class SetTelephonyUp:
    """Control mode: whether the telephony link can carry orders. While it is down the router
    offers no call (waiting calls keep their places); when it is back, it offers them at once."""

    up: bool


Command = (
    LoginAgent
    | LogoutAgent
    | SetAgentReady
    | PauseAgent
    | OfferCall
    | RequestCallback
    | ConnectRefused
    | SetTelephonyUp
)


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


@dataclass(frozen=True, slots=True)
class RecordSmsReply:
    """A customer's text message to the hotline number (`sender`, E.164 as the provider gave it).

    For the service desk: if it answers the resolve message ("reply 1-5", yes/no), store it on
    the sender's newest pending follow-up (verified closure, #20); otherwise nothing. `call_id`
    is the message's id (the bus orders commands by it), so a resent webhook queues behind it.
    """

    call_id: str
    sender: str
    body: str


BusCommand = RequestCallback | RecordSurveyScore | RecordSmsReply
"""What the telephony layer orders over the bus (cti.bus.EventBus.send): one handler each."""
