"""Signed head checkpoints outside the database catch what the chain alone cannot: a cut-off tail.

Someone with write access to the database deletes the newest entries and moves
the head row back: the chain is consistent again and `AuditLog.verify` says OK.
The checkpoint file (which the database user cannot rewrite) still holds the
head that was published, so the cut is found; a forged or edited checkpoint
line fails its HMAC.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.checkpoint import CheckpointFile, CheckpointKey, CheckpointPublisher
from audit.log import AuditLog
from recordings.integrity import verify_integrity
from recordings.storage import LocalStore
from tests.recordings.test_audit import _append_many, _tamper

KEY = "checkpoint-key-for-tests-4f1c9a"
REPO = Path(__file__).parents[2]


def _publisher(sessions: async_sessionmaker[AsyncSession], path: Path, key: str = KEY) -> CheckpointPublisher:
    return CheckpointPublisher(sessions, CheckpointFile(path, CheckpointKey(key)))


async def _cut_tail(engine: AsyncEngine, keep: int) -> None:
    """Delete the newest entries and point the head back: a consistent, shorter chain."""
    await _tamper(engine, f"DELETE FROM audit_entry WHERE seq > {keep}")
    await _tamper(
        engine,
        f"UPDATE audit_head SET seq = {keep}, hash = (SELECT hash FROM audit_entry WHERE seq = {keep})",
    )


async def test_a_checkpoint_is_written_only_when_the_head_moved_and_verifies(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    publisher = _publisher(sessions, tmp_path / "cp.jsonl")
    assert await publisher.publish() is None  # empty log: nothing to anchor
    await _append_many(sessions, AuditLog(), 3)
    first = await publisher.publish()
    again = await _publisher(sessions, tmp_path / "cp.jsonl").publish()  # a restarted process
    await _append_many(sessions, AuditLog(), 2)
    second = await publisher.publish()
    assert first is not None and second is not None and again is None
    assert (first.seq, second.seq) == (3, 5)
    lines = [json.loads(line) for line in (tmp_path / "cp.jsonl").read_text().splitlines()]
    assert [line["seq"] for line in lines] == [3, 5] and all(len(line["sig"]) == 64 for line in lines)
    assert KEY not in (tmp_path / "cp.jsonl").read_text()
    assert os.stat(tmp_path / "cp.jsonl").st_mode & 0o077 == 0
    report = await publisher.verify()
    assert report.ok and report.checkpoints == 2 and report.newest == second


async def test_a_cut_off_tail_passes_the_chain_but_not_the_checkpoint(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, tmp_path: Path
) -> None:
    publisher = _publisher(sessions, tmp_path / "cp.jsonl")
    await _append_many(sessions, AuditLog(), 6)
    await publisher.publish()
    await _cut_tail(engine, keep=4)
    async with sessions() as session:
        assert (await AuditLog().verify(session)).ok  # the chain alone cannot tell
    report = await verify_integrity(sessions, LocalStore(tmp_path / "store"), checkpoints=publisher)
    assert not report.ok and report.chain.ok
    assert report.checkpoints is not None
    [problem] = report.checkpoints.problems
    assert (problem.line, problem.reason) == (1, "truncated")
    assert "BROKEN at line 1 (truncated)" in "\n".join(report.lines())


async def test_a_rewritten_tail_is_found_at_the_published_seq(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, tmp_path: Path
) -> None:
    publisher = _publisher(sessions, tmp_path / "cp.jsonl")
    await _append_many(sessions, AuditLog(), 5)
    await publisher.publish()
    await _cut_tail(engine, keep=3)
    async with sessions() as session:  # new entries 4, 5 and 6 in place of the removed ones
        for i in range(3):
            await AuditLog().append(
                session, actor="admin:x", action="recording.delete", subject=f"recording:{i}"
            )
        await session.commit()
        assert (await AuditLog().verify(session)).ok
    [problem] = (await publisher.verify()).problems
    assert problem.reason == "rewritten" and "entry 5" in problem.message


@pytest.mark.parametrize("forgery", ["edited-seq", "other-key", "garbage"])
async def test_an_edited_or_forged_checkpoint_line_is_refused(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, forgery: str
) -> None:
    path = tmp_path / "cp.jsonl"
    await _append_many(sessions, AuditLog(), 4)
    await _publisher(sessions, path).publish()
    line = json.loads(path.read_text())
    if forgery == "edited-seq":
        path.write_text(json.dumps({**line, "seq": 2}) + "\n")
    elif forgery == "other-key":
        path.unlink()
        await _publisher(sessions, path, key="somebody-elses-key-0000").publish()
    else:
        path.write_text(path.read_text() + "{not json\n")
    [problem] = (await _publisher(sessions, path).verify()).problems
    expected = {"edited-seq": "bad_signature", "other-key": "other_key", "garbage": "unreadable"}
    assert problem.reason == expected[forgery]


async def test_the_scheduler_publishes_at_start_and_as_the_head_moves(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = tmp_path / "cp.jsonl"
    await _append_many(sessions, AuditLog(), 2)
    scheduler = AsyncIOScheduler(timezone="UTC")
    runs = asyncio.Queue[object]()
    scheduler.add_listener(runs.put_nowait, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    _publisher(sessions, path).install(scheduler, every_s=0.2)
    scheduler.start()
    try:
        async with asyncio.timeout(10):
            await runs.get()  # the run at start-up
            assert [json.loads(x)["seq"] for x in path.read_text().splitlines()] == [2]
            await _append_many(sessions, AuditLog(), 1)
            while not runs.empty():  # runs that finished before the append
                runs.get_nowait()
            await runs.get()  # this one may have started before the append ended...
            await runs.get()  # ...this one did not
    finally:
        scheduler.shutdown(wait=False)
    assert [json.loads(x)["seq"] for x in path.read_text().splitlines()] == [2, 3]


async def _cli(database_url: str, tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_RECORDINGS_DIR": str(tmp_path / "recordings"),
        "HOTLINE_AUDIT_CHECKPOINT_KEY": KEY,
        "HOTLINE_AUDIT_CHECKPOINT_FILE": str(tmp_path / "published" / "cp.jsonl"),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent_ui.cli", "audit", *args,
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, output.decode()


async def test_hotline_audit_checkpoint_then_verify_names_the_cut(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    await _append_many(sessions, AuditLog(), 5)
    code, output = await _cli(database_url, tmp_path, "checkpoint")
    assert code == 0 and "checkpoint: seq 5 published" in output, output
    code, output = await _cli(database_url, tmp_path, "verify")
    assert code == 0 and "checkpoints: OK" in output, output
    await _cut_tail(engine, keep=2)
    code, output = await _cli(database_url, tmp_path, "verify")
    assert code == 1, output
    assert "audit log: OK" in output and "checkpoints: BROKEN at line 1 (truncated)" in output
    assert KEY not in output and "Traceback" not in output
