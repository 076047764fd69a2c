"""A recording's row is checked against what the audit log archived, not only against its blob.

The attacks: swap the audio AND update the row's hash (the blob then matches the
row), give the recording to another agent (`agent_id`, the call's agents), remove
a row, slip in a row that was never ingested. Each is found by `audit verify`,
and the file is not served while blob, row and log disagree.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.models import AuditEntry
from cti.simulator.wav import write_call_wav
from recordings.access import Principal
from recordings.archive import RecordingArchive
from recordings.errors import RecordingTampered
from recordings.integrity import verify_integrity
from recordings.models import Recording
from recordings.service import RecordingService
from recordings.storage import LocalStore
from routing.events import CallEventKind
from tests.recordings.conftest import VirtualClock, call_event, record_call

AUDITOR = Principal("ann", "auditor")


async def _recording(sessions: async_sessionmaker[AsyncSession]) -> Recording:
    async with sessions() as session:
        recording = await session.get(Recording, 1)
    assert recording is not None and recording.storage_key is not None
    return recording


async def _sql(engine: AsyncEngine, *statements: str) -> None:
    """What a DBA (or an attacker with the database password) can do: plain SQL on the tables."""
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def _reasons(sessions: async_sessionmaker[AsyncSession], store: LocalStore) -> set[str]:
    report = await verify_integrity(sessions, store)
    assert report.chain.ok  # the chain itself was not touched: only the row/blob checks can see these
    return {p.reason for p in report.files.problems}


async def _play(archive: RecordingArchive, who: Principal = AUDITOR) -> bytes:
    playback = await archive.open_audio(who, 1)
    return b"".join([chunk async for chunk in playback.chunks])


async def _last_entry(sessions: async_sessionmaker[AsyncSession]) -> AuditEntry:
    async with sessions() as session:
        return (await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq).desc()))).first()  # type: ignore[return-value]


async def test_the_ingest_entry_holds_hash_size_key_owner_agents_and_queue(
    service: RecordingService, sessions: async_sessionmaker[AsyncSession], clock: VirtualClock
) -> None:
    await record_call(service, clock)
    recording = await _recording(sessions)
    entry = await _last_entry(sessions)
    assert entry.action == "recording.ingest"
    assert entry.detail["sha256"] == recording.sha256 and entry.detail["size_bytes"] == recording.size_bytes
    assert entry.detail["storage_key"] == recording.storage_key
    assert (entry.detail["agent_id"], entry.detail["agents"], entry.detail["queue"]) == (
        "1001",
        ["1001"],
        "support",
    )


async def test_swapped_audio_with_an_updated_row_is_found_and_not_served(
    service: RecordingService,
    archive: RecordingArchive,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    store: LocalStore,
    clock: VirtualClock,
    tmp_path: Path,
) -> None:
    await record_call(service, clock)
    original = await _play(archive)
    assert await _reasons(sessions, store) == set()
    fake = tmp_path / "fake.wav"
    write_call_wav(fake, 13.96, tone_hz=700.0)  # other audio, same length
    with store.stage() as sink:
        sink.write(fake.read_bytes())
        staged = sink.finish()
        key = await store.put(staged)
    await _sql(
        engine,
        f"UPDATE recording SET sha256 = '{staged.sha256}', storage_key = '{key}', "
        f"size_bytes = {staged.size} WHERE id = 1",
    )
    assert await store.rehash(key) == staged.sha256  # blob and row agree: the old check passed this
    assert {"row_hash_changed", "blob_key_changed"} <= await _reasons(sessions, store)
    with pytest.raises(RecordingTampered, match="integrity check"):
        await _play(archive)
    refused = await _last_entry(sessions)
    assert (refused.action, refused.outcome, refused.actor) == (
        "recording.tampered",
        "tampered",
        "auditor:ann",
    )
    assert any(p.startswith("row_hash_changed") for p in refused.detail["problems"])  # type: ignore[union-attr]
    assert original != fake.read_bytes()


async def test_a_reassigned_owner_is_found_and_the_new_owner_cannot_listen(
    service: RecordingService,
    archive: RecordingArchive,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    store: LocalStore,
    clock: VirtualClock,
) -> None:
    await record_call(service, clock)
    await _sql(
        engine,
        "UPDATE recording SET agent_id = '1002' WHERE id = 1",
        "UPDATE recorded_call_agent SET agent_id = '1002' WHERE agent_id = '1001'",
    )
    assert {"owner_changed", "agents_changed"} <= await _reasons(sessions, store)
    with pytest.raises(RecordingTampered):
        await _play(archive, Principal("1002", "agent", agent_id="1002"))
    assert (await _last_entry(sessions)).actor == "agent:1002"


async def test_an_agent_added_behind_the_logs_back_is_found(
    service: RecordingService,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    store: LocalStore,
    clock: VirtualClock,
) -> None:
    await record_call(service, clock)
    await _sql(engine, "INSERT INTO recorded_call_agent (call_id, agent_id) VALUES ('1795342409.1', '1003')")
    assert await _reasons(sessions, store) == {"agents_changed"}


async def test_a_transfer_after_archiving_is_audited_so_the_new_agent_is_legitimate(
    service: RecordingService,
    archive: RecordingArchive,
    sessions: async_sessionmaker[AsyncSession],
    store: LocalStore,
    clock: VirtualClock,
) -> None:
    await record_call(service, clock)
    transfer = call_event("1795342409.1", CallEventKind.TRANSFERRED, clock, agent="1003", detail="1003")
    await service.handle(transfer)
    await service.handle(transfer)  # resent: one entry
    async with sessions() as session:
        changes = (
            await session.exec(select(AuditEntry).where(AuditEntry.action == "recording.agents"))
        ).all()
    assert [c.detail["agents"] for c in changes] == [["1001", "1003"]]
    assert await _reasons(sessions, store) == set()
    assert await _play(archive, Principal("1003", "agent", agent_id="1003"))


async def test_a_removed_row_and_a_row_never_ingested_are_found(
    service: RecordingService,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    store: LocalStore,
    clock: VirtualClock,
) -> None:
    await record_call(service, clock)
    recording = await _recording(sessions)
    await _sql(
        engine,
        "INSERT INTO recording (id, call_id, source, source_ref, status, sha256, storage_key, size_bytes, "
        "gaps, attempts, legal_hold) SELECT 2, call_id, source, 'planted.wav', status, sha256, storage_key, "
        "size_bytes, gaps, 0, false FROM recording WHERE id = 1",
        "DELETE FROM recording WHERE id = 1",
    )
    report = await verify_integrity(sessions, store)
    found = {(p.recording_id, p.reason) for p in report.files.problems}
    assert found == {(2, "not_audited"), (1, "row_missing")}
    assert recording.id == 1
    lines = "\n".join(report.lines())
    assert "BROKEN recording 1: row missing" in lines and "recording 2 (blob" in lines


async def test_a_flipped_byte_is_not_served_either(
    service: RecordingService,
    archive: RecordingArchive,
    sessions: async_sessionmaker[AsyncSession],
    store: LocalStore,
    clock: VirtualClock,
) -> None:
    await record_call(service, clock)
    path = store.path_of((await _recording(sessions)).storage_key or "")
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[5000] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingTampered):
        await _play(archive)
    [problem] = (await _last_entry(sessions)).detail["problems"]  # type: ignore[misc]
    assert str(problem).startswith("hash_mismatch")
