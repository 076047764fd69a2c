"""The role x action matrix, enforced by the archive, with every attempt in the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import AuditLog
from audit.models import AuditEntry
from cti.simulator.wav import write_call_wav
from recordings.access import POLICY, Action, Principal, RecordingFacts, decide
from recordings.archive import RecordingArchive
from recordings.errors import AccessDenied, LegalHoldActive, RecordingNotFound
from recordings.models import Recording, RecordingStatus
from recordings.service import RecordingService
from tests.recordings.conftest import FIXTURE_WAV, PBX_MONITOR, VirtualClock, record_call

AGENT = Principal("1001", "agent", agent_id="1001")
OTHER_AGENT = Principal("1002", "agent", agent_id="1002")
SUPERVISOR = Principal("sue", "supervisor", queues=frozenset({"support"}))
OTHER_SUPERVISOR = Principal("sam", "supervisor", queues=frozenset({"billing"}))
AUDITOR = Principal("ann", "auditor")
ADMIN = Principal("root", "admin")

FACTS = RecordingFacts(agents=frozenset({"1001"}), queue="support")

# The expected matrix, written out independently of access.POLICY.
EXPECTED = {
    (AGENT, Action.PLAY): True,
    (AGENT, Action.DOWNLOAD): False,
    (AGENT, Action.HOLD): False,
    (AGENT, Action.DELETE): False,
    (OTHER_AGENT, Action.PLAY): False,
    (SUPERVISOR, Action.PLAY): True,
    (SUPERVISOR, Action.DOWNLOAD): True,
    (SUPERVISOR, Action.HOLD): False,
    (SUPERVISOR, Action.DELETE): False,
    (OTHER_SUPERVISOR, Action.PLAY): False,
    (OTHER_SUPERVISOR, Action.DOWNLOAD): False,
    (AUDITOR, Action.PLAY): True,
    (AUDITOR, Action.DOWNLOAD): True,
    (AUDITOR, Action.HOLD): False,
    (AUDITOR, Action.DELETE): False,
    (ADMIN, Action.PLAY): False,
    (ADMIN, Action.DOWNLOAD): False,
    (ADMIN, Action.HOLD): True,
    (ADMIN, Action.DELETE): True,
}


@pytest.mark.parametrize(("who", "action"), list(EXPECTED))
def test_policy_table_matches_the_documented_matrix(who: Principal, action: Action) -> None:
    assert decide(who, action, FACTS).allowed is EXPECTED[(who, action)]


def test_unknown_roles_and_agents_without_an_id_are_refused() -> None:
    assert not decide(Principal("x", "guest"), Action.PLAY, FACTS).allowed
    assert not decide(Principal("x", "agent"), Action.PLAY, FACTS).allowed
    assert set(POLICY) == {"agent", "supervisor", "auditor", "admin"}


async def _audit(sessions: async_sessionmaker[AsyncSession]) -> list[AuditEntry]:
    async with sessions() as session:
        return list((await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))).all())


async def _attempt(archive: RecordingArchive, who: Principal, action: Action, rec_id: int) -> bool:
    try:
        if action in (Action.PLAY, Action.DOWNLOAD):
            playback = await archive.open_audio(who, rec_id, action=action, source_ip="10.1.1.1")
            assert b"".join([c async for c in playback.chunks]) == FIXTURE_WAV.read_bytes()
        elif action is Action.HOLD:
            await archive.set_hold(who, rec_id, reason="litigation 2026-17", source_ip="10.1.1.1")
            await archive.release_hold(who, rec_id, reason="settled", source_ip="10.1.1.1")
        else:
            await archive.delete(who, rec_id, reason="customer erasure request", source_ip="10.1.1.1")
    except AccessDenied:
        return False
    return True


@pytest.mark.parametrize(("who", "action"), [k for k in EXPECTED if k[0] not in (OTHER_AGENT,)])
async def test_every_role_and_action_is_enforced_and_logged(
    who: Principal,
    action: Action,
    service: RecordingService,
    archive: RecordingArchive,
    sessions: async_sessionmaker[AsyncSession],
    clock: VirtualClock,
) -> None:
    await record_call(service, clock)
    allowed = await _attempt(archive, who, action, 1)
    assert allowed is EXPECTED[(who, action)]
    entries = (await _audit(sessions))[1:]  # [0] is the ingest
    expected_actions = {
        Action.PLAY: ["recording.play"],
        Action.DOWNLOAD: ["recording.download"],
        Action.HOLD: ["recording.hold_on", "recording.hold_off"],
        Action.DELETE: ["recording.delete"],
    }[action]
    if allowed:
        assert [e.action for e in entries] == expected_actions
        assert all(e.outcome == "ok" and e.actor == who.actor for e in entries)
    else:
        [entry] = entries
        assert (entry.action, entry.outcome, entry.actor) == ("recording.denied", "denied", who.actor)
        assert entry.detail["attempted"] == str(action) and entry.source_ip == "10.1.1.1"
    async with sessions() as session:
        assert (await AuditLog().verify(session)).ok


async def test_play_is_logged_before_the_first_byte_is_served(
    service: RecordingService,
    archive: RecordingArchive,
    sessions: async_sessionmaker[AsyncSession],
    clock: VirtualClock,
) -> None:
    await record_call(service, clock)
    playback = await archive.open_audio(AUDITOR, 1, range_header="bytes=0-99")
    # Nothing has been read from the stream yet, and the entry is already committed.
    entries = await _audit(sessions)
    assert entries[-1].action == "recording.play" and entries[-1].detail["bytes"] == 100
    assert b"".join([c async for c in playback.chunks]) == FIXTURE_WAV.read_bytes()[:100]


async def test_attempts_on_missing_or_deleted_recordings_are_logged(
    service: RecordingService,
    archive: RecordingArchive,
    sessions: async_sessionmaker[AsyncSession],
    clock: VirtualClock,
) -> None:
    await record_call(service, clock)
    await archive.delete(ADMIN, 1, reason="test")
    for rec_id in (1, 999):
        with pytest.raises(RecordingNotFound):
            await archive.open_audio(AUDITOR, rec_id)
    entries = await _audit(sessions)
    assert [(e.subject, e.outcome) for e in entries[-2:]] == [
        ("recording:1", "not_found"),
        ("recording:999", "not_found"),
    ]


async def test_a_held_recording_cannot_be_deleted_by_anyone(
    service: RecordingService,
    archive: RecordingArchive,
    sessions: async_sessionmaker[AsyncSession],
    clock: VirtualClock,
) -> None:
    await record_call(service, clock)
    held = await archive.set_hold(ADMIN, 1, reason="police request 42")
    assert (held.legal_hold, held.hold_by, held.hold_reason) == (True, "admin:root", "police request 42")
    with pytest.raises(LegalHoldActive):
        await archive.delete(ADMIN, 1, reason="oops")
    async with sessions() as session:
        rec = await session.get(Recording, 1)
    assert rec is not None and rec.status == RecordingStatus.STORED
    assert (await _audit(sessions))[-1].outcome == "refused"


async def test_lists_show_each_role_only_what_it_may_see(
    service: RecordingService, archive: RecordingArchive, clock: VirtualClock, pbx_dir: Path
) -> None:
    await record_call(service, clock)  # support, agent 1001
    write_call_wav(pbx_dir / "b-1.wav", 1.0)
    await record_call(
        service, clock, call_id="b-1", queue="billing", agent="1003", location=f"{PBX_MONITOR}/b-1.wav"
    )

    async def calls(who: Principal, before_id: int | None = None) -> list[str]:
        return [r.call_id for r in await archive.list_visible(who, before_id=before_id)]

    assert (await calls(AGENT), await calls(OTHER_AGENT)) == (["1795342409.1"], [])
    assert (await calls(SUPERVISOR), await calls(OTHER_SUPERVISOR)) == (["1795342409.1"], ["b-1"])
    assert await calls(AUDITOR) == await calls(ADMIN) == ["b-1", "1795342409.1"]
    newest = (await archive.list_visible(AUDITOR))[0].id
    assert await calls(AUDITOR, before_id=newest) == ["1795342409.1"]
    with pytest.raises(RecordingNotFound):
        await archive.get(OTHER_AGENT, 1)
    assert (await archive.get(AGENT, 1)).call_id == "1795342409.1"
