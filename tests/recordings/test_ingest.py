"""Ingest from each source (Asterisk, simulator, Twilio) into a real store and database."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import AuditLog
from audit.models import AuditEntry
from cti.simulator.wav import write_call_wav
from recordings.errors import SourceUnavailable
from recordings.models import RecordedCall, Recording, RecordingStatus
from recordings.retention import RetentionPolicy
from recordings.service import RecordingService
from recordings.sources import HttpRecordingDownloader, LocalFileFetcher
from recordings.storage import LocalStore
from routing.events import CallEventKind
from tests.recordings.conftest import FIXTURE_WAV, PBX_MONITOR, VirtualClock, call_event, record_call


async def _recordings(sessions: async_sessionmaker[AsyncSession]) -> list[Recording]:
    async with sessions() as session:
        return list((await session.exec(select(Recording).order_by(col(Recording.id)))).all())


async def _audit_actions(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list((await session.exec(select(AuditEntry.action).order_by(col(AuditEntry.seq)))).all())


async def test_asterisk_mixmonitor_file_is_stored_with_its_metadata(
    service: RecordingService,
    sessions: async_sessionmaker[AsyncSession],
    store: LocalStore,
    clock: VirtualClock,
) -> None:
    started = clock()
    await record_call(service, clock)
    [rec] = await _recordings(sessions)
    data = FIXTURE_WAV.read_bytes()
    assert rec.status == RecordingStatus.STORED
    assert rec.call_id == "1795342409.1" and rec.queue == "support" and rec.agent_id == "1001"
    assert rec.sha256 == hashlib.sha256(data).hexdigest() and rec.size_bytes == 223404
    assert rec.duration_s == pytest.approx(13.96) and rec.format == "wav/pcm_s16le/8000Hz/1ch"
    assert rec.started_at == started and rec.ended_at == started + timedelta(seconds=14)
    assert rec.purge_after == started + timedelta(days=90)
    assert rec.storage_key is not None and store.path_of(rec.storage_key).read_bytes() == data
    assert await _audit_actions(sessions) == ["recording.ingest"]


async def test_the_same_ready_event_twice_ingests_once(
    service: RecordingService, sessions: async_sessionmaker[AsyncSession], clock: VirtualClock
) -> None:
    await record_call(service, clock)
    ready = call_event(
        "1795342409.1", CallEventKind.RECORDING_READY, clock, detail=f"{PBX_MONITOR}/1795342409.1.wav"
    )
    await service.handle(ready)
    await service.handle(ready)
    await service.handle(call_event("1795342409.1", CallEventKind.HUNG_UP, clock))
    assert len(await _recordings(sessions)) == 1
    assert await _audit_actions(sessions) == ["recording.ingest"]


async def test_simulator_wav_is_ingested_at_hangup_when_no_ready_event_comes(
    service: RecordingService, sessions: async_sessionmaker[AsyncSession], clock: VirtualClock, pbx_dir: Path
) -> None:
    path = pbx_dir / "1795400000.7.wav"
    await service.handle(
        call_event(
            "1795400000.7", CallEventKind.RECORDING_STARTED, clock, detail=str(path), source="simulator"
        )
    )
    write_call_wav(path, 3.0)  # what cti/simulator writes when the call ends
    await service.handle(call_event("1795400000.7", CallEventKind.HUNG_UP, clock, source="simulator"))
    [rec] = await _recordings(sessions)
    assert rec.status == RecordingStatus.STORED and rec.source == "simulator"
    assert (
        rec.duration_s == pytest.approx(3.0) and rec.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    )


async def test_transfer_and_legs_are_kept_with_the_call(
    service: RecordingService, sessions: async_sessionmaker[AsyncSession], clock: VirtualClock
) -> None:
    await service.handle(
        call_event("c1", CallEventKind.OFFERED, clock, queue="support", source_refs=("1.1",))
    )
    await service.handle(call_event("c1", CallEventKind.ANSWERED, clock, agent="1001", source_refs=("L;1",)))
    await service.handle(call_event("c1", CallEventKind.TRANSFERRED, clock, agent="2002"))
    async with sessions() as session:
        call = await session.get(RecordedCall, "c1")
    assert call is not None and call.queue == "support" and call.legs == ["1.1", "L;1"]
    from recordings.repo import agents_of

    async with sessions() as session:
        assert await agents_of(session, "c1") == ["1001", "2002"]


async def test_a_file_outside_the_shared_folder_is_refused(
    service: RecordingService, sessions: async_sessionmaker[AsyncSession], clock: VirtualClock
) -> None:
    for location in ("/etc/passwd", f"{PBX_MONITOR}/../../../../etc/passwd"):
        await service.handle(call_event("evil", CallEventKind.RECORDING_READY, clock, detail=location))
    recs = await _recordings(sessions)
    assert {r.status for r in recs} == {RecordingStatus.FAILED}
    assert all("not inside a recordings folder" in (r.last_error or "") for r in recs)


async def test_an_unfinished_file_fails_and_the_retry_job_takes_it_in_later(
    service: RecordingService, sessions: async_sessionmaker[AsyncSession], clock: VirtualClock, pbx_dir: Path
) -> None:
    target = pbx_dir / "slow.wav"
    data = FIXTURE_WAV.read_bytes()
    target.write_bytes(data[: len(data) // 2])  # header says 223 kB, half is there
    await service.handle(
        call_event("slow", CallEventKind.RECORDING_READY, clock, detail=f"{PBX_MONITOR}/slow.wav")
    )
    [rec] = await _recordings(sessions)
    assert rec.status == RecordingStatus.FAILED and rec.attempts == 1 and rec.next_attempt_at is not None
    assert await service.retry_failed() == 0  # not due yet
    target.write_bytes(data)
    clock.now = rec.next_attempt_at
    assert await service.retry_failed() == 1
    [rec] = await _recordings(sessions)
    assert rec.status == RecordingStatus.STORED and rec.last_error is None


async def test_a_file_that_failed_while_its_call_lived_is_taken_in_when_the_call_hangs_up(
    service: RecordingService, sessions: async_sessionmaker[AsyncSession], clock: VirtualClock, pbx_dir: Path
) -> None:
    """A new leader's start-up scan can meet a file still being written (its call lives on):
    the row fails with a retry minutes out. The hang-up is when the file is whole; waiting for
    the retry job left the call without its recording that long (cluster test, kill -9)."""
    target = pbx_dir / "growing.wav"
    data = FIXTURE_WAV.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    await service.handle(
        call_event("growing", CallEventKind.RECORDING_READY, clock, detail=f"{PBX_MONITOR}/growing.wav")
    )
    [rec] = await _recordings(sessions)
    assert rec.status == RecordingStatus.FAILED and rec.next_attempt_at is not None
    target.write_bytes(data)
    await service.handle(call_event("growing", CallEventKind.HUNG_UP, clock))  # no time passed
    [rec] = await _recordings(sessions)
    assert rec.status == RecordingStatus.STORED and rec.last_error is None


async def test_pci_pause_is_marked_as_a_gap_and_a_resent_pause_changes_nothing(
    service: RecordingService, sessions: async_sessionmaker[AsyncSession], clock: VirtualClock
) -> None:
    location = f"{PBX_MONITOR}/1795342409.1.wav"
    await service.handle(call_event("p1", CallEventKind.RECORDING_STARTED, clock, detail=location))
    clock.advance(seconds=4)
    pause = call_event("p1", CallEventKind.RECORDING_PAUSED, clock)
    await service.handle(pause)
    clock.advance(seconds=5)
    await service.handle(pause)  # resent: must not open a second gap
    await service.handle(call_event("p1", CallEventKind.RECORDING_RESUMED, clock))
    clock.advance(seconds=5)
    await service.handle(call_event("p1", CallEventKind.RECORDING_READY, clock, detail=location))
    [rec] = await _recordings(sessions)
    assert [(g["from_s"], g["to_s"]) for g in rec.gaps] == [(4.0, 9.0)]


async def test_a_pause_left_open_runs_to_the_end_of_the_file(
    service: RecordingService, sessions: async_sessionmaker[AsyncSession], clock: VirtualClock
) -> None:
    location = f"{PBX_MONITOR}/1795342409.1.wav"
    await service.handle(call_event("p2", CallEventKind.RECORDING_STARTED, clock, detail=location))
    clock.advance(seconds=10)
    await service.handle(call_event("p2", CallEventKind.RECORDING_PAUSED, clock))
    clock.advance(seconds=4)
    await service.handle(call_event("p2", CallEventKind.RECORDING_READY, clock, detail=location))
    [rec] = await _recordings(sessions)
    assert [(g["from_s"], g["to_s"], g["resumed_at"]) for g in rec.gaps] == [(10.0, 13.96, None)]


async def test_linking_a_complaint_ticket_extends_retention(
    service: RecordingService, sessions: async_sessionmaker[AsyncSession], clock: VirtualClock
) -> None:
    started = clock()
    await record_call(service, clock)
    await service.link_ticket("1795342409.1", ticket_id=7, customer_id=3, category="complaint")
    [rec] = await _recordings(sessions)
    async with sessions() as session:
        call = await session.get(RecordedCall, "1795342409.1")
    assert call is not None and (call.ticket_id, call.customer_id) == (7, 3)
    assert rec.purge_after == started + timedelta(days=730)


# -- Twilio: a real HTTP server that needs the account's credentials ---------------------


class FakeTwilio(BaseHTTPRequestHandler):
    """Twilio's media endpoint: basic auth, 404 until the recording is processed."""

    not_ready_for = 2
    requests: list[str] = []  # noqa: RUF012 - reset per server
    auth = "Basic " + base64.b64encode(b"AC123:s3cret-token").decode()

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        if self.headers.get("Authorization") != self.auth:
            self.send_response(401)
            self.end_headers()
            return
        if type(self).not_ready_for > 0:
            type(self).not_ready_for -= 1
            self.send_response(404)
            self.end_headers()
            return
        body = FIXTURE_WAV.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "audio/x-wav")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def twilio_server() -> Iterator[str]:
    FakeTwilio.not_ready_for, FakeTwilio.requests = 2, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_twilio_recording_is_downloaded_with_retries_and_credentials(
    sessions: async_sessionmaker[AsyncSession],
    store: LocalStore,
    audit: AuditLog,
    clock: VirtualClock,
    policy: RetentionPolicy,
    twilio_server: str,
) -> None:
    sleeps: list[float] = []

    async def no_wait(seconds: float) -> None:
        sleeps.append(seconds)

    async with httpx.AsyncClient() as client:
        downloader = HttpRecordingDownloader(
            client, auth=("AC123", "s3cret-token"), url_suffix=".wav", attempts=5, sleep=no_wait
        )
        service = RecordingService(
            sessions=sessions,
            store=store,
            audit=audit,
            fetchers={"twilio": downloader},
            retention=policy,
            clock=clock,
        )
        url = f"{twilio_server}/2010-04-01/Accounts/AC123/Recordings/RE42"
        await service.handle(call_event("CA9", CallEventKind.ANSWERED, clock, agent="1001", source="twilio"))
        await service.handle(
            call_event(
                "CA9",
                CallEventKind.RECORDING_READY,
                clock,
                source="twilio",
                detail=url,
                source_refs=("RE42",),
                recording_started_at=datetime(2026, 11, 23, 7, 59, tzinfo=UTC),
            )
        )
    [rec] = await _recordings(sessions)
    assert rec.status == RecordingStatus.STORED and rec.size_bytes == 223404
    assert rec.started_at is not None and rec.started_at.isoformat() == "2026-11-23T07:59:00+00:00"
    assert FakeTwilio.requests == ["/2010-04-01/Accounts/AC123/Recordings/RE42.wav"] * 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0]


async def test_wrong_twilio_credentials_fail_at_once_without_leaking_the_token(
    store: LocalStore, twilio_server: str
) -> None:
    async with httpx.AsyncClient() as client:
        downloader = HttpRecordingDownloader(
            client, auth=("AC123", "wrong-token"), url_suffix=".wav", attempts=5
        )
        with store.stage() as sink, pytest.raises(SourceUnavailable, match="HTTP 401") as info:
            await downloader.fetch(f"{twilio_server}/Recordings/RE1", sink)
    assert "wrong-token" not in str(info.value)
    assert len(FakeTwilio.requests) == 1


def test_local_fetcher_accepts_the_pbx_path_and_the_local_path(tmp_path: Path) -> None:
    fetcher = LocalFileFetcher({"/var/spool/asterisk/monitor": tmp_path})
    assert fetcher.resolve("/var/spool/asterisk/monitor/a.wav") == tmp_path.resolve() / "a.wav"
    assert fetcher.resolve(str(tmp_path / "b.wav")) == tmp_path.resolve() / "b.wav"
    with pytest.raises(SourceUnavailable):
        fetcher.resolve("/var/spool/asterisk/monitor-other/a.wav")


async def test_a_pause_on_one_leg_marks_only_that_legs_file(
    service: RecordingService, sessions: async_sessionmaker[AsyncSession], clock: VirtualClock, pbx_dir: Path
) -> None:
    caller, agent = f"{PBX_MONITOR}/1795342409.1.wav", f"{PBX_MONITOR}/agent-leg.wav"
    write_call_wav(pbx_dir / "agent-leg.wav", 14.0)
    for location in (caller, agent):
        await service.handle(call_event("p3", CallEventKind.RECORDING_STARTED, clock, detail=location))
    clock.advance(seconds=2)
    await service.handle(call_event("p3", CallEventKind.RECORDING_PAUSED, clock, detail=caller))
    clock.advance(seconds=3)
    await service.handle(call_event("p3", CallEventKind.RECORDING_RESUMED, clock, detail=caller))
    clock.advance(seconds=9)
    await service.handle(call_event("p3", CallEventKind.HUNG_UP, clock))
    gaps = {r.source_ref: [(g["from_s"], g["to_s"]) for g in r.gaps] for r in await _recordings(sessions)}
    assert gaps == {caller: [(2.0, 5.0)], agent: []}


async def test_a_batch_of_many_calls_stores_each_recording_once_in_a_verifiable_chain(
    service: RecordingService,
    sessions: async_sessionmaker[AsyncSession],
    clock: VirtualClock,
    pbx_dir: Path,
    audit: AuditLog,
) -> None:
    """The bus's lane behind hands the events of many calls together: one transaction for their
    rows, the files side by side, one for the stored rows and their audit entries."""
    calls = [f"1795500000.{n}" for n in range(6)]
    for call_id in calls:
        write_call_wav(pbx_dir / f"{call_id}.wav", seconds=1.0)
    batch = []
    for kind in (CallEventKind.OFFERED, CallEventKind.RECORDING_STARTED, CallEventKind.ANSWERED):
        for call_id in calls:
            location = f"{PBX_MONITOR}/{call_id}.wav"
            detail = location if kind is CallEventKind.RECORDING_STARTED else None
            batch.append(call_event(call_id, kind, clock, queue="support", agent="1001", detail=detail))
    clock.advance(seconds=2)
    batch += [call_event(call_id, CallEventKind.HUNG_UP, clock) for call_id in calls]
    await service.handle_batch(batch)
    await service.handle_batch(batch)  # again, as after a failure: nothing twice
    recordings = await _recordings(sessions)
    assert sorted(r.call_id for r in recordings) == calls
    assert all(r.status == RecordingStatus.STORED and r.agent_id == "1001" for r in recordings)
    assert await _audit_actions(sessions) == ["recording.ingest"] * len(calls)
    async with sessions() as session:
        assert (await audit.verify(session)).ok
