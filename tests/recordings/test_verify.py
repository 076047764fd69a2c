"""`hotline audit verify` finds a flipped byte in a stored file and an edited audit row."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from recordings.access import Principal
from recordings.archive import RecordingArchive
from recordings.integrity import verify_integrity
from recordings.models import Recording
from recordings.service import RecordingService
from recordings.storage import LocalStore
from tests.recordings.conftest import VirtualClock, record_call
from tests.recordings.test_audit import _tamper

REPO = Path(__file__).parents[2]


def _flip_a_byte(path: Path, offset: int) -> None:
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


async def _hotline_audit_verify(database_url: str, recordings_dir: Path) -> tuple[int, str]:
    env = {**os.environ, "HOTLINE_DATABASE_URL": database_url, "HOTLINE_RECORDINGS_DIR": str(recordings_dir)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent_ui.cli", "audit", "verify",
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, output.decode()


async def _stored(sessions: async_sessionmaker[AsyncSession]) -> Recording:
    async with sessions() as session:
        recording = await session.get(Recording, 1)
    assert recording is not None and recording.storage_key is not None
    return recording


async def test_a_flipped_byte_in_a_stored_file_is_reported_with_its_recording(
    service: RecordingService,
    sessions: async_sessionmaker[AsyncSession],
    store: LocalStore,
    clock: VirtualClock,
) -> None:
    await record_call(service, clock)
    assert (await verify_integrity(sessions, store)).ok
    recording = await _stored(sessions)
    assert recording.storage_key is not None
    _flip_a_byte(store.path_of(recording.storage_key), 100_000)
    report = await verify_integrity(sessions, store)
    assert report.chain.ok and not report.files.ok
    [problem] = report.files.problems
    assert (problem.recording_id, problem.reason) == (recording.id, "hash_mismatch")


async def test_a_missing_file_is_reported(
    service: RecordingService,
    sessions: async_sessionmaker[AsyncSession],
    store: LocalStore,
    clock: VirtualClock,
) -> None:
    await record_call(service, clock)
    recording = await _stored(sessions)
    assert recording.storage_key is not None
    store.path_of(recording.storage_key).unlink()
    [problem] = (await verify_integrity(sessions, store)).files.problems
    assert problem.reason == "missing"


async def test_hotline_audit_verify_exits_0_when_intact_and_1_naming_each_break(
    service: RecordingService,
    archive: RecordingArchive,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    store: LocalStore,
    clock: VirtualClock,
    database_url: str,
) -> None:
    await record_call(service, clock)
    for _ in range(3):
        playback = await archive.open_audio(Principal("ann", "auditor"), 1)
        async for _chunk in playback.chunks:
            pass
    code, output = await _hotline_audit_verify(database_url, store.root)
    assert code == 0, output
    assert "audit log: 4 entries" in output and "audit log: OK" in output and "recording files: OK" in output

    recording = await _stored(sessions)
    assert recording.storage_key is not None
    _flip_a_byte(store.path_of(recording.storage_key), 5000)
    await _tamper(engine, "UPDATE audit_entry SET source_ip = '10.9.9.9' WHERE seq = 3")
    code, output = await _hotline_audit_verify(database_url, store.root)
    assert code == 1, output
    assert "audit log: BROKEN at seq 3 (hash)" in output
    assert f"BROKEN recording {recording.id} (blob {recording.storage_key}): hash mismatch" in output
    assert "Traceback" not in output
