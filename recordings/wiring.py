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
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import AuditLog
from config.database import utcnow
from recordings.archive import RecordingArchive
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

    def schedule(self, scheduler: Any, every_s: float = 60.0) -> None:
        schedule_jobs(
            scheduler, retention=self.retention, retry_failed=self.service.retry_failed, every_s=every_s
        )


def build_recordings(
    *,
    sessions: async_sessionmaker[AsyncSession],
    root: Path,
    pbx_folders: Mapping[str, Path] | None = None,
    policy: RetentionPolicy | None = None,
    store: BlobStore | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Recordings:
    """Fetchers for the PBX's shared folder; other sources are added with `service.add_fetcher`
    (Twilio's needs the link's credentials and host check: the composition root adds it)."""
    store = store or LocalStore(root)
    audit = AuditLog(clock=clock)
    local = LocalFileFetcher(pbx_folders or {ASTERISK_MONITOR: root / "incoming"})
    fetchers: dict[str, RecordingFetcher] = {"asterisk": local, "simulator": local}
    service = RecordingService(
        sessions=sessions,
        store=store,
        audit=audit,
        fetchers=fetchers,
        retention=policy or RetentionPolicy(),
        clock=clock,
    )
    archive = RecordingArchive(sessions=sessions, store=store, audit=audit, clock=clock)
    retention = RetentionJob(sessions=sessions, store=store, audit=audit, clock=clock)
    return Recordings(store, audit, service, archive, retention)
