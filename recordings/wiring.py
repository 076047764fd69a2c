"""Everything recordings/ needs, built in one call for the composition root.

    recordings = build_recordings(sessions=sessions, root=settings.recordings_dir)
    recordings.store.sweep_staging()                        # once at start-up
    bus.subscribe("recordings", recordings.service.handle)
    recordings.schedule(scheduler)                          # APScheduler 3 AsyncIOScheduler

`root` holds the blob store (`objects/`, `staging/`) and, by default, the
`incoming/` folder a PBX (or the demo's simulated PBX) writes MixMonitor files
into. A real Asterisk's `/var/spool/asterisk/monitor` is mapped onto whatever
folder this host sees it as via `pbx_folders`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.checkpoint import CheckpointFile, CheckpointKey, CheckpointPublisher
from audit.log import AuditLog
from config.database import utcnow
from recordings.archive import RecordingArchive
from recordings.recovery import RecordingRecovery
from recordings.retention import RetentionJob, RetentionPolicy, schedule_jobs
from recordings.service import RecordingService
from recordings.sources import LocalFileFetcher, RecordingFetcher
from recordings.storage import BlobStore, LocalStore

ASTERISK_MONITOR = "/var/spool/asterisk/monitor"


@dataclass
class Recordings:
    store: BlobStore
    audit: AuditLog
    service: RecordingService
    archive: RecordingArchive
    retention: RetentionJob
    recovery: RecordingRecovery
    checkpoints: CheckpointPublisher | None = None  # signed audit head checkpoints, when a key is set
    checkpoint_every_s: float = 300.0

    def schedule(self, scheduler: Any, every_s: float = 60.0) -> None:
        schedule_jobs(
            scheduler, retention=self.retention, retry_failed=self.service.retry_failed, every_s=every_s
        )
        if self.checkpoints is not None:
            self.checkpoints.install(scheduler, self.checkpoint_every_s)
        scheduler.add_job(  # a backstop for files whose events never came (the start-up scan does the rest)
            self.scan_recent,
            trigger="interval",
            seconds=300,
            id="recordings.scan_pbx_folder",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )

    async def scan_recent(self) -> None:
        await self.recovery.scan(utcnow() - timedelta(hours=2))


def build_recordings(
    *,
    sessions: async_sessionmaker[AsyncSession],
    root: Path,
    pbx_folders: Mapping[str, Path] | None = None,
    policy: RetentionPolicy | None = None,
    store: BlobStore | None = None,
    clock: Callable[[], datetime] = utcnow,
    checkpoint_key: str = "",
    checkpoint_file: Path | None = None,
    checkpoint_every_s: float = 300.0,
    settle_s: float = 10.0,
    pbx_of: Callable[[str], str] | None = None,
) -> Recordings:
    """Fetchers for the PBX's shared folder; other sources are added with `service.add_fetcher`
    (Twilio's needs the link's credentials and host check: the composition root adds it).
    Audit checkpoints when `checkpoint_key` is set (written to `checkpoint_file`)."""
    store = store or LocalStore(root)
    audit = AuditLog(clock=clock)
    folders = dict(pbx_folders or {ASTERISK_MONITOR: root / "incoming"})
    local = LocalFileFetcher(folders)
    fetchers: dict[str, RecordingFetcher] = {"asterisk": local, "simulator": local}
    service = RecordingService(
        sessions=sessions,
        store=store,
        audit=audit,
        fetchers=fetchers,
        retention=policy or RetentionPolicy(),
        clock=clock,
        settle_s=settle_s,
        pbx_of=pbx_of,
    )
    archive = RecordingArchive(sessions=sessions, store=store, audit=audit, clock=clock)
    retention = RetentionJob(sessions=sessions, store=store, audit=audit, clock=clock)
    checkpoints = None
    if checkpoint_key:
        file = CheckpointFile(
            checkpoint_file or root.parent / "audit" / "checkpoints.jsonl", CheckpointKey(checkpoint_key)
        )
        checkpoints = CheckpointPublisher(sessions, file, clock=clock)
    recovery = RecordingRecovery(sessions, service, folders)
    return Recordings(store, audit, service, archive, retention, recovery, checkpoints, checkpoint_every_s)
