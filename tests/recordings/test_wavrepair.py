"""A MixMonitor WAV left by a killed PBX (sizes never written) is repaired and stored, not lost.

The fixture is the real file Asterisk 22 wrote for trace 01; a killed Asterisk
leaves the same bytes with the RIFF and data sizes still 0. Repairing it from
the length must give back exactly the file Asterisk would have closed.
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.models import AuditEntry
from recordings.integrity import verify_integrity
from recordings.models import Recording, RecordingStatus
from recordings.service import RecordingService
from recordings.storage import LocalStore
from recordings.wavrepair import diagnose
from routing.events import CallEventKind
from tests.recordings.conftest import FIXTURE_WAV, PBX_MONITOR, VirtualClock, call_event

WAV = FIXTURE_WAV.read_bytes()
DATA_SIZE_AT = 40  # the fixture's 44-byte header: "data" at 36, its size at 40


def _killed_pbx_copy(data: bytes = WAV, *, riff: int = 0, size: int = 0) -> bytes:
    """The file as a PBX killed mid-call leaves it: the header written at open, never updated."""
    out = bytearray(data)
    out[4:8] = struct.pack("<I", riff)
    out[DATA_SIZE_AT : DATA_SIZE_AT + 4] = struct.pack("<I", size)
    return bytes(out)


def _left_alone(path: Path, seconds: float = 60.0) -> None:
    """Nobody has written the file for a while (the writer is gone)."""
    past = time.time() - seconds
    os.utime(path, (past, past))


async def _ready(service: RecordingService, clock: VirtualClock, name: str) -> Recording:
    location = f"{PBX_MONITOR}/{name}"
    await service.handle(call_event(name, CallEventKind.RECORDING_STARTED, clock, detail=location))
    clock.advance(seconds=14)
    await service.handle(call_event(name, CallEventKind.HUNG_UP, clock))
    return await _row(service, name)


async def _row(service: RecordingService, call_id: str) -> Recording:
    async with service._sessions() as session:
        return (await session.exec(select(Recording).where(col(Recording.call_id) == call_id))).one()


async def _ingest_entry(sessions: async_sessionmaker[AsyncSession]) -> AuditEntry:
    async with sessions() as session:
        query = select(AuditEntry).where(col(AuditEntry.action) == "recording.ingest")
        return (await session.exec(query)).one()


async def test_a_killed_pbxs_wav_is_repaired_to_exactly_the_file_asterisk_would_have_closed(
    service: RecordingService,
    sessions: async_sessionmaker[AsyncSession],
    store: LocalStore,
    clock: VirtualClock,
    pbx_dir: Path,
) -> None:
    broken = _killed_pbx_copy()
    (pbx_dir / "killed.wav").write_bytes(broken)
    _left_alone(pbx_dir / "killed.wav")
    recording = await _ready(service, clock, "killed.wav")
    assert recording.status == RecordingStatus.STORED, recording.last_error
    assert recording.sha256 == hashlib.sha256(WAV).hexdigest()  # byte for byte the intact file
    assert recording.duration_s == pytest.approx(13.96) and recording.format == "wav/pcm_s16le/8000Hz/1ch"
    repaired = (await _ingest_entry(sessions)).detail["repaired"]
    assert repaired == {
        "reason": "zero_size",
        "original_sha256": hashlib.sha256(broken).hexdigest(),
        "original_size_bytes": len(broken),
        "declared_data_bytes": 0,
        "data_bytes": len(WAV) - 44,
    }
    assert (await verify_integrity(sessions, store)).ok


async def test_a_file_cut_mid_sample_keeps_every_whole_frame(
    service: RecordingService, clock: VirtualClock, pbx_dir: Path
) -> None:
    cut = _killed_pbx_copy(WAV[: 44 + 8000 * 2 * 5 + 1])  # 5 s and half a sample
    (pbx_dir / "cut.wav").write_bytes(cut)
    _left_alone(pbx_dir / "cut.wav")
    recording = await _ready(service, clock, "cut.wav")
    assert recording.status == RecordingStatus.STORED and recording.duration_s == 5.0
    assert recording.size_bytes == 44 + 8000 * 2 * 5


@pytest.mark.parametrize(
    ("riff", "size", "reason"),
    [(0xFFFFFFFF, 0xFFFFFFFF, "unterminated"), (len(WAV) - 8, len(WAV) - 44, "truncated")],
)
async def test_streamed_and_truncated_headers_are_repaired_too(
    service: RecordingService,
    sessions: async_sessionmaker[AsyncSession],
    clock: VirtualClock,
    pbx_dir: Path,
    riff: int,
    size: int,
    reason: str,
) -> None:
    data = _killed_pbx_copy(riff=riff, size=size)
    if reason == "truncated":
        data = data[: len(data) // 2]
    (pbx_dir / "odd.wav").write_bytes(data)
    _left_alone(pbx_dir / "odd.wav")
    recording = await _ready(service, clock, "odd.wav")
    assert recording.status == RecordingStatus.STORED, recording.last_error
    assert (await _ingest_entry(sessions)).detail["repaired"]["reason"] == reason  # type: ignore[index]


async def test_a_file_still_being_written_is_not_repaired_but_retried(
    service: RecordingService,
    sessions: async_sessionmaker[AsyncSession],
    clock: VirtualClock,
    pbx_dir: Path,
) -> None:
    (pbx_dir / "live.wav").write_bytes(_killed_pbx_copy())  # just written: the PBX may still be at it
    recording = await _ready(service, clock, "live.wav")
    assert recording.status == RecordingStatus.FAILED and recording.next_attempt_at is not None
    assert "not a PCM WAV" in (recording.last_error or "")
    _left_alone(pbx_dir / "live.wav")
    clock.now = recording.next_attempt_at
    assert await service.retry_failed() == 1
    assert (await _row(service, "live.wav")).status == RecordingStatus.STORED


async def test_what_a_header_fix_cannot_mend_is_left_failed(
    service: RecordingService, clock: VirtualClock, pbx_dir: Path
) -> None:
    (pbx_dir / "junk.wav").write_bytes(b"RIFF\0\0\0\0WAVEjunk" + bytes(1000))  # no fmt chunk
    (pbx_dir / "empty.wav").write_bytes(_killed_pbx_copy(WAV[:44]))  # header only, no audio
    for name in ("junk.wav", "empty.wav"):
        _left_alone(pbx_dir / name)
        assert diagnose(pbx_dir / name) is None
        assert (await _ready(service, clock, name)).status == RecordingStatus.FAILED


def test_an_intact_file_has_no_damage() -> None:
    assert diagnose(FIXTURE_WAV) is None
