"""Retention in virtual time: only expired, un-held recordings go; several workers delete once."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from datetime import timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import AuditLog
from audit.models import AuditEntry
from config.database import create_engine, session_factory
from cti.simulator.wav import write_call_wav
from recordings.access import Principal
from recordings.archive import RecordingArchive
from recordings.models import Recording, RecordingStatus
from recordings.retention import RetentionJob, RetentionPolicy, schedule_jobs
from recordings.service import RecordingService
from recordings.storage import LocalStore
from tests.recordings.conftest import PBX_MONITOR, VirtualClock, record_call

ADMIN = Principal("root", "admin")

# Each recording gets a tone of its own, so no two WAVs are byte-identical and none shares a
# content-addressed blob by accident. (A tone derived from `hash(name)` collided for about one
# process in a hundred under hash randomisation: the blob was then kept, rightly, and the test
# failed.)
_TONES = itertools.count(300, 7)


async def _record(
    service: RecordingService, clock: VirtualClock, pbx_dir: Path, name: str, queue: str
) -> None:
    write_call_wav(pbx_dir / f"{name}.wav", 1.0, tone_hz=next(_TONES))
    await record_call(service, clock, call_id=name, queue=queue, location=f"{PBX_MONITOR}/{name}.wav")


async def _by_call(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Recording]:
    async with sessions() as session:
        return {r.call_id: r for r in (await session.exec(select(Recording))).all()}


def test_the_longer_of_queue_and_category_periods_applies() -> None:
    policy = RetentionPolicy(
        default=timedelta(days=90),
        by_queue={"billing": timedelta(days=365)},
        by_category={"complaint": timedelta(days=730), "spam": timedelta(days=7)},
    )
    assert policy.period_for(None, None) == timedelta(days=90)
    assert policy.period_for("billing", None) == timedelta(days=365)
    assert policy.period_for("billing", "complaint") == timedelta(days=730)
    assert policy.period_for("billing", "spam") == timedelta(days=365)
    assert policy.period_for("support", "spam") == timedelta(days=7)


async def test_only_expired_recordings_without_a_hold_are_deleted(
    service: RecordingService,
    archive: RecordingArchive,
    retention: RetentionJob,
    sessions: async_sessionmaker[AsyncSession],
    store: LocalStore,
    clock: VirtualClock,
    pbx_dir: Path,
) -> None:
    await _record(service, clock, pbx_dir, "support-a", "support")  # 90 days
    await _record(service, clock, pbx_dir, "support-held", "support")  # 90 days, held
    await _record(service, clock, pbx_dir, "billing-b", "billing")  # 365 days
    recs = await _by_call(sessions)
    await archive.set_hold(ADMIN, recs["support-held"].id or 0, reason="dispute #88")

    clock.advance(days=89)
    assert await retention.run_once() == []
    clock.advance(days=2)
    assert await retention.run_once() == [recs["support-a"].id]
    assert await retention.run_once() == []  # nothing twice

    after = await _by_call(sessions)
    gone = after["support-a"]
    assert gone.status == RecordingStatus.DELETED and gone.deleted_by == "system:retention"
    assert gone.sha256 == recs["support-a"].sha256  # the hash is kept
    assert gone.storage_key is not None and not store.path_of(gone.storage_key).exists()
    assert after["support-held"].status == RecordingStatus.STORED
    assert after["billing-b"].status == RecordingStatus.STORED

    async with sessions() as session:
        entry = (
            await session.exec(
                select(AuditEntry).where(col(AuditEntry.action) == "recording.retention_delete")
            )
        ).one()
    assert entry.subject == f"recording:{gone.id}" and entry.detail["sha256"] == gone.sha256

    await archive.release_hold(ADMIN, recs["support-held"].id or 0, reason="dispute closed")
    assert await retention.run_once() == [recs["support-held"].id]
    clock.advance(days=300)
    assert await retention.run_once() == [recs["billing-b"].id]
    async with sessions() as session:
        assert (await AuditLog().verify(session)).ok


async def test_a_blob_shared_by_a_live_recording_is_kept(
    service: RecordingService,
    retention: RetentionJob,
    sessions: async_sessionmaker[AsyncSession],
    store: LocalStore,
    clock: VirtualClock,
    pbx_dir: Path,
) -> None:
    await record_call(service, clock, call_id="old", queue="support")
    clock.advance(days=60)
    shutil.copyfile(pbx_dir / "1795342409.1.wav", pbx_dir / "copy.wav")  # same bytes, another file
    await record_call(service, clock, call_id="copy", queue="support", location=f"{PBX_MONITOR}/copy.wav")
    clock.advance(days=31)
    assert len(await retention.run_once()) == 1
    recs = await _by_call(sessions)
    assert recs["old"].storage_key == recs["copy"].storage_key
    assert recs["copy"].storage_key is not None and store.path_of(recs["copy"].storage_key).exists()


async def test_concurrent_workers_never_delete_the_same_recording_twice(
    service: RecordingService,
    sessions: async_sessionmaker[AsyncSession],
    store: LocalStore,
    clock: VirtualClock,
    pbx_dir: Path,
    database_url: str,
) -> None:
    for i in range(12):
        await _record(service, clock, pbx_dir, f"call-{i:02d}", "support")
    clock.advance(days=91)
    engines = [create_engine(database_url) for _ in range(3)]
    try:
        jobs = [
            RetentionJob(
                sessions=session_factory(e), store=store, audit=AuditLog(clock), clock=clock, batch=2
            )
            for e in engines
        ]
        results = await asyncio.gather(*(job.run_once() for job in jobs))
    finally:
        for e in engines:
            await e.dispose()
    deleted = [rec_id for result in results for rec_id in result]
    assert sorted(deleted) == sorted(r.id for r in (await _by_call(sessions)).values())
    assert len(deleted) == 12
    async with sessions() as session:
        entries = (
            await session.exec(
                select(AuditEntry).where(col(AuditEntry.action) == "recording.retention_delete")
            )
        ).all()
        assert len(entries) == 12
        assert (await AuditLog().verify(session)).ok


async def test_jobs_are_registered_once_on_an_apscheduler_with_a_grace_time(
    retention: RetentionJob, service: RecordingService
) -> None:
    scheduler = AsyncIOScheduler()
    for _ in range(2):  # start-up twice: replace_existing keeps one of each
        schedule_jobs(scheduler, retention=retention, retry_failed=service.retry_failed, every_s=60)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"recordings.retention", "recordings.retry_failed"}
    assert all(job.misfire_grace_time >= 30 and job.coalesce for job in jobs.values())
    assert jobs["recordings.retention"].trigger.interval.total_seconds() == 60
    assert jobs["recordings.retry_failed"].trigger.interval.total_seconds() == 10  # a call waits on it
    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)
