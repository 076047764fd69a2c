"""Fixtures for recordings/: a real blob store in tmp, a PBX folder with a real WAV, virtual time."""

from __future__ import annotations

import itertools
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import AuditLog
from recordings.archive import RecordingArchive
from recordings.retention import RetentionJob, RetentionPolicy
from recordings.service import RecordingService
from recordings.sources import LocalFileFetcher
from recordings.storage import LocalStore
from routing.events import CallEvent, CallEventKind

FIXTURE_WAV = Path(__file__).parents[1] / "fixtures" / "recordings" / "01-answered-caller-1795342409.1.wav"
PBX_MONITOR = "/var/spool/asterisk/monitor"


class VirtualClock:
    """Time that moves only when a test says so."""

    def __init__(self, start: datetime = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


_ids = itertools.count(1)


def call_event(
    call_id: str, kind: CallEventKind, clock: VirtualClock, *, source: str = "asterisk", **fields: object
) -> CallEvent:
    return CallEvent(
        call_id=call_id,
        kind=kind,
        at=clock(),
        event_id=str(fields.pop("event_id", f"ev-{next(_ids)}")),
        source=source,
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


@pytest.fixture
def pbx_dir(tmp_path: Path) -> Path:
    """This host's view of the PBX's MixMonitor folder, holding the real recording of trace 01."""
    folder = tmp_path / "pbx-monitor"
    folder.mkdir()
    shutil.copyfile(FIXTURE_WAV, folder / "1795342409.1.wav")
    return folder


@pytest.fixture
def audit(clock: VirtualClock) -> AuditLog:
    return AuditLog(clock=clock)


@pytest.fixture
def policy() -> RetentionPolicy:
    return RetentionPolicy(
        default=timedelta(days=90),
        by_queue={"billing": timedelta(days=365)},
        by_category={"complaint": timedelta(days=730)},
    )


@pytest.fixture
def service(
    sessions: async_sessionmaker[AsyncSession],
    store: LocalStore,
    audit: AuditLog,
    clock: VirtualClock,
    pbx_dir: Path,
    policy: RetentionPolicy,
) -> RecordingService:
    local = LocalFileFetcher({PBX_MONITOR: pbx_dir})
    return RecordingService(
        sessions=sessions,
        store=store,
        audit=audit,
        fetchers={"asterisk": local, "simulator": local},
        retention=policy,
        clock=clock,
    )


@pytest.fixture
def archive(
    sessions: async_sessionmaker[AsyncSession], store: LocalStore, audit: AuditLog, clock: VirtualClock
) -> RecordingArchive:
    return RecordingArchive(sessions=sessions, store=store, audit=audit, clock=clock)


@pytest.fixture
def retention(
    sessions: async_sessionmaker[AsyncSession], store: LocalStore, audit: AuditLog, clock: VirtualClock
) -> RetentionJob:
    return RetentionJob(sessions=sessions, store=store, audit=audit, clock=clock)


async def record_call(
    service: RecordingService,
    clock: VirtualClock,
    *,
    call_id: str = "1795342409.1",
    queue: str = "support",
    agent: str = "1001",
    location: str = f"{PBX_MONITOR}/1795342409.1.wav",
    source: str = "asterisk",
) -> None:
    """The events of trace 01 as cti/ translates them: offered, recording, answered, ready."""
    await service.handle(call_event(call_id, CallEventKind.OFFERED, clock, queue=queue, caller="0401000001"))
    await service.handle(
        call_event(call_id, CallEventKind.RECORDING_STARTED, clock, detail=location, source=source)
    )
    clock.advance(seconds=2)
    await service.handle(call_event(call_id, CallEventKind.ANSWERED, clock, queue=queue, agent=agent))
    clock.advance(seconds=12)
    await service.handle(
        call_event(call_id, CallEventKind.RECORDING_READY, clock, detail=location, source=source, queue=queue)
    )
