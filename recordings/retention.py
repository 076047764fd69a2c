"""Retention: how long recordings are kept, and the job that deletes expired ones.

Each recording gets `purge_after` when it is stored (start + the period for its
queue or ticket category). One interval job claims due rows with a single
`UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) … RETURNING`: on
PostgreSQL several workers running the job at the same moment each get
different rows; on SQLite the UPDATE takes the write lock, so they queue. A row
on legal hold is never claimed. For each claimed row the job writes an audit
entry (keeping the SHA-256, so the deleted file can still be identified later),
deletes the blob unless another live recording shares it, and commits. If it
crashes before the commit, the rows are still due and the next run redoes it
(blob deletion is idempotent).

APScheduler 3 keeps no shared state between workers: deadlines live in our
table, the job only looks for due rows, and is re-added at every start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import AuditLog
from config.database import utcnow
from recordings.models import Recording, RecordingStatus
from recordings.repo import drop_blob_if_unreferenced
from recordings.storage import BlobStore

log = logging.getLogger(__name__)

RETENTION_ACTOR = "system:retention"


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Keep recordings `default`, or longer where their queue or ticket category says so.

    When both a queue and a category period apply, the longer one wins: deleting
    earlier than any applicable rule requires is the mistake that cannot be undone.
    """

    default: timedelta = timedelta(days=365)
    by_queue: Mapping[str, timedelta] = field(default_factory=dict)
    by_category: Mapping[str, timedelta] = field(default_factory=dict)

    def period_for(self, queue: str | None, category: str | None) -> timedelta:
        applicable = [
            period
            for period in (
                self.by_queue.get(queue) if queue else None,
                self.by_category.get(category) if category else None,
            )
            if period is not None
        ]
        return max(applicable) if applicable else self.default

    def purge_after(self, started_at: datetime, queue: str | None, category: str | None) -> datetime:
        return started_at + self.period_for(queue, category)


class RetentionJob:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: BlobStore,
        audit: AuditLog,
        clock: Callable[[], datetime] = utcnow,
        batch: int = 100,
    ) -> None:
        self._sessions, self._store, self._audit = sessions, store, audit
        self._clock, self._batch = clock, batch

    async def run_once(self) -> list[int]:
        """Delete every due, un-held recording; returns their ids. Safe to run concurrently."""
        deleted: list[int] = []
        while True:
            ids = await self._purge_batch()
            deleted += ids
            if len(ids) < self._batch:
                return deleted

    async def _purge_batch(self) -> list[int]:
        now = self._clock()
        due = (
            col(Recording.status) == RecordingStatus.STORED,
            col(Recording.legal_hold).is_(False),
            col(Recording.purge_after) <= now,
        )
        async with self._sessions() as session:
            claim = (
                update(Recording)
                .where(
                    col(Recording.id).in_(
                        select(Recording.id)
                        .where(*due)
                        .order_by(col(Recording.purge_after))
                        .limit(self._batch)
                        .with_for_update(skip_locked=True)
                    ),
                    *due,
                )
                .values(status=RecordingStatus.DELETED, deleted_at=now, deleted_by=RETENTION_ACTOR)
                .returning(col(Recording.id))
                .execution_options(synchronize_session=False)
            )
            ids = sorted(int(row[0]) for row in (await session.exec(claim)).all())
            for rec_id in ids:
                recording = await session.get(Recording, rec_id, populate_existing=True)
                assert recording is not None
                await self._audit.append(
                    session,
                    actor=RETENTION_ACTOR,
                    action="recording.retention_delete",
                    subject=f"recording:{rec_id}",
                    detail=_kept_facts(recording),
                )
                await drop_blob_if_unreferenced(session, self._store, recording)
            await session.commit()
        if ids:
            log.info("retention deleted %d recording(s): %s", len(ids), ids)
        return ids


def _kept_facts(recording: Recording) -> dict[str, object]:
    return {
        "call_id": recording.call_id,
        "sha256": recording.sha256,
        "size_bytes": recording.size_bytes,
        "purge_after": recording.purge_after.isoformat() if recording.purge_after else None,
    }


def schedule_jobs(
    scheduler: Any,
    *,
    retention: RetentionJob,
    retry_failed: Callable[[], Any],
    every_s: float = 60.0,
    retry_every_s: float = 10.0,
) -> None:
    """Add the two interval jobs to an APScheduler 3 `AsyncIOScheduler` (idempotent).

    Call at every start-up. `misfire_grace_time` is set (the default of 1 s skips
    runs after a busy moment) and runs coalesce: a job that only looks for due
    rows loses nothing by running once instead of three times. The retry job runs
    more often than retention: it is one indexed look for due rows, and a recording
    waiting on it is a call without its recording (the first retry is due 15 s out).
    """

    def common(seconds: float) -> dict[str, Any]:
        return {
            "trigger": "interval",
            "seconds": seconds,
            "replace_existing": True,
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": max(30, int(seconds)),
        }

    scheduler.add_job(retention.run_once, id="recordings.retention", **common(every_s))
    scheduler.add_job(retry_failed, id="recordings.retry_failed", **common(retry_every_s))
