"""What the ACD asks of a telephony platform, whatever the vendor.

Asterisk (AMI) and Twilio (REST) each implement this; the router's decisions
are executed through it, so nothing above `cti/` knows which PBX is behind.
Implementations raise `TelephonyError` (or a subclass) when the platform refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from routing.events import Event


class TelephonyError(Exception):
    """The platform could not carry out an order (channel gone, action refused, link down)."""


class CallNotWaiting(TelephonyError):
    """The call is no longer waiting for an agent (already connected, or gone).

    Not a reason to offer it elsewhere: the PBX's own events say what happened.
    """


class Telephony(Protocol):
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


@dataclass(frozen=True, slots=True)
class OpenCall:
    """A call Hotline's records still have open (no hang-up seen), as reconciliation needs it."""

    call_id: str
    source: str
    pbx_ref: str | None = None  # Asterisk: the caller channel's Uniqueid; Twilio: the CallSid
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
