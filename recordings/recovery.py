"""After a crash: take in what the ingest path missed, from the database and the PBX's folder.

A `kill -9` can land between any two steps: a recording row left PENDING whose
call has since ended (its HUNG_UP was handled, the ingest never ran), or a file
the PBX wrote for a call whose RECORDING_STARTED never reached us (the event was
still in the bus's memory, or the call began while Hotline was down). Neither
is retried by `retry_failed`, which only knows FAILED rows.

* `retry_pending`: PENDING rows of calls that are over are ingested now.
* `scan`: files in the PBX recordings folders changed since `since` that no row
  knows are registered for their call, found by the channel Uniqueid in the
  file name (MixMonitor's `${UNIQUEID}.wav` in the sample dialplan) among the
  call's legs, and ingested if the call is over (else at its HUNG_UP).
  Files whose Uniqueid matches no call are reported and left alone.
* `open_calls`: calls with PENDING files and no hang-up seen, for the calls
  reconciliation to ask the PBX about.

Everything here is idempotent: the (source, location) key makes a second
registration a no-op and `ingest` skips stored rows.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from recordings.models import RecordedCall, Recording, RecordingStatus
from recordings.repo import insert_ignoring_conflicts
from recordings.service import RecordingService

log = logging.getLogger(__name__)

_UNIQUEID = re.compile(r"(\d{6,}\.\d+)")  # Asterisk's Uniqueid: <epoch>.<sequence>
_AUDIO = frozenset({".wav", ".wav49", ".gsm"})
_PAGE = 500

CallLinker = Callable[[str, str], Awaitable[None]]
"""(call id, the file's location at the PBX): the call log names the recording on the call's row."""


@dataclass(frozen=True, slots=True)
class PendingCall:
    call_id: str
    source: str  # of its pending files
    legs: tuple[str, ...]


@dataclass
class ScanReport:
    files: int = 0  # audio files changed since `since`
    registered: int = 0  # new rows for files no row knew
    stored: int = 0
    unmatched: list[str] = field(default_factory=list)  # files whose Uniqueid matches no call


def uniqueid_in(name: str) -> str | None:
    """The last Uniqueid-looking token of a file name (`1796127694.1.wav` → `1796127694.1`)."""
    found = _UNIQUEID.findall(PurePosixPath(name).stem)
    return found[-1] if found else None


class RecordingRecovery:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        service: RecordingService,
        folders: Mapping[str, Path],
        source: str = "asterisk",
    ) -> None:
        """`folders` maps the PBX's recordings folder (as its events name files) to this host's view."""
        self._sessions, self._service, self._source = sessions, service, source
        self._folders = {PurePosixPath(pbx): local for pbx, local in folders.items()}
        # the composition root's (calls.log.CallLog.link_recording): recordings/ does not import calls/
        self.link_call: CallLinker | None = None

    async def open_calls(self) -> list[PendingCall]:
        """Calls with a file still PENDING and no hang-up seen: the PBX must say whether they are over."""
        query = (
            select(RecordedCall, Recording.source)
            .join(Recording, col(Recording.call_id) == col(RecordedCall.call_id))
            .where(col(RecordedCall.ended_at).is_(None), col(Recording.status) == RecordingStatus.PENDING)
            .order_by(col(RecordedCall.call_id))
        )
        async with self._sessions() as session:
            rows = (await session.exec(query)).all()
        calls = {call.call_id: PendingCall(call.call_id, source, tuple(call.legs)) for call, source in rows}
        return list(calls.values())

    async def retry_pending(self) -> int:
        """Ingest every PENDING recording whose call is over; returns how many were stored."""
        query = (
            select(Recording.id)
            .join(RecordedCall, col(RecordedCall.call_id) == col(Recording.call_id))
            .where(col(Recording.status) == RecordingStatus.PENDING, col(RecordedCall.ended_at).is_not(None))
            .order_by(col(Recording.id))
        )
        async with self._sessions() as session:
            ids = [int(i) for i in (await session.exec(query)).all() if i is not None]
        stored = 0
        for rec_id in ids:
            stored += await self._service.ingest(rec_id)
        if ids:
            log.info("recovery: %d pending recordings of ended calls retried, %d stored", len(ids), stored)
        return stored

    async def scan(self, since: datetime) -> ScanReport:
        """Register and take in files changed since `since` that no recording row knows."""
        report = ScanReport()
        found = await asyncio.to_thread(self._list, since.timestamp())
        report.files = len(found)
        for start in range(0, len(found), _PAGE):
            await self._register(found[start : start + _PAGE], since, report)
        for name in report.unmatched:
            log.warning("recovery: %s matches no call by its Uniqueid: left in the PBX folder", name)
        return report

    def _list(self, since_ts: float) -> list[tuple[str, str, float]]:
        """(PBX path, uniqueid, mtime) of audio files changed since `since_ts` (blocking).

        A folder of another PBX is keyed `<pbx>:<path>` (cti.wiring.recording_folders), and its
        calls' legs carry the same `<pbx>:` prefix: Uniqueids are unique per PBX only, so a
        file of that folder is matched by the prefixed Uniqueid against that PBX's calls (their
        legs are Asterisk's own ids, their call ids prefixed). Unprefixed, it matched the main
        PBX's call of the same id first, which already had its own file of that name: skipped, so
        an east call that ended during a takeover kept no recording."""
        out = []
        for pbx, local in self._folders.items():
            prefix = _pbx_prefix(str(pbx))
            try:
                entries = list(os.scandir(local))
            except FileNotFoundError:
                continue
            for entry in entries:
                name = entry.name
                if not entry.is_file() or PurePosixPath(name).suffix.lower() not in _AUDIO:
                    continue
                uid = uniqueid_in(name)
                mtime = entry.stat().st_mtime
                if uid is not None and mtime >= since_ts:
                    out.append((str(pbx / name), prefix + uid, mtime))
        return sorted(out)

    async def _register(
        self, files: list[tuple[str, str, float]], since: datetime, report: ScanReport
    ) -> None:
        refs = [ref for ref, _, _ in files]
        async with self._sessions.begin() as session:
            known = set(
                (
                    await session.exec(
                        select(Recording.source_ref).where(
                            col(Recording.source) == self._source, col(Recording.source_ref).in_(refs)
                        )
                    )
                ).all()
            )
            calls = await _calls_by_leg(session, {uid for ref, uid, _ in files if ref not in known}, since)
            named = await _file_names_of(session, self._source, {c.call_id for c in calls.values()})
            new: list[tuple[int, bool]] = []
            adopted: list[tuple[str, str]] = []
            for ref, uid, mtime in files:
                if ref in known:
                    continue
                call = calls.get(uid)
                if call is None:
                    report.unmatched.append(ref)
                    continue
                if (call.call_id, PurePosixPath(ref).name) in named:
                    continue  # the live path has it, under the path the PBX reported
                rec_id = await self._insert(session, call, ref, datetime.fromtimestamp(mtime, UTC))
                named.add((call.call_id, PurePosixPath(ref).name))  # one folder under two names: once
                if rec_id is not None:
                    new.append((rec_id, call.ended_at is not None))
                    adopted.append((call.call_id, ref))
        report.registered += len(new)
        if self.link_call is not None:  # as the live path's RECORDING_STARTED fills the call row
            for call_id, ref in adopted:
                await self.link_call(call_id, ref)
        live = [rec_id for rec_id, over in new if not over]
        over_now = await self._ended_since(live) if live else set()
        for rec_id, over in new:
            if over or rec_id in over_now:
                report.stored += await self._service.ingest(rec_id)

    async def _ended_since(self, rec_ids: list[int]) -> set[int]:
        """Those of `rec_ids` (just registered, their call live then) whose call has ended since.

        Recovery runs while live events flow (a standby taking over, a restart mid-storm): the
        call's HUNG_UP may be handled between the read of `ended_at` above and the commit of the
        row, and its handler's look for PENDING files (RecordingService._pending_of) then missed
        the row not yet committed, leaving it PENDING for good. Read after the commit, one of the
        two sees the other (each writes, then reads); both ingesting stores once."""
        query = (
            select(Recording.id)
            .join(RecordedCall, col(RecordedCall.call_id) == col(Recording.call_id))
            .where(col(Recording.id).in_(rec_ids), col(RecordedCall.ended_at).is_not(None))
        )
        async with self._sessions() as session:
            return {int(i) for i in (await session.exec(query)).all() if i is not None}

    async def _insert(
        self, session: AsyncSession, call: RecordedCall, ref: str, changed: datetime
    ) -> int | None:
        await session.exec(
            insert_ignoring_conflicts(
                session,
                Recording,
                call_id=call.call_id,
                source=self._source,
                source_ref=ref,
                pbx=self._service.pbx_of(call.call_id),
                status=RecordingStatus.PENDING,
                queue=call.queue,
                ended_at=call.ended_at or changed,
                attempts=0,
                gaps=[],
                legal_hold=False,
            )
        )
        query = select(Recording.id).where(
            col(Recording.source) == self._source, col(Recording.source_ref) == ref
        )
        rec_id = (await session.exec(query)).one()
        log.info("recovery: %s registered for call %s (found in the PBX folder)", ref, call.call_id)
        return rec_id


def _pbx_prefix(folder: str) -> str:
    """`east:` of a folder keyed `east:/var/spool/asterisk/monitor`; nothing for a plain path."""
    head, sep, rest = folder.partition(":")
    return f"{head}:" if sep and head and "/" not in head and rest.startswith("/") else ""


def _call_pbx_prefix(call_id: str) -> str:
    """`east:` of another PBX's call id (`east:<Linkedid>`, cti.multi); nothing for the main PBX's."""
    head, sep, _ = call_id.partition(":")
    return f"{head}:" if sep and head else ""


async def _file_names_of(session: AsyncSession, source: str, call_ids: set[str]) -> set[tuple[str, str]]:
    """(call, file name) of the recordings these calls already have.

    The scan names a file by the PBX folder it is configured as (`pbx_folders`, by default
    /var/spool/asterisk/monitor), the live path by the path MixMonitor reported. Where the
    dialplan records elsewhere the two differ for the same file: without this every restart
    registered each recent call's recording a second time (seen on Asterisk 22.10.1 with
    RECDIR outside /var/spool). MixMonitor's file names carry the leg's Uniqueid, so the
    name identifies the file within a call."""
    if not call_ids:
        return set()
    rows = await session.exec(
        select(Recording.call_id, Recording.source_ref).where(
            col(Recording.source) == source, col(Recording.call_id).in_(call_ids)
        )
    )
    return {(call_id, PurePosixPath(ref).name) for call_id, ref in rows.all()}


async def _calls_by_leg(session: AsyncSession, uids: set[str], since: datetime) -> dict[str, RecordedCall]:
    """Calls having one of these Uniqueids among their legs, looked for among calls updated since `since`
    (legs are a JSON list: matched here, not in SQL, over a bounded window)."""
    if not uids:
        return {}
    found: dict[str, RecordedCall] = {}
    after = ""
    while True:
        page = (
            await session.exec(
                select(RecordedCall)
                .where(col(RecordedCall.updated_at) >= since, col(RecordedCall.call_id) > after)
                .order_by(col(RecordedCall.call_id))
                .limit(_PAGE)
            )
        ).all()
        for call in page:
            prefix = _call_pbx_prefix(call.call_id)
            for leg in call.legs:
                key = leg if ":" in leg else prefix + leg  # another PBX's legs: Asterisk's own ids
                if key in uids:
                    found.setdefault(key, call)
        if len(page) < _PAGE:
            return found
        after = page[-1].call_id
