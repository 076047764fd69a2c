"""Taking recordings in: the event-bus handler and the retry job.

`RecordingService.handle` is subscribed to the event bus. It follows each call
(queue, agents, vendor legs, PCI pauses) and, when the source says a file is
ready, fetches it, hashes and stores it, reads its metadata, sets its
retention deadline and writes `recording.ingest` to the audit log.

Idempotent: a recording is identified by (source, location at the source), so
the same RECORDING_READY twice stores once; pause/resume events are applied once
per event id. Fetching happens outside any database transaction (it can take a
while); the result is committed with a conditional update, so two workers
ingesting the same file both store the same blob and only one row update wins.

Event contract (what cti/ must put in the CallEvent):
* RECORDING_STARTED / RECORDING_READY: `detail` = the file path (Asterisk,
  simulator) or recording URL (Twilio) at the source; `source` names the fetcher.
  `recording_started_at` when the vendor reports it.
* OFFERED (`queue`), ANSWERED / TRANSFERRED (`agent`): who may hear the call.
* RECORDING_PAUSED / RECORDING_RESUMED: `at` is the moment of the pause/resume;
  `detail` (optional) the file paused, else every recording of the call.
* `source_refs` (the vendor's leg ids: Uniqueid, CallSid, RecordingSid) are kept as legs.
* HUNG_UP: files that were started but never reported ready are taken in then
  (MixMonitor closes its file at hangup and Asterisk raises no event for it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import AuditLog
from config.database import utcnow
from recordings.audio import AudioInfo, read_wav_info
from recordings.errors import IngestError, InvalidAudio, StorageError
from recordings.evidence import AGENTS_CHANGED, INGEST, subject_of
from recordings.models import RecordedCall, Recording, RecordingStatus
from recordings.repo import (
    add_agent,
    agents_of,
    agents_of_calls,
    call_for_update,
    calls_for_update,
    first_time,
    gaps_within,
    insert_ignoring_conflicts,
)
from recordings.retention import RetentionPolicy
from recordings.sources import Backoff, RecordingFetcher
from recordings.storage import BlobStore, StagedBlob
from recordings.wavrepair import WavDamage, diagnose, repair
from routing.events import CallEvent, CallEventKind, Event

log = logging.getLogger(__name__)

INGEST_ACTOR = "system:recordings"
_CONTEXT_KINDS = frozenset({CallEventKind.OFFERED, CallEventKind.ANSWERED, CallEventKind.TRANSFERRED})
_PAUSE_KINDS = frozenset({CallEventKind.RECORDING_PAUSED, CallEventKind.RECORDING_RESUMED})
_BOOKED = (
    _CONTEXT_KINDS
    | _PAUSE_KINDS
    | {
        CallEventKind.RECORDING_STARTED,
        CallEventKind.RECORDING_READY,
        CallEventKind.HUNG_UP,
    }
)
_LEASE = timedelta(minutes=10)
INGESTS_AT_ONCE = 4  # files fetched, hashed and stored side by side (threads: fsync waits overlap)


class RecordingService:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: BlobStore,
        audit: AuditLog,
        fetchers: Mapping[str, RecordingFetcher],
        retention: RetentionPolicy,
        clock: Callable[[], datetime] = utcnow,
        # First retry after 15 s: a file is most often unreadable because it is still being
        # written or flushed at the hang-up (a takeover's scan met one), and a header a killed
        # PBX left unfinished is repaired once the file is idle `settle_s`. Then 30 s, 60 s, ...
        retry_backoff: Backoff = Backoff(first_s=15.0, max_s=3600.0),  # noqa: B008 - frozen
        settle_s: float = 10.0,
        pbx_of: Callable[[str], str] | None = None,
    ) -> None:
        """`fetchers` maps CallEvent.source ("asterisk", "twilio", "simulator") to a
        fetcher; the key "*" is used for any other source. A WAV whose header a killed
        PBX left unfinished is repaired once the file has been idle `settle_s`. `pbx_of`
        names the PBX of a call id, for centers with several (default: "main")."""
        self.pbx_of: Callable[[str], str] = pbx_of or (lambda call_id: "main")
        self._sessions, self._store, self._audit = sessions, store, audit
        self._fetchers, self._retention = dict(fetchers), retention
        self._clock, self._retry_backoff = clock, retry_backoff
        self._settle_s = settle_s

    def add_fetcher(self, source: str, fetcher: RecordingFetcher) -> None:
        """Fetch recordings of `source` with `fetcher` (Twilio's needs the link's credentials)."""
        self._fetchers[source] = fetcher

    # -- the bus handler -------------------------------------------------

    async def handle(self, event: Event) -> None:
        await self.handle_batch([event])

    async def handle_batch(self, events: Sequence[Event]) -> None:
        """The bus handler behind (`subscribe_batch`): the events queued meanwhile, in order.

        Their rows are written in one transaction (the calls read with one statement), then the
        files that became ready are fetched and stored, and the stored rows and their audit
        entries written in one more. Idempotent, as per event: the bus hands the events again
        one by one if the batch fails.
        """
        calls = [e for e in events if isinstance(e, CallEvent) and e.kind in _BOOKED]
        if not calls:
            return
        ready: list[int] = []
        async with self._sessions.begin() as session:
            rows = await calls_for_update(session, sorted({e.call_id for e in calls}), self._clock())
            for event in calls:
                rec_id = await self._book(session, rows[event.call_id], event)
                if rec_id is not None:
                    ready.append(rec_id)
        ended = [e.call_id for e in calls if e.kind is CallEventKind.HUNG_UP]
        if ended:
            ready += await self._pending_of(ended)
        if ready:
            await self.ingest_many(list(dict.fromkeys(ready)))

    async def _book(self, session: AsyncSession, call: RecordedCall, event: CallEvent) -> int | None:
        """One event's rows, in the batch's transaction; the id of a recording now ready to take in."""
        if event.kind in _CONTEXT_KINDS:
            await self._apply_context(session, event, call)
        elif event.kind is CallEventKind.RECORDING_STARTED:
            await self._started(session, event, call)
        elif event.kind in _PAUSE_KINDS:
            await self._pause_or_resume(session, event, call)
        elif event.kind is CallEventKind.RECORDING_READY:
            return await self._ready(session, event, call)
        elif event.kind is CallEventKind.HUNG_UP:
            await self._ended(session, event, call)
        return None

    async def _apply_context(
        self, session: AsyncSession, event: CallEvent, call: RecordedCall | None = None
    ) -> RecordedCall:
        if call is None:
            call = await call_for_update(session, event.call_id, self._clock())
        changed = False
        if event.queue and call.queue is None:
            call.queue, changed = event.queue, True
        if event.caller and call.caller is None:
            call.caller, changed = event.caller, True
        legs = sorted({*call.legs, *(ref for ref in event.source_refs if ref)})
        if legs != call.legs:
            call.legs, changed = legs, True
        if changed:
            call.updated_at = self._clock()
            session.add(call)
        if (
            event.agent
            and event.kind in (CallEventKind.ANSWERED, CallEventKind.TRANSFERRED)
            and await add_agent(session, event.call_id, event.agent)
        ):
            await self._audit_new_agent(session, event.call_id, event.agent)
        return call

    async def _audit_new_agent(self, session: AsyncSession, call_id: str, agent: str) -> None:
        """An agent joined a call whose recordings are already archived (a late transfer):
        they may now listen, so the audit log says so (`recordings.evidence` folds it in)."""
        stored = await session.exec(
            select(Recording.id).where(
                col(Recording.call_id) == call_id,
                col(Recording.status).in_((RecordingStatus.STORED, RecordingStatus.DELETED)),
            )
        )
        ids = [int(i) for i in stored.all() if i is not None]
        if not ids:
            return
        agents = await agents_of(session, call_id)
        for rec_id in ids:
            await self._audit.append(
                session,
                actor=INGEST_ACTOR,
                action=AGENTS_CHANGED,
                subject=subject_of(rec_id),
                detail={"call_id": call_id, "added": agent, "agents": agents},
            )

    async def _ended(self, session: AsyncSession, event: CallEvent, call: RecordedCall) -> None:
        """The call is over: its files are complete (recovery may take them in from now on)."""
        await self._apply_context(session, event, call)
        if call.ended_at is None:
            call.ended_at, call.updated_at = event.at, self._clock()
            session.add(call)

    async def _started(self, session: AsyncSession, event: CallEvent, call: RecordedCall) -> None:
        await self._apply_context(session, event, call)
        if event.detail:
            await self._recording_row(session, event, started_at=_started_at(event) or event.at)

    async def _ready(self, session: AsyncSession, event: CallEvent, call: RecordedCall) -> int | None:
        if not event.detail:
            log.warning("RECORDING_READY without a location for call %s: ignored", event.call_id)
            return None
        await self._apply_context(session, event, call)
        recording = await self._recording_row(session, event, started_at=_started_at(event))
        if recording.call_id != event.call_id:
            log.warning(
                "%s %s was already taken in for call %s, not %s: ignored",
                event.source,
                event.detail,
                recording.call_id,
                event.call_id,
            )
            return None
        if recording.ended_at is None:
            recording.ended_at = event.at
            session.add(recording)
        if recording.status in (RecordingStatus.STORED, RecordingStatus.DELETED):
            return None
        return recording.id

    async def _recording_row(
        self, session: AsyncSession, event: CallEvent, *, started_at: datetime | None
    ) -> Recording:
        assert event.detail is not None
        alias = await self._same_file(session, event)
        if alias is not None:
            if alias.started_at is None and started_at is not None:
                alias.started_at = started_at
                session.add(alias)
            return alias
        await session.exec(
            insert_ignoring_conflicts(
                session,
                Recording,
                call_id=event.call_id,
                source=event.source,
                source_ref=event.detail,
                pbx=self.pbx_of(event.call_id),
                status=RecordingStatus.PENDING,
                queue=event.queue,
                agent_id=event.agent,
                started_at=started_at,
                attempts=0,
                gaps=[],
                legal_hold=False,
            )
        )
        query = select(Recording).where(
            col(Recording.source) == event.source, col(Recording.source_ref) == event.detail
        )
        recording = (await session.exec(query.with_for_update())).one()
        if recording.started_at is None and started_at is not None:
            recording.started_at = started_at
            session.add(recording)
        return recording

    async def _same_file(self, session: AsyncSession, event: CallEvent) -> Recording | None:
        """The call's row for this file under another name of its folder, if the recovery scan
        registered it first (recordings.recovery: the folder as configured, e.g. a second PBX's
        `<pbx>:/var/spool/asterisk/monitor`, where the PBX reports another path for the same
        file). Without this a file the scan found before its RECORDING_STARTED came was taken in
        twice. MixMonitor's file names carry the leg's Uniqueid: the name is the file's identity
        within a call."""
        assert event.detail is not None
        name = PurePosixPath(event.detail).name
        if not name:
            return None
        query = select(Recording).where(
            col(Recording.call_id) == event.call_id,
            col(Recording.source) == event.source,
            col(Recording.source_ref) != event.detail,
            col(Recording.source_ref).endswith(f"/{name}", autoescape=True),
        )
        return (await session.exec(query.with_for_update())).first()

    async def _pause_or_resume(self, session: AsyncSession, event: CallEvent, call: RecordedCall) -> None:
        if not await first_time(session, event.event_id, event.call_id, self._clock()):
            return
        await self._apply_context(session, event, call)
        pauses = [dict(p) for p in call.pauses]
        open_pause = next(
            (p for p in reversed(pauses) if p.get("file") == event.detail and p.get("resumed_at") is None),
            None,
        )
        when = event.at.isoformat()
        if event.kind is CallEventKind.RECORDING_PAUSED and open_pause is None:
            pauses.append({"paused_at": when, "resumed_at": None, "file": event.detail})
        elif event.kind is CallEventKind.RECORDING_RESUMED and open_pause is not None:
            open_pause["resumed_at"] = when
        else:
            return  # a pause while paused, or a resume while not: nothing to mark
        call.pauses = pauses
        session.add(call)
        stored = await session.exec(
            select(Recording).where(
                col(Recording.call_id) == event.call_id,
                col(Recording.status) == RecordingStatus.STORED,
            )
        )
        for recording in stored.all():  # a resume after the file was already taken in
            if recording.started_at is not None and recording.duration_s is not None:
                recording.gaps = gaps_within(
                    pauses, recording.started_at, recording.duration_s, recording.source_ref
                )
                session.add(recording)

    async def _pending_of(self, call_ids: Sequence[str]) -> list[int]:
        """The recordings of calls that just ended, still to take in: pending ones, and failed
        ones too. A file tried while its call lived (a new leader's start-up scan meets it
        still being written) failed with a retry minutes out, but the hang-up is when the file
        is whole: try it now rather than leave the call without its recording until then."""
        waiting = (RecordingStatus.PENDING, RecordingStatus.FAILED)
        async with self._sessions() as session:
            query = (
                select(Recording.id)
                .where(col(Recording.call_id).in_(call_ids), col(Recording.status).in_(waiting))
                .order_by(col(Recording.id))
            )
            return [int(i) for i in (await session.exec(query)).all() if i is not None]

    # -- ingest -------------------------------------------------------------

    async def ingest(self, rec_id: int) -> bool:
        """Fetch, hash, store and record one recording. True if this call stored it.

        Failures (source not there yet, unreadable WAV, store down) mark the row
        FAILED with a next attempt time; `retry_failed` picks it up.
        """
        return await self.ingest_many([rec_id]) == 1

    async def ingest_many(self, rec_ids: Sequence[int]) -> int:
        """`ingest` for several recordings: the files fetched and stored side by side (at most
        INGESTS_AT_ONCE), then every stored row and its audit entry in one transaction.
        Returns how many this call stored."""
        async with self._sessions() as session:
            query = select(Recording.id, Recording.source, Recording.source_ref, Recording.status).where(
                col(Recording.id).in_(rec_ids)
            )
            rows = (await session.exec(query)).all()
        todo = [
            (int(rec_id), source, location)
            for rec_id, source, location, status in rows
            if rec_id is not None and status not in (RecordingStatus.STORED, RecordingStatus.DELETED)
        ]
        failed: list[tuple[int, str]] = []
        gate = asyncio.Semaphore(INGESTS_AT_ONCE)

        async def take(rec_id: int, source: str, location: str) -> tuple[int, _TakenIn] | None:
            fetcher = self._fetchers.get(source) or self._fetchers.get("*")
            if fetcher is None:
                failed.append((rec_id, f"no fetcher configured for source {source!r}"))
                return None
            try:
                async with gate:
                    taken = await self._take_in(fetcher, location)
            except (IngestError, StorageError) as exc:
                failed.append((rec_id, str(exc)))
                return None
            if taken.repaired is not None:
                log.warning("recording %s: WAV header repaired (%s)", rec_id, taken.repaired.damage.reason)
            return rec_id, taken

        if len(todo) == 1:
            results = [await take(*todo[0])]
        else:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(take(*item)) for item in todo]
            results = [task.result() for task in tasks]
        for rec_id, problem in sorted(failed):
            await self._failed(rec_id, problem)
        taken = [result for result in results if result is not None]
        return await self._stored(taken) if taken else 0

    async def _take_in(self, fetcher: RecordingFetcher, location: str) -> _TakenIn:
        """Fetch, check and publish one file, repairing a header a killed PBX left unfinished."""
        with self._store.stage() as sink:
            await fetcher.fetch(location, sink)
            staged = await asyncio.to_thread(sink.finish)
            try:
                info = await asyncio.to_thread(read_wav_info, staged.path)
            except InvalidAudio:
                damage = await asyncio.to_thread(diagnose, staged.path)
                if damage is None or not await self._settled(fetcher, location):
                    raise
            else:
                return _TakenIn(await self._store.put(staged), staged, info, None)
            with self._store.stage() as fixed:
                await asyncio.to_thread(repair, staged.path, damage, fixed)
                blob = await asyncio.to_thread(fixed.finish)
                info = await asyncio.to_thread(read_wav_info, blob.path)
                key = await self._store.put(blob)
            return _TakenIn(key, blob, info, Repaired(damage, staged.sha256, staged.size))

    async def _settled(self, fetcher: RecordingFetcher, location: str) -> bool:
        """True when the file has not changed for `settle_s`: whoever wrote it is gone."""
        idle = await fetcher.idle_s(location)
        return idle is None or idle >= self._settle_s

    async def _stored(self, taken: Sequence[tuple[int, _TakenIn]]) -> int:
        """Mark the recordings stored and append their `recording.ingest` entries, one
        transaction; returns how many it marked (a row another worker stored first is left:
        its blob is the same bytes)."""
        now = self._clock()
        stored: list[Recording] = []
        async with self._sessions.begin() as session:
            query = (
                select(Recording)
                .where(col(Recording.id).in_([rec_id for rec_id, _ in taken]))
                .order_by(col(Recording.id))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            recordings = {r.id: r for r in (await session.exec(query)).all()}
            call_ids = sorted({r.call_id for r in recordings.values()})
            found = await session.exec(select(RecordedCall).where(col(RecordedCall.call_id).in_(call_ids)))
            calls = {call.call_id: call for call in found.all()}
            agents = await agents_of_calls(session, call_ids)
            for rec_id, took in taken:
                recording = recordings.get(rec_id)
                if recording is None or recording.status in (RecordingStatus.STORED, RecordingStatus.DELETED):
                    continue
                await self._mark_stored(
                    session,
                    recording,
                    took,
                    calls.get(recording.call_id),
                    agents.get(recording.call_id, []),
                    now,
                )
                stored.append(recording)
        for recording in stored:
            log.info(
                "stored recording %s of call %s (%d bytes)",
                recording.id,
                recording.call_id,
                recording.size_bytes,
            )
        return len(stored)

    async def _mark_stored(
        self,
        session: AsyncSession,
        recording: Recording,
        taken: _TakenIn,
        call: RecordedCall | None,
        agents: list[str],
        now: datetime,
    ) -> None:
        key, sha256, size = taken.key, taken.blob.sha256, taken.blob.size
        duration_s, audio_format, repaired = taken.info.duration_s, taken.info.format, taken.repaired
        assert recording.id is not None
        started_at = recording.started_at or (recording.ended_at or now) - timedelta(seconds=duration_s)
        recording.status = RecordingStatus.STORED
        recording.storage_key, recording.sha256, recording.size_bytes = key, sha256, size
        recording.duration_s, recording.format = duration_s, audio_format
        recording.started_at, recording.ingested_at = started_at, now
        recording.queue = recording.queue or (call.queue if call else None)
        recording.agent_id = recording.agent_id or (agents[0] if agents else None)
        recording.gaps = gaps_within(
            call.pauses if call else [], started_at, duration_s, recording.source_ref
        )
        recording.purge_after = self._retention.purge_after(
            started_at, recording.queue, call.category if call else None
        )
        recording.next_attempt_at, recording.last_error = None, None
        session.add(recording)
        await self._audit.append(
            session,
            actor=INGEST_ACTOR,
            action=INGEST,
            subject=subject_of(recording.id),
            detail={
                "call_id": recording.call_id,
                "source": recording.source,
                "source_ref": recording.source_ref,
                "sha256": sha256,
                "size_bytes": size,
                "storage_key": key,
                "duration_s": duration_s,
                "format": audio_format,
                # who may listen, as archived: `audit verify` and playback compare the row with it
                "agent_id": recording.agent_id,
                "agents": agents,
                "queue": recording.queue,
                **({"repaired": repaired.detail()} if repaired is not None else {}),
            },
        )

    async def _failed(self, rec_id: int, problem: str) -> None:
        now = self._clock()
        async with self._sessions.begin() as session:
            recording = await session.get(Recording, rec_id, with_for_update=True, populate_existing=True)
            if recording is None or recording.status in (RecordingStatus.STORED, RecordingStatus.DELETED):
                return
            recording.attempts += 1
            recording.status = RecordingStatus.FAILED
            recording.last_error = problem[:500]
            recording.next_attempt_at = now + timedelta(seconds=self._retry_backoff.delay(recording.attempts))
            session.add(recording)
        log.warning("recording %s not taken in (attempt %d): %s", rec_id, recording.attempts, problem)

    async def retry_failed(self, limit: int = 20) -> int:
        """Scheduler job: retry due FAILED ingests; returns how many got stored.

        Rows are claimed by pushing `next_attempt_at` out by a lease, so another
        worker running the same job skips them.
        """
        now = self._clock()
        async with self._sessions.begin() as session:
            due = (col(Recording.status) == RecordingStatus.FAILED, col(Recording.next_attempt_at) <= now)
            claim = (
                update(Recording)
                .where(
                    col(Recording.id).in_(
                        select(Recording.id)
                        .where(*due)
                        .order_by(col(Recording.next_attempt_at))
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    ),
                    *due,
                )
                .values(next_attempt_at=now + _LEASE)
                .returning(col(Recording.id))
                .execution_options(synchronize_session=False)
            )
            ids = sorted(int(row[0]) for row in (await session.exec(claim)).all())
        stored = 0
        for rec_id in ids:
            stored += await self.ingest(rec_id)
        return stored

    # -- links from the service desk ---------------------------------------------

    async def link_ticket(
        self, call_id: str, *, ticket_id: int, customer_id: int | None, category: str | None
    ) -> None:
        """Attach the call's recordings to a ticket (and customer). Call when a ticket
        takes the call; a category with a longer retention extends `purge_after`."""
        async with self._sessions.begin() as session:
            call = await call_for_update(session, call_id, self._clock())
            call.ticket_id, call.customer_id, call.category = ticket_id, customer_id, category
            call.updated_at = self._clock()
            session.add(call)
            rows = await session.exec(
                select(Recording).where(
                    col(Recording.call_id) == call_id, col(Recording.status) == RecordingStatus.STORED
                )
            )
            for recording in rows.all():
                if recording.started_at is not None:
                    recording.purge_after = self._retention.purge_after(
                        recording.started_at, recording.queue, category
                    )
                    session.add(recording)


@dataclass(frozen=True, slots=True)
class Repaired:
    """A WAV stored after a header repair: what was wrong and the bytes as the PBX left them."""

    damage: WavDamage
    original_sha256: str
    original_size: int

    def detail(self) -> dict[str, object]:
        return {
            "reason": self.damage.reason,
            "original_sha256": self.original_sha256,
            "original_size_bytes": self.original_size,
            "declared_data_bytes": self.damage.declared,
            "data_bytes": self.damage.data_length,
        }


@dataclass(frozen=True, slots=True)
class _TakenIn:
    key: str
    blob: StagedBlob
    info: AudioInfo
    repaired: Repaired | None


def _started_at(event: CallEvent) -> datetime | None:
    started = event.recording_started_at
    return started if started is not None and started.tzinfo is not None else None
