"""PCI pause: the agent pauses the recording while the caller reads out card details.

Console button → AMI MixMonitorMute on the caller's channel (simulated PBX over
TCP) → MixMonitorMute events → RECORDING_PAUSED/RESUMED → the gap is stored on
the recording; the call's audio is then played back with the gap in its metadata.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from recordings.models import RecordedCall
from tests.harness import Hotline, next_message, running_hotline


async def _pause_is_marked(hotline: Hotline, call_id: str) -> None:
    async with asyncio.timeout(5):
        while True:
            async with hotline.container.sessions() as session:
                call = await session.get(RecordedCall, call_id)
            if call is not None and any(p.get("resumed_at") is None for p in call.pauses):
                return
            await asyncio.sleep(0.02)


async def test_agent_pauses_and_resumes_the_recording_and_the_gap_is_marked(
    database_url: str, tmp_path: Path
) -> None:
    async with (
        running_hotline(database_url, tmp_path, speed=4.0) as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        agent, ws, _ = await hotline.console(stack, "1001")
        await hotline.place_call("+8613800138000", name="王小明", talk=24)  # 6 s at speed 4: time to pause
        pop = await next_message(ws, "pop")
        update = await next_message(ws, "call")
        while update["event"] != "answered":
            update = await next_message(ws, "call")
        call_id = pop["call_id"]

        paused = await agent.post(f"/api/console/calls/{call_id}/control/recording_pause", json={})
        assert paused.status_code == 204, paused.text
        await next_message(ws, "call")  # recording_paused reaches the console
        await _pause_is_marked(hotline, call_id)  # and recordings/ has the open pause: resume now
        resumed = await agent.post(f"/api/console/calls/{call_id}/control/recording_resume", json={})
        assert resumed.status_code == 204, resumed.text
        update = await next_message(ws, "call")
        while update["event"] != "hung_up":
            update = await next_message(ws, "call", timeout=10)
        await hotline.container.bus.join()

        mutes = [a for a in hotline.pbx.actions_received if a["Action"] == "MixMonitorMute"]
        assert [(a["State"], a["Direction"]) for a in mutes] == [("1", "both"), ("0", "both")]
        assert all(a["Channel"].startswith("Local/support@hotline-control-") for a in mutes)
        [recording] = (await agent.get("/api/recordings", params={"call_id": call_id})).json()
        assert recording["status"] == "stored"
        [gap] = recording["gaps"]
        assert gap["to_s"] > gap["from_s"] >= 0
        assert gap["paused_at"] < gap["resumed_at"]
        await agent.aclose()
