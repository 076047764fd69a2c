"""What Hotline asks of a telephony platform, whatever the vendor: the `TelephonyLink` Protocol.

Asterisk (AMI, cti.asterisk.AsteriskLink) and Twilio (REST and webhooks,
cti.twilio.link.TwilioLink) implement it; `cti.wiring.build_telephony` builds
the configured one, so nothing above `cti/` knows which PBX is behind.

* `Telephony`: the orders the ACD gives when it executes the router's decisions.
* Call controls for the console and the wallboard (hold, transfers, recording
  pause, listen/whisper/barge): every link has every method, typed; `controls`
  says which ones it offers, and the rest refuse with `NotOffered`
  (`ControlsNotOffered` supplies those refusals). A renamed method is a type
  error here, not a console button that quietly stops working.
* `run`, `wait_connected`, `health`: the link's life, for the composition root
  and `/api/health`.

Implementations raise `TelephonyError` (or a subclass) when the platform refuses.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from routing.events import Event


class TelephonyError(Exception):
    """The platform could not carry out an order (channel gone, action refused, link down)."""


class LinkDown(TelephonyError):
    """The link to the platform is down: the order was not even tried (not a no-answer)."""


class CallNotWaiting(TelephonyError):
    """The call is no longer waiting for an agent (already connected, or gone).

    Not a reason to offer it elsewhere: the PBX's own events say what happened.
    """


class NotOffered(TelephonyError):
    """This link does not offer the control (it is not in its `controls`)."""


class Control(enum.StrEnum):
    """A call control the console or the wallboard may offer (the value is the API's action name)."""

    ANSWER = "answer"  # phones with remote answer (most cannot)
    HANGUP = "hangup"
    HOLD = "hold"
    UNHOLD = "unhold"
    TRANSFER_BLIND = "transfer_blind"
    TRANSFER_ATTENDED = "transfer_attended"
    RECORDING_PAUSE = "recording_pause"
    RECORDING_RESUME = "recording_resume"
    SUPERVISE = "supervise"  # listen / whisper / barge on the supervisor's phone


SpyMode = Literal["listen", "whisper", "barge"]
SPY_MODES: tuple[SpyMode, ...] = ("listen", "whisper", "barge")


@dataclass(frozen=True, slots=True)
class LinkHealth:
    """Whether the link can carry calls now, why not, and its counters (they only grow)."""

    up: bool
    reason: str
    counters: Mapping[str, int] = field(default_factory=dict)


class Telephony(Protocol):
    """The ACD's orders (AcdService executes the router's decisions through these)."""

    async def connect_call(self, call_id: str, agent_id: str, ring_timeout_s: float) -> None:
        """Ring `agent_id` for the waiting call and connect them when the agent answers."""
        ...

    async def cancel_ring(self, call_id: str, agent_id: str) -> None:
        """Stop ringing `agent_id`; the caller goes back to waiting."""
        ...

    async def hangup(self, call_id: str) -> None: ...

    async def place_callback(self, call_id: str, agent_id: str, number: str) -> None:
        """Call the agent, then the customer who asked for a callback."""
        ...

    async def reject(self, call_id: str, reason: str, destination: str | None) -> None:
        """Send a call that cannot be queued (after hours, queue full) to `destination`."""
        ...


class MemberPort(Protocol):
    """Observe mode: the PBX's own ACD (app_queue) is told who takes calls (cti.ami.members).

    Called by AcdService after the router accepted a person's order, so the PBX does not
    ring an agent Hotline shows paused or signed out. Raises TelephonyError when refused.
    """

    async def sign_in(
        self, agent_id: str, queues: Mapping[str, int], *, paused: bool = False, reason: str = ""
    ) -> None: ...

    async def sign_out(self, agent_id: str, queues: Collection[str]) -> None: ...

    async def pause(self, agent_id: str, reason: str) -> None: ...

    async def unpause(self, agent_id: str) -> None: ...


class CallControlPort(Protocol):
    """The console's and the wallboard's controls; those not in `controls` raise NotOffered."""

    @property
    def controls(self) -> frozenset[Control]: ...

    async def hangup(self, call_id: str) -> None: ...

    async def answer(self, call_id: str, agent_id: str) -> None: ...

    async def hold(self, call_id: str, agent_id: str) -> None: ...

    async def unhold(self, call_id: str, agent_id: str) -> None: ...

    async def blind_transfer(self, call_id: str, target: str) -> None: ...

    async def attended_transfer(self, call_id: str, agent_id: str, target: str) -> None: ...

    async def pause_recording(self, call_id: str) -> None: ...

    async def resume_recording(self, call_id: str) -> None: ...

    async def supervise(self, agent_id: str, supervisor: str, mode: SpyMode) -> None: ...


@dataclass(frozen=True, slots=True)
class OpenCall:
    """A call Hotline's records still have open (no hang-up seen), as reconciliation needs it."""

    call_id: str
    source: str
    pbx_ref: str | None = None  # the call's own ref at the PBX (the first of its events' source_refs)
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    agent: str | None = None
    queue: str | None = None
    caller: str | None = None


class Reconciler(Protocol):
    async def reconcile(
        self, open_calls: Sequence[OpenCall], known: frozenset[str], since: datetime
    ) -> list[Event]:
        """After a restart: the events Hotline missed while it was down.

        Calls in `open_calls` the platform no longer has get the events that end
        them, with the platform's figures where it keeps them; calls the platform
        handled since `since` that are not in `known` (call ids and platform refs
        Hotline has a record of) get their whole story. Event ids are the ones the
        live events would have had, so consumers that saw some already skip them.
        """
        ...


class TelephonyLink(Telephony, CallControlPort, Reconciler, Protocol):
    """One PBX or cloud account: the ACD's orders, the call controls, and the link's own life."""

    async def run(self) -> None:
        """Keep the link up (reconnecting as needed) and pump its events to the bus until cancelled."""
        ...

    async def wait_connected(self, timeout: float) -> None:  # noqa: ASYNC109 - a bound for start-up
        """Return once the link carries calls; raise (TimeoutError, TelephonyError) after `timeout`."""
        ...

    def health(self) -> LinkHealth: ...


class ControlsNotOffered:
    """Refusals for every call control; a link inherits this and overrides what it offers."""

    async def answer(self, call_id: str, agent_id: str) -> None:
        raise NotOffered("this telephony link cannot answer a phone remotely")

    async def hold(self, call_id: str, agent_id: str) -> None:
        raise NotOffered("this telephony link does not offer hold")

    async def unhold(self, call_id: str, agent_id: str) -> None:
        raise NotOffered("this telephony link does not offer hold")

    async def blind_transfer(self, call_id: str, target: str) -> None:
        raise NotOffered("this telephony link does not offer transfers")

    async def attended_transfer(self, call_id: str, agent_id: str, target: str) -> None:
        raise NotOffered("this telephony link does not offer transfers")

    async def pause_recording(self, call_id: str) -> None:
        raise NotOffered("this telephony link does not offer a recording pause")

    async def resume_recording(self, call_id: str) -> None:
        raise NotOffered("this telephony link does not offer a recording pause")

    async def supervise(self, agent_id: str, supervisor: str, mode: SpyMode) -> None:
        raise NotOffered("this telephony link does not offer listen/whisper/barge")
