"""What the ACD asks of a telephony platform, whatever the vendor.

Asterisk (AMI) and Twilio (REST) each implement this; the router's decisions
are executed through it, so nothing above `cti/` knows which PBX is behind.
Implementations raise `TelephonyError` (or a subclass) when the platform refuses.
"""

from __future__ import annotations

from typing import Protocol


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
