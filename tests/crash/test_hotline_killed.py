"""Hotline is `kill -9`ed for six seconds in a call storm; after the restart every call is whole.

The simulated PBX runs in its own process and goes on as a real Asterisk would:
callers keep arriving, app_queue keeps answering them (observe mode), calls end,
MixMonitor files and CDRs are written. When Hotline comes back, each call placed
must have exactly one closed call row, one ticket and one stored recording, and
`hotline audit verify` must pass, checkpoints included. Calls of every kind are
in the storm: ended before the kill, ended during the outage while Hotline had
them open, placed and ended during the outage (only the CDRs and the PBX folder
know them), live across the restart.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.checkpoint import CheckpointFile, CheckpointKey, CheckpointPublisher
from calls.models import CallRecord
from recordings.integrity import verify_integrity
from recordings.models import Recording, RecordingStatus
from recordings.storage import LocalStore
from tests.crash.processes import (
    CHECKPOINT_KEY,
    Process,
    ami,
    eventually,
    hotline_env,
    place_call,
    start_hotline,
    start_simulator,
)
from tickets.models import TicketCall

CALLCENTER = Path(__file__).with_name("callcenter.yaml")
CALLS = 120
RATE = 20  # calls per second
KILL_AFTER = 60  # calls placed before Hotline is killed (the first ones have ended by then)
OUTAGE_S = 6.0
SPEED = 10.0  # the PBX's dialplan times run ten times faster: talk-20 is 2 s


def _talk(n: int) -> int:
    """Callers' patience (the handset hangs up this long after the PBX answered), in dialplan seconds:
    20–80 for most, 200 for every tenth (they are still on the line when Hotline is back)."""
    return 200 if n % 10 == 9 else 20 + (n * 37) % 61


async def _whole(sessions: async_sessionmaker[AsyncSession], numbers: list[str]) -> dict[str, int]:
    """How many placed calls have a closed row, a ticket and a stored recording (and how many rows)."""
    async with sessions() as session:
        rows = (await session.exec(select(CallRecord).where(col(CallRecord.caller).in_(numbers)))).all()
        ids = [r.call_id for r in rows]
        tickets = set(
            (await session.exec(select(TicketCall.call_id).where(col(TicketCall.call_id).in_(ids)))).all()
        )
        stored = (
            await session.exec(
                select(Recording.call_id, func.count())
                .where(col(Recording.call_id).in_(ids), col(Recording.status) == RecordingStatus.STORED)
                .group_by(col(Recording.call_id))
            )
        ).all()
    once = {call_id for call_id, n in stored if n == 1}
    whole = {r.caller for r in rows if r.ended_at is not None and r.call_id in tickets and r.call_id in once}
    return {"rows": len(rows), "callers": len({r.caller for r in rows}), "whole": len(whole)}


async def test_every_call_of_a_storm_is_whole_after_hotline_is_killed_for_six_seconds(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    began = time.monotonic()
    numbers = [f"+86139{n:08d}" for n in range(CALLS)]
    pbx, port = await start_simulator(
        0,
        callcenter=CALLCENTER,
        recordings=tmp_path / "pbx-monitor",
        cdr=tmp_path / "cdr" / "Master.csv",
        speed=SPEED,
        agents=[f"{a}=ring:1,talk:15" for a in ("1001", "1002", "1003", "1004", "1005", "1006")],
    )
    env = hotline_env(database_url, port, tmp_path, CALLCENTER)
    processes: list[Process] = [pbx]
    try:
        first = await start_hotline(env)
        processes.append(first)
        first_ready = time.monotonic() - began
        placed = asyncio.Event()
        async with ami(port) as client:

            async def storm() -> None:
                for n, number in enumerate(numbers):
                    await place_call(client, number, _talk(n))
                    if n + 1 == KILL_AFTER:
                        placed.set()
                    await asyncio.sleep(1 / RATE)  # the callers' arrival rate, not a wait for anything

            storming = asyncio.create_task(storm())
            await placed.wait()
            first.kill()
            killed_at, killed_wall = time.monotonic(), time.time()
            await first.proc.wait()
            await asyncio.sleep(OUTAGE_S)  # the outage itself: calls go on at the PBX meanwhile
            await storming
        outage = time.monotonic() - killed_at
        restarting = time.monotonic()
        second = await start_hotline(env)
        processes.append(second)
        recovered_at = time.monotonic()

        async def all_whole() -> bool:
            return (await _whole(sessions, numbers))["whole"] == CALLS

        await eventually(all_whole, timeout=60)
        settled = time.monotonic()
        figures = await _whole(sessions, numbers)
        async with sessions() as session:
            phantoms = (
                await session.exec(
                    select(func.count()).select_from(CallRecord).where(col(CallRecord.caller).not_in(numbers))
                )
            ).one()
            ended = (await session.exec(select(CallRecord).where(col(CallRecord.caller).in_(numbers)))).all()
            outcomes = dict(
                (
                    await session.exec(select(CallRecord.outcome, func.count()).group_by(CallRecord.outcome))
                ).all()
            )
        cut = {"by the first Hotline": 0, "by reconciliation": 0, "live, after the restart": 0}
        for row in ended:
            if (row.hangup_cause or "").startswith("ended while Hotline was down"):
                cut["by reconciliation"] += 1
            elif row.ended_at is not None and row.ended_at.timestamp() < killed_wall:
                cut["by the first Hotline"] += 1
            else:
                cut["live, after the restart"] += 1
        from_cdr = cut["by reconciliation"]
        assert figures == {"rows": CALLS, "callers": CALLS, "whole": CALLS}
        assert phantoms == 0
        assert from_cdr > 0  # the outage did hide calls: reconciliation closed them
        checkpoints = CheckpointPublisher(
            sessions,
            CheckpointFile(Path(env["HOTLINE_AUDIT_CHECKPOINT_FILE"]), CheckpointKey(CHECKPOINT_KEY)),
        )
        report = await verify_integrity(
            sessions, LocalStore(Path(env["HOTLINE_RECORDINGS_DIR"])), checkpoints=checkpoints
        )
        assert report.ok, "\n".join(report.lines())  # what `hotline audit verify` checks
        assert report.checkpoints is not None and report.checkpoints.checkpoints >= 1  # at the restart
        recovery_line = next(line for line in second.lines if "recovery since" in line)
        print(
            f"\ncrash test: {CALLS} calls placed, Hotline killed after {KILL_AFTER} for {outage:.1f} s; "
            f"outcomes {outcomes}; calls closed {cut}; "
            f"first start {first_ready:.1f} s, restart {recovered_at - restarting:.1f} s, "
            f"whole {settled - recovered_at:.1f} s after the restart; "
            f"total {time.monotonic() - began:.1f} s\n"
            f"  {recovery_line.split(': ', 1)[-1]}",
            file=sys.stderr,
        )
    finally:
        for process in reversed(processes):
            await process.stop()
