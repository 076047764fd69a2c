"""Check every archived recording against its blob AND against the audit log.

Three witnesses must agree: the blob's bytes (re-hashed now), the row, and the
`recording.ingest` entry of the hash-chained audit log (`recordings.evidence`).
Re-hashing the blob against the row alone misses the attack that matters: swap
the audio and update the row's hash to match. Comparing the row with the log
catches that, a reassigned owner (`agent_id`, the call's agents: who may
listen) and a row that appeared without an ingest or vanished after one.

Reasons reported: missing, hash_mismatch (blob vs row), row_hash_changed,
size_changed, blob_key_changed, owner_changed, agents_changed, queue_changed,
not_audited (stored, no ingest entry), row_missing (ingest entry, no row).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.models import AuditEntry
from recordings.errors import BlobNotFound
from recordings.evidence import INGEST, archived_facts, compare
from recordings.models import CallAgent, Recording, RecordingStatus
from recordings.storage import BlobStore

_ARCHIVED = (RecordingStatus.STORED, RecordingStatus.DELETED)


@dataclass(frozen=True, slots=True)
class FileProblem:
    recording_id: int
    storage_key: str | None
    reason: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class FilesReport:
    checked: int
    problems: list[FileProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


async def verify_recordings(
    sessions: async_sessionmaker[AsyncSession], store: BlobStore, page: int = 500
) -> FilesReport:
    """Every stored (and deleted) recording, a page at a time; then ingest entries without rows."""
    checked, problems, after = 0, [], 0
    while True:
        async with sessions() as session:
            rows = list(
                (
                    await session.exec(
                        select(Recording)
                        .where(col(Recording.status).in_(_ARCHIVED), col(Recording.id) > after)
                        .order_by(col(Recording.id))
                        .limit(page)
                    )
                ).all()
            )
            ids = [r.id for r in rows if r.id is not None]
            facts = await archived_facts(session, ids)
            agents = await _agents_by_call(session, {r.call_id for r in rows})
        for recording in rows:
            assert recording.id is not None
            after = recording.id
            checked += recording.status == RecordingStatus.STORED
            known = facts.get(recording.id)
            if known is None:
                why = "archived but the audit log has no recording.ingest entry for it"
                problems.append(FileProblem(recording.id, recording.storage_key, "not_audited", why))
            else:
                for found in compare(recording, agents.get(recording.call_id, ()), known):
                    problems.append(
                        FileProblem(recording.id, recording.storage_key, found.reason, found.message)
                    )
            if recording.status == RecordingStatus.STORED:
                problem = await _check_blob(store, recording)
                if problem is not None:
                    problems.append(problem)
        if len(rows) < page:
            break
    problems += await _rows_missing(sessions, page)
    return FilesReport(checked, problems)


async def _check_blob(store: BlobStore, recording: Recording) -> FileProblem | None:
    assert recording.id is not None
    if recording.storage_key is None:
        return FileProblem(recording.id, None, "missing", "stored without a blob key")
    try:
        actual = await store.rehash(recording.storage_key)
    except BlobNotFound:
        return FileProblem(recording.id, recording.storage_key, "missing", "the blob is gone")
    if actual != recording.sha256:
        return FileProblem(
            recording.id, recording.storage_key, "hash_mismatch", f"the blob now hashes to {actual}"
        )
    return None


async def _agents_by_call(session: AsyncSession, call_ids: set[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    if not call_ids:
        return out
    rows = await session.exec(select(CallAgent).where(col(CallAgent.call_id).in_(sorted(call_ids))))
    for row in rows.all():
        out[row.call_id].add(row.agent_id)
    return out


async def _rows_missing(sessions: async_sessionmaker[AsyncSession], page: int) -> list[FileProblem]:
    """Ingest entries whose recording row was deleted outright (rows are never deleted by Hotline)."""
    problems, after = [], 0
    while True:
        async with sessions() as session:
            entries = list(
                (
                    await session.exec(
                        select(AuditEntry.seq, AuditEntry.subject)
                        .where(col(AuditEntry.action) == INGEST, col(AuditEntry.seq) > after)
                        .order_by(col(AuditEntry.seq))
                        .limit(page)
                    )
                ).all()
            )
            wanted = {int(s.removeprefix("recording:")): seq for seq, s in entries if s[10:].isdigit()}
            present = set(
                (await session.exec(select(Recording.id).where(col(Recording.id).in_(sorted(wanted))))).all()
            )
        for rec_id, seq in sorted(wanted.items()):
            if rec_id not in present:
                why = f"the audit log archived it (seq {seq}) but its row is gone"
                problems.append(FileProblem(rec_id, None, "row_missing", why))
        if len(entries) < page:
            return problems
        after = entries[-1][0]
