"""The PBX is `kill -9`ed mid-call: its MixMonitor files keep zero sizes; Hotline repairs and stores them.

A killed Asterisk never closes its recordings, so their WAV headers still say
"no data" (format_wav fills the sizes in at close; the simulated PBX writes the
same way). Hotline, still running, sees the link drop, resyncs when the PBX is
back, closes the calls that are gone and takes their files in: each is repaired
from its length, stored, and its ingest entry keeps the hash of the bytes as the
PBX left them.
"""

from __future__ import annotations

import hashlib
import struct
import sys
import time
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.models import AuditEntry
from calls.models import CallRecord
from recordings.models import Recording, RecordingStatus
from tests.crash.processes import (
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
CALLS = 6
SPEED = 10.0
AUDIO = 2 * 8000 * 2  # two seconds of 8 kHz 16-bit audio


def _sizes(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:44]
    return struct.unpack("<I", head[4:8])[0], struct.unpack("<I", head[40:44])[0]


async def test_recordings_of_calls_cut_by_a_killed_pbx_are_repaired_and_stored(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    began = time.monotonic()
    monitor = tmp_path / "pbx-monitor"
    paths = {"callcenter": CALLCENTER, "recordings": monitor, "cdr": tmp_path / "cdr" / "Master.csv"}
    agents = [f"{a}=ring:1,talk:600" for a in ("1001", "1002", "1003", "1004", "1005", "1006")]
    pbx, port = await start_simulator(0, speed=SPEED, agents=agents, **paths)
    env = hotline_env(database_url, port, tmp_path, CALLCENTER, HOTLINE_RECORDINGS_SETTLE_S="0.3")
    processes: list[Process] = [pbx]
    numbers = [f"+86137{n:08d}" for n in range(CALLS)]
    try:
        hotline = await start_hotline(env)
        processes.append(hotline)
        async with ami(port) as client:
            for number in numbers:
                await place_call(client, number, talk=600)

        async def answered_and_recording() -> bool:
            async with sessions() as session:
                rows = (
                    await session.exec(select(CallRecord).where(col(CallRecord.caller).in_(numbers)))
                ).all()
            files = list(monitor.glob("*.wav"))
            return (
                len(rows) == CALLS
                and all(r.answered_at is not None for r in rows)
                and len(files) == CALLS
                and all(f.stat().st_size > 44 + AUDIO for f in files)
            )

        await eventually(answered_and_recording, timeout=60)
        pbx.kill()
        await pbx.proc.wait()
        killed = {f.name: f.read_bytes() for f in monitor.glob("*.wav")}
        assert {_sizes(f) for f in monitor.glob("*.wav")} == {(0, 0)}  # what a killed Asterisk leaves
        lines = len(hotline.lines)
        pbx, _ = await start_simulator(port, speed=SPEED, agents=agents, **paths)
        processes[0] = pbx
        await hotline.wait_for_line(r"AMI resync", after=lines, timeout=60)

        async def all_stored() -> bool:
            async with sessions() as session:
                query = select(Recording).where(col(Recording.status) == RecordingStatus.STORED)
                stored = len((await session.exec(query)).all())
                ended = select(CallRecord).where(col(CallRecord.ended_at).is_not(None))
                return stored == CALLS and len((await session.exec(ended)).all()) == CALLS

        await eventually(all_stored, timeout=60)
        async with sessions() as session:
            rows = (await session.exec(select(CallRecord).where(col(CallRecord.caller).in_(numbers)))).all()
            recordings = (await session.exec(select(Recording))).all()
            tickets = (await session.exec(select(TicketCall))).all()
            ingests = (
                await session.exec(select(AuditEntry).where(col(AuditEntry.action) == "recording.ingest"))
            ).all()
        assert all(r.ended_at is not None for r in rows) and len(rows) == CALLS
        assert {t.call_id for t in tickets} == {r.call_id for r in rows}
        assert {r.call_id for r in recordings} == {r.call_id for r in rows} and len(recordings) == CALLS
        originals = {hashlib.sha256(data).hexdigest(): data for data in killed.values()}
        for entry in ingests:
            repaired = entry.detail["repaired"]
            assert isinstance(repaired, dict) and repaired["reason"] == "zero_size"
            original = originals[str(repaired["original_sha256"])]  # the bytes exactly as the PBX left them
            assert repaired["data_bytes"] == (len(original) - 44) // 2 * 2
        seconds = sorted(r.duration_s or 0 for r in recordings)
        print(
            f"\nPBX killed mid-call: {CALLS} calls, {len(ingests)} recordings repaired and stored "
            f"({seconds[0]:.1f}-{seconds[-1]:.1f} s of audio each); total {time.monotonic() - began:.1f} s",
            file=sys.stderr,
        )
    finally:
        for process in reversed(processes):
            await process.stop()
