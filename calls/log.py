"""The call log: keeps one `CallRecord` per call from the CallEvents (a bus handler).

Idempotent by construction: every timestamp and attribute is written only if it
is still empty, and the outcome only once the call has ended, so an event
delivered twice (AMI resync, Twilio retry) changes nothing.

It also keeps each handling's talk, hold and wrap-up as the router measured them
(`routing.decisions.HandlingEnded`), so that reports compute the wallboard's AHT
from the call table (docs/KPIS.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from calls.models import CallRecord
from routing.decisions import Decision, HandlingEnded
from routing.events import CallEvent, CallEventKind, Event

log = logging.getLogger(__name__)

HANDLINGS_QUEUED_MAX = 10_000  # wrap-ups ending faster than the database takes them: a backlog this long
HANDLINGS_PER_TRANSACTION = 500

Normalizer = Callable[[str], str | None]
PbxOf = Callable[[str], str]  # call id -> the name of the PBX that carried it (the composition root's)

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


def _main(call_id: str) -> str:
    return "main"


class CallLog:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        normalize: Normalizer | None = None,
        pbx_of: PbxOf | None = None,
    ) -> None:
        """`pbx_of` names the PBX of a call, for centers with several (default: every call "main")."""
        self._sessions = sessions
        self._normalize = normalize
        self._pbx_of = pbx_of or _main
        self._handlings: asyncio.Queue[HandlingEnded] = asyncio.Queue(HANDLINGS_QUEUED_MAX)
        self.handlings_dropped = 0
        self._waiting: list[tuple[CallEvent, asyncio.Future[None]]] = []  # events for the next transaction
        self._turn = asyncio.Lock()  # one transaction of the call log at a time (group commit)
        self.batches = 0  # transactions written by `handle`, and the events they carried (metrics)
        self.batched_events = 0

    async def on_decision(self, decision: Decision) -> None:
        """ACD listener: queue a finished handling for `run()`.

        Listeners run on the router's path, which must never wait on the database: the
        handling is written by `run()`; a full queue drops it (counted and logged) rather
        than stall routing. The call then has no handle time and counts in no AHT.
        """
        if not isinstance(decision, HandlingEnded):
            return
        try:
            self._handlings.put_nowait(decision)
        except asyncio.QueueFull:
            self.handlings_dropped += 1
            log.warning("call log behind: handle time of %s not kept", decision.call_id)

    async def run(self) -> None:
        """Write queued handlings, as many per transaction as are waiting."""
        while True:
            batch = [await self._handlings.get()]
            while len(batch) < HANDLINGS_PER_TRANSACTION and not self._handlings.empty():
                batch.append(self._handlings.get_nowait())
            try:
                await self._write_handlings(batch)
            except SQLAlchemyError:
                log.exception("could not keep the handle time of %d calls", len(batch))

    async def _write_handlings(self, batch: list[HandlingEnded]) -> None:
        """The first handling of a call is kept (a transfer's second agent does not replace it:
        the router counts both in its queue's AHT, the call row holds the first)."""
        async with self._sessions() as session:
            for handling in batch:
                await session.exec(
                    update(CallRecord)
                    .where(col(CallRecord.call_id) == handling.call_id, col(CallRecord.wrap_s).is_(None))
                    .values(
                        talk_s=round(handling.talk_s, 3),
                        hold_s=round(handling.hold_s, 3),
                        wrap_s=round(handling.wrap_s, 3),
                    )
                )
            await session.commit()

    async def link_recording(self, call_id: str, location: str) -> None:
        """A recording of the call taken in without its RECORDING_STARTED (the PBX folder scan after
        an outage, recordings.recovery): the call row names it as that event would have, if empty."""
        async with self._sessions() as session:
            await session.exec(
                update(CallRecord)
                .where(col(CallRecord.call_id) == call_id, col(CallRecord.recording).is_(None))
                .values(recording=location)
            )
            await session.commit()

    async def handle(self, event: Event) -> None:
        """Bus handler: returns once the event is committed, in a transaction it may share.

        Group commit: the events that arrive (from every shard) while one transaction is
        being written wait for it, and the next handler to get the turn writes all of them
        in one transaction: under load a few transactions for many events, idle one per
        event as before. Each handler still returns only after its own event is committed,
        so the bus's order and back-pressure hold as if each wrote alone.
        """
        if not isinstance(event, CallEvent):
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, done))
        async with self._turn:
            if not done.done():
                batch, self._waiting = self._waiting, []
                try:
                    await self._write_batch(batch)
                except BaseException:
                    # cancelled or failed: the others' events go back for the next turn
                    self._waiting[:0] = [(e, f) for e, f in batch if f is not done and not f.done()]
                    raise
        done.result()

    async def handle_batch(self, events: Sequence[Event]) -> None:
        """Bus handler behind (`subscribe_batch`): the events queued meanwhile, from every call,
        in one transaction. Raises if it failed; the bus then hands them again one by one."""
        calls = [event for event in events if isinstance(event, CallEvent)]
        if not calls:
            return
        async with self._turn:
            await self._write(calls)
        self.batches += 1
        self.batched_events += len(calls)

    async def _write_batch(self, batch: list[tuple[CallEvent, asyncio.Future[None]]]) -> None:
        try:
            await self._write([event for event, _ in batch])
        except SQLAlchemyError:
            if len(batch) == 1:
                raise
            # one bad event must not fail the others: each alone, each with its own outcome
            for event, future in batch:
                try:
                    await self._write([event])
                except SQLAlchemyError as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(None)
            return
        for _, future in batch:
            future.set_result(None)
        self.batches += 1
        self.batched_events += len(batch)

    async def _write(self, events: list[CallEvent]) -> None:
        """One transaction: the calls' rows read with one SELECT, the events applied in order."""
        ids = {event.call_id for event in events}
        async with self._sessions() as session:
            found = await session.exec(select(CallRecord).where(col(CallRecord.call_id).in_(ids)))
            records = {record.call_id: record for record in found.all()}
            for event in events:
                record = records.get(event.call_id)
                if record is None:
                    record = records[event.call_id] = CallRecord(
                        call_id=event.call_id, source=event.source, pbx=self._pbx_of(event.call_id)
                    )
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
        if (column := _TIMESTAMP.get(event.kind)) is not None and not event.untimed:
            fill[column] = event.at  # untimed: when Hotline heard of it, not when it happened
        for name, value in fill.items():
            if value is not None and getattr(record, name) is None:
                setattr(record, name, value)
        if record.outcome is None and (outcome := _OUTCOME.get(event.kind)) is not None:
            record.outcome = outcome
        if event.kind is CallEventKind.HUNG_UP and record.outcome is None:
            answered = record.answered_at is not None or record.agent_id is not None  # agent: by ANSWERED
            record.outcome = "answered" if answered else "abandoned"
