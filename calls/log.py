"""The call log: keeps one `CallRecord` per call from the CallEvents (a bus handler).

Idempotent by construction: every timestamp and attribute is written only if it
is still empty, and the outcome only once the call has ended, so an event
delivered twice (AMI resync, Twilio retry) changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from calls.models import CallRecord
from routing.events import CallEvent, CallEventKind, Event

Normalizer = Callable[[str], str | None]

_TIMESTAMP = {
    CallEventKind.OFFERED: "offered_at",
    CallEventKind.RINGING: "ringing_at",
    CallEventKind.ANSWERED: "answered_at",
    CallEventKind.HUNG_UP: "ended_at",
}
_OUTCOME = {
    CallEventKind.ABANDONED: "abandoned",
    CallEventKind.LEFT_QUEUE: "timeout",
    CallEventKind.TRANSFERRED: "transferred",
}


class CallLog:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], normalize: Normalizer | None = None
    ) -> None:
        self._sessions = sessions
        self._normalize = normalize

    async def handle(self, event: Event) -> None:
        if not isinstance(event, CallEvent):
            return
        async with self._sessions() as session:
            record = await session.get(CallRecord, event.call_id)
            if record is None:
                record = CallRecord(call_id=event.call_id, source=event.source)
                session.add(record)
            self._apply(record, event)
            await session.commit()

    def _apply(self, record: CallRecord, event: CallEvent) -> None:
        fill: dict[str, Any] = {
            "caller": event.caller,
            "caller_name": event.caller_name,
            "dialed": event.dialed,
            "queue": event.queue,
        }
        # The call's own ref at the PBX (opaque; cti puts it first): what reconciliation asks the PBX about.
        fill["pbx_ref"] = event.source_refs[0] if event.source_refs else None
        if event.caller and self._normalize and record.caller_e164 is None:
            fill["caller_e164"] = self._normalize(event.caller)
        if event.kind is CallEventKind.ANSWERED:
            fill["agent_id"] = event.agent
        if event.kind is CallEventKind.RECORDING_STARTED or event.kind is CallEventKind.RECORDING_READY:
            fill["recording"] = event.detail
        if event.kind is CallEventKind.HUNG_UP:
            fill["hangup_cause"] = event.detail
        if (column := _TIMESTAMP.get(event.kind)) is not None:
            fill[column] = event.at
        for name, value in fill.items():
            if value is not None and getattr(record, name) is None:
                setattr(record, name, value)
        if record.outcome is None and (outcome := _OUTCOME.get(event.kind)) is not None:
            record.outcome = outcome
        if event.kind is CallEventKind.HUNG_UP and record.outcome is None:
            record.outcome = "answered" if record.answered_at is not None else "abandoned"
