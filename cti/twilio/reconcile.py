"""After Hotline restarts: ask Twilio how the calls its records left open ended.

Twilio's status callback of a call that ended while Hotline was down went
nowhere (or to a process that was killed before handling it), so the call stayed
open in the records. The REST call resource says what happened: a terminal
`status` with its `end_time`. Each open Twilio call is fetched (a few
at a time) and one that is over gets the HUNG_UP the status callback would have
brought (the same event id), preceded by ABANDONED if no agent had answered it.
A call Twilio does not know (404) is closed now, saying so; one Twilio could
not be asked about (network, 5xx) is left open for the next attempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cti.telephony import OpenCall, TelephonyError
from cti.twilio.flow import SOURCE, fact_id
from routing.events import CallEvent, CallEventKind

log = logging.getLogger(__name__)

TERMINAL = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
_AT_ONCE = 8


@dataclass(frozen=True, slots=True)
class CallStatus:
    """A call resource as far as reconciliation cares (None: Twilio does not know the call)."""

    status: str
    end_time: datetime | None


Fetch = Callable[[str], Awaitable[CallStatus | None]]
"""The call resource of a CallSid; raises TelephonyError when Twilio cannot be asked."""


async def close_ended(open_calls: Sequence[OpenCall], fetch: Fetch, now: datetime) -> list[CallEvent]:
    """The closing events of the open Twilio calls that are over at Twilio."""
    mine = [c for c in open_calls if c.source == SOURCE]
    gate = asyncio.Semaphore(_AT_ONCE)

    async def ask(call: OpenCall) -> list[CallEvent]:
        async with gate:
            try:
                status = await fetch(call.pbx_ref or call.call_id)
            except TelephonyError as exc:  # left open: the next reconciliation asks again
                log.warning("reconciliation: cannot ask Twilio about call %s: %s", call.call_id, exc)
                return []
        if status is None:
            return _closed(call, now, "unknown to Twilio")
        if status.status not in TERMINAL:
            return []
        return _closed(call, status.end_time or now, status.status)

    results = await asyncio.gather(*(ask(call) for call in mine))
    return [event for events in results for event in events]


def _closed(call: OpenCall, at: datetime, status: str) -> list[CallEvent]:
    refs = (call.pbx_ref,) if call.pbx_ref else (call.call_id,)
    common = {"source": SOURCE, "caller": call.caller, "queue": call.queue, "source_refs": refs}
    out = []
    if call.answered_at is None:
        out.append(
            CallEvent(
                call_id=call.call_id,
                kind=CallEventKind.ABANDONED,
                at=at,
                event_id=fact_id(call.call_id, CallEventKind.ABANDONED, "reconciled"),
                **common,  # type: ignore[arg-type]
            )
        )
    out.append(
        CallEvent(
            call_id=call.call_id,
            kind=CallEventKind.HUNG_UP,
            at=at,
            event_id=fact_id(call.call_id, CallEventKind.HUNG_UP),
            detail=status,
            **common,  # type: ignore[arg-type]
        )
    )
    return out
