"""The recordings archive as users see it: list, play, download, hold, delete, verify.

Every attempt is decided by `access.decide` and written to the audit log, and
the log entry is committed BEFORE any audio byte is handed out: if the audit
write fails, nothing is served. Refusals are logged as `recording.denied` (with
the attempted action and the reason), and so are attempts on recordings that do
not exist (probing ids is worth knowing about).

One listening is one entry: a player asks for the file in several Range
requests (the start, then wherever the listener seeks). A play request that
continues a listening — a range not starting at byte 0, by the same person, for
the same recording, within `LISTENING_WINDOW` of their last logged play — is
served under that entry instead of adding one per range. A request from the
start is a new listening and is logged; so is every download.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import AuditLog, last_entry_since
from config.database import utcnow
from recordings.access import Action, Principal, Scope, decide, scope_of
from recordings.errors import (
    AccessDenied,
    BlobNotFound,
    HoldStateError,
    LegalHoldActive,
    RangeNotSatisfiable,
    RecordingNotFound,
    RecordingTampered,
)
from recordings.evidence import check_against_archive
from recordings.filecheck import FileProblem, FilesReport, verify_recordings
from recordings.models import CallAgent, RecordedCall, Recording, RecordingStatus
from recordings.ranges import ByteRange, parse_range
from recordings.repo import agents_of, drop_blob_if_unreferenced, facts_of
from recordings.storage import BlobStore

__all__ = ["FileProblem", "FilesReport", "Playback", "RecordingArchive"]

log = logging.getLogger(__name__)

_AUDIO_ACTIONS = {Action.PLAY: "recording.play", Action.DOWNLOAD: "recording.download"}


@dataclass(frozen=True, slots=True)
class Playback:
    """What the HTTP layer needs to answer: 200 (range None) or 206."""

    recording: Recording
    size: int
    range: ByteRange | None
    chunks: AsyncIterator[bytes]
    media_type: str = "audio/wav"

    @property
    def filename(self) -> str:
        return f"recording-{self.recording.id}-{self.recording.call_id}.wav"


LISTENING_WINDOW = timedelta(minutes=30)


class RecordingArchive:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: BlobStore,
        audit: AuditLog,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions, self._store, self._audit, self._clock = sessions, store, audit, clock

    async def _authorize(
        self,
        session: AsyncSession,
        who: Principal,
        action: Action,
        rec_id: int,
        source_ip: str | None,
    ) -> Recording:
        """Load the row and decide; on refusal log it, commit, and raise."""
        recording = await session.get(
            Recording, rec_id, with_for_update=action in (Action.HOLD, Action.DELETE)
        )
        if recording is None or recording.status != RecordingStatus.STORED:
            await self._refuse(session, who, action, rec_id, source_ip, "no such recording", "not_found")
            raise RecordingNotFound(f"recording {rec_id} does not exist or is not available")
        decision = decide(who, action, await facts_of(session, recording))
        if not decision.allowed:
            await self._refuse(session, who, action, rec_id, source_ip, decision.reason, "denied")
            raise AccessDenied(decision.reason)
        return recording

    async def _refuse(
        self,
        session: AsyncSession,
        who: Principal,
        action: Action,
        rec_id: int,
        source_ip: str | None,
        reason: str,
        outcome: str,
    ) -> None:
        await session.rollback()
        await self._audit.append(
            session,
            actor=who.actor,
            action="recording.denied",
            subject=f"recording:{rec_id}",
            detail={"attempted": str(action), "reason": reason},
            source_ip=source_ip,
            outcome=outcome,
        )
        await session.commit()

    # -- reading -------------------------------------------------------------------

    async def get(self, who: Principal, rec_id: int, source_ip: str | None = None) -> Recording:
        """Metadata of one recording the principal may view (not audited: no audio)."""
        async with self._sessions() as session:
            recording = await session.get(Recording, rec_id)
            if recording is None or not decide(who, Action.VIEW, await facts_of(session, recording)).allowed:
                raise RecordingNotFound(f"recording {rec_id} does not exist or is not visible to you")
            return recording

    async def list_visible(
        self, who: Principal, *, limit: int = 50, before_id: int | None = None, call_id: str | None = None
    ) -> list[Recording]:
        """Newest first, only what `who` may view; page with `before_id`."""
        scope = scope_of(who.role, Action.VIEW)
        query = select(Recording).order_by(col(Recording.id).desc()).limit(min(max(limit, 1), 500))
        if before_id is not None:
            query = query.where(col(Recording.id) < before_id)
        if call_id is not None:
            query = query.where(col(Recording.call_id) == call_id)
        if scope is Scope.NONE:
            return []
        if scope is Scope.OWN:
            mine = select(CallAgent.call_id).where(col(CallAgent.agent_id) == (who.agent_id or ""))
            query = query.where(col(Recording.call_id).in_(mine))
        elif scope is Scope.QUEUES:
            via = select(RecordedCall.call_id).where(col(RecordedCall.queue).in_(sorted(who.queues)))
            query = query.where(
                col(Recording.queue).in_(sorted(who.queues)) | col(Recording.call_id).in_(via)
            )
        async with self._sessions() as session:
            return list((await session.exec(query)).all())

    async def open_audio(
        self,
        who: Principal,
        rec_id: int,
        *,
        action: Action = Action.PLAY,
        range_header: str | None = None,
        source_ip: str | None = None,
    ) -> Playback:
        """Authorize, log, commit, then return the byte stream.

        Raises RecordingNotFound, AccessDenied, RangeNotSatisfiable (all logged).
        """
        if action not in _AUDIO_ACTIONS:
            raise ValueError(f"{action} is not an audio action")
        async with self._sessions() as session:
            recording = await self._authorize(session, who, action, rec_id, source_ip)
            assert recording.storage_key is not None
            await self._refuse_if_tampered(session, who, action, recording, source_ip)
            size = await self._store.size(recording.storage_key)
            wanted: ByteRange | None = None
            outcome, error = "ok", None
            try:
                wanted = parse_range(range_header, size) if action is Action.PLAY else None
            except RangeNotSatisfiable as exc:
                outcome, error = "unsatisfiable", exc
            # a range continuing a listening is served under the entry that began it
            if error is not None or not await self._continues_listening(session, who, action, rec_id, wanted):
                await self._audit.append(
                    session,
                    actor=who.actor,
                    action=_AUDIO_ACTIONS[action],
                    subject=f"recording:{rec_id}",
                    detail={
                        "call_id": recording.call_id,
                        "sha256": recording.sha256,
                        "range": range_header,
                        "bytes": (wanted.length if wanted else size) if error is None else 0,
                    },
                    source_ip=source_ip,
                    outcome=outcome,
                )
                await session.commit()
        if error is not None:
            raise error
        start, stop = (wanted.start, wanted.stop) if wanted else (0, size)
        return Playback(recording, size, wanted, self._store.read(recording.storage_key, start, stop))

    async def _continues_listening(
        self, session: AsyncSession, who: Principal, action: Action, rec_id: int, wanted: ByteRange | None
    ) -> bool:
        if action is not Action.PLAY or wanted is None or wanted.start == 0:
            return False
        logged = await last_entry_since(
            session,
            actor=who.actor,
            action=_AUDIO_ACTIONS[Action.PLAY],
            subject=f"recording:{rec_id}",
            since=self._clock() - LISTENING_WINDOW,
        )
        return logged is not None and logged.outcome == "ok"

    async def _refuse_if_tampered(
        self,
        session: AsyncSession,
        who: Principal,
        action: Action,
        recording: Recording,
        source_ip: str | None,
    ) -> None:
        """Serve evidence only if blob, row and audit log agree (`recordings.evidence`).

        Re-hashes the whole blob on every open (a Range request too): what is
        handed out must be what was archived, and a swapped file with an updated
        row passes any check that trusts the row. Refusals are audited as
        `recording.tampered` and raise RecordingTampered.
        """
        assert recording.id is not None and recording.storage_key is not None
        agents = await agents_of(session, recording.call_id)
        found = await check_against_archive(session, recording, agents)
        problems = [f"{d.reason}: {d.message}" for d in found]
        try:
            actual = await self._store.rehash(recording.storage_key)
        except BlobNotFound:
            actual = None
            problems.append("missing: the stored file is gone")
        if actual is not None and actual != recording.sha256:
            problems.append(f"hash_mismatch: the stored file hashes to {actual}, not {recording.sha256}")
        if not problems:
            return
        rec_id, call_id = recording.id, recording.call_id
        await session.rollback()
        await self._audit.append(
            session,
            actor=who.actor,
            action="recording.tampered",
            subject=f"recording:{rec_id}",
            detail={"attempted": str(action), "call_id": call_id, "problems": problems},
            source_ip=source_ip,
            outcome="tampered",
        )
        await session.commit()
        log.error("recording %s failed its integrity check: %s", rec_id, "; ".join(problems))
        raise RecordingTampered(
            f"recording {rec_id} failed its integrity check and is not served "
            f"({problems[0].split(':', 1)[0]}); an auditor should run `hotline audit verify`"
        )

    # -- legal hold and deletion ---------------------------------------------------

    async def set_hold(
        self, who: Principal, rec_id: int, *, reason: str, source_ip: str | None = None
    ) -> Recording:
        if not reason.strip():
            raise HoldStateError("a legal hold needs a reason")
        async with self._sessions() as session:
            recording = await self._authorize(session, who, Action.HOLD, rec_id, source_ip)
            if recording.legal_hold:
                raise HoldStateError(f"recording {rec_id} is already on legal hold (by {recording.hold_by})")
            recording.legal_hold, recording.hold_reason = True, reason.strip()
            recording.hold_by, recording.hold_at = who.actor, self._clock()
            session.add(recording)
            await self._audit.append(
                session,
                actor=who.actor,
                action="recording.hold_on",
                subject=f"recording:{rec_id}",
                detail={"reason": reason.strip(), "call_id": recording.call_id},
                source_ip=source_ip,
            )
            await session.commit()
            return recording

    async def release_hold(
        self, who: Principal, rec_id: int, *, reason: str = "", source_ip: str | None = None
    ) -> Recording:
        async with self._sessions() as session:
            recording = await self._authorize(session, who, Action.HOLD, rec_id, source_ip)
            if not recording.legal_hold:
                raise HoldStateError(f"recording {rec_id} is not on legal hold")
            held = {"held_by": recording.hold_by, "held_for": recording.hold_reason, "reason": reason}
            recording.legal_hold, recording.hold_reason, recording.hold_by, recording.hold_at = (
                False,
                None,
                None,
                None,
            )
            session.add(recording)
            await self._audit.append(
                session,
                actor=who.actor,
                action="recording.hold_off",
                subject=f"recording:{rec_id}",
                detail={**held, "call_id": recording.call_id},
                source_ip=source_ip,
            )
            await session.commit()
            return recording

    async def delete(self, who: Principal, rec_id: int, *, reason: str, source_ip: str | None = None) -> None:
        """Delete before the retention deadline (admins). Refused while on legal hold."""
        async with self._sessions() as session:
            recording = await self._authorize(session, who, Action.DELETE, rec_id, source_ip)
            if recording.legal_hold:
                why = f"recording {rec_id} is on legal hold: {recording.hold_reason}"
                await self._refuse(session, who, Action.DELETE, rec_id, source_ip, why, "refused")
                raise LegalHoldActive(why)
            recording.status, recording.deleted_at, recording.deleted_by = (
                RecordingStatus.DELETED,
                self._clock(),
                who.actor,
            )
            session.add(recording)
            await self._audit.append(
                session,
                actor=who.actor,
                action="recording.delete",
                subject=f"recording:{rec_id}",
                detail={"reason": reason, "call_id": recording.call_id, "sha256": recording.sha256},
                source_ip=source_ip,
            )
            await session.flush()
            await drop_blob_if_unreferenced(session, self._store, recording)
            await session.commit()

    # -- integrity -------------------------------------------------------------------

    async def verify_files(self, page: int = 500) -> FilesReport:
        """Every archived recording against its blob and the audit log (`recordings.filecheck`)."""
        return await verify_recordings(self._sessions, self._store, page)
