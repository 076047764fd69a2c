"""Found on a real Asterisk 22.10.1: a recording whose MixMonitor began during an AMI outage is
taken in only by the scan of the PBX folder (recordings.recovery), and the call's row kept an empty
`recording` although the file was stored and verified. The scan links it as the live path does."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlmodel import select

from calls.models import CallRecord
from recordings.models import Recording, RecordingStatus
from tests.harness import running_hotline


async def test_a_recording_begun_during_an_outage_is_linked_to_its_call_by_the_folder_scan(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        running_hotline(database_url, tmp_path, mode="observe") as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        await hotline.console(stack, "1001")
        await hotline.console(stack, "1002")
        pbx_files = tmp_path / "pbx-recordings"
        async with hotline.pbx_unreachable():
            await hotline.act_unheard(
                "Originate",
                Channel="Local/support@hotline",
                Context="phones",
                Exten="talk-30",  # 3 s at speed 10: live at the resync, over soon after
                Priority="1",
                CallerID="+8613800138002",
                Async="true",
            )
            async with asyncio.timeout(10):  # MixMonitor began while Hotline could not hear it
                while not any(pbx_files.glob("*.wav")) if pbx_files.exists() else True:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)

        sessions = hotline.container.sessions
        async with asyncio.timeout(15):  # the call ends after the re-login
            while True:
                await hotline.container.bus.join()
                async with sessions() as session:
                    records = (await session.exec(select(CallRecord))).all()
                if records and all(r.ended_at is not None for r in records):
                    break
                await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # the file closed and settled
        await hotline.container.recordings.scan_recent()  # the 5-minute scan of the PBX folder

        async with sessions() as session:
            (record,) = (await session.exec(select(CallRecord))).all()
            (recording,) = (await session.exec(select(Recording))).all()
        assert recording.call_id == record.call_id
        assert recording.status == RecordingStatus.STORED
        assert record.recording == recording.source_ref
