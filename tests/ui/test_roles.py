"""Who may open what: agents keep out of the wallboard, reports, other agents' calls and recordings."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from calls.models import CallRecord
from recordings.wiring import build_recordings
from tests.harness import next_message, running_hotline
from tests.recordings.conftest import FIXTURE_WAV, PBX_MONITOR, VirtualClock, record_call
from tests.ui.live import open_socket


async def test_an_agent_cannot_open_the_wallboard_the_reports_or_their_apis(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        agent = await hotline.sign_in("1001")
        for page in ("/supervisor", "/reports"):
            reply = await agent.get(page)
            assert reply.status_code == 403 and 'id="forbidden"' in reply.text
        for api in ("/api/supervisor/wallboard", "/api/reports/queues", "/api/supervisor/charts/calls.svg"):
            reply = await agent.get(api)
            assert reply.status_code == 403 and reply.json()["error_id"] == "forbidden"
        reply = await agent.post("/api/supervisor/agents/1002/pause", json={})
        assert reply.status_code == 403
        with pytest.raises((InvalidStatus, websockets.ConnectionClosed)) as refused:
            async with await open_socket(hotline, agent, "/ws/supervisor") as ws:
                await ws.recv()
        exc = refused.value
        if isinstance(exc, InvalidStatus):
            assert exc.response.status_code == 403
        else:
            assert exc.rcvd is not None and exc.rcvd.code == 4403
        anonymous = await agent.post("/logout")
        assert (await agent.get("/supervisor")).status_code == 303 or anonymous.status_code == 303
        await agent.aclose()


async def test_an_agent_cannot_touch_another_agents_call(database_url: str, tmp_path: Path) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        alice, alice_ws, _ = await hotline.console(stack, "1001")
        bob = await hotline.sign_in("1002")
        await hotline.place_call("+8613800138000", name="王小明", talk=30)
        pop = await next_message(alice_ws, "pop")
        call = pop["call_id"]
        for method, path, body in (
            ("GET", f"/api/console/calls/{call}/history", None),
            ("POST", f"/api/console/calls/{call}/wrapup", {"code": "resolved"}),
            ("POST", f"/api/console/calls/{call}/customer", {"customer_id": 1}),
            ("POST", f"/api/console/calls/{call}/ticket", None),
            ("POST", f"/api/console/calls/{call}/control/hangup", {}),
        ):
            reply = await bob.request(method, path, json=body)
            assert reply.status_code == 403, path
            assert reply.json()["error_id"] == "not_your_call"
        mine = await alice.get(f"/api/console/calls/{call}/history")
        assert mine.status_code == 200
        supervisor = await hotline.sign_in("sup")
        assert (await supervisor.get(f"/api/console/calls/{call}/history")).status_code == 403
        for client in (alice, bob, supervisor):
            await client.aclose()


async def test_an_agent_lists_and_plays_only_their_own_recordings(database_url: str, tmp_path: Path) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        monitor = tmp_path / "monitor"
        monitor.mkdir()
        shutil.copyfile(FIXTURE_WAV, monitor / "1795342409.1.wav")
        recordings = build_recordings(
            sessions=hotline.container.sessions, root=tmp_path / "store", pbx_folders={PBX_MONITOR: monitor}
        )
        hotline.container.recordings = recordings
        clock = VirtualClock()
        await record_call(recordings.service, clock, call_id="1795342409.1", agent="1001")
        async with hotline.container.sessions() as session:
            session.add(
                CallRecord(
                    call_id="1795342409.1",
                    queue="support",
                    agent_id="1001",
                    offered_at=clock(),
                    answered_at=clock(),
                    ended_at=clock(),
                    outcome="answered",
                )
            )
            await session.commit()
        alice = await hotline.sign_in("1001")
        bob = await hotline.sign_in("1002")
        [own] = (await alice.get("/api/console/calls")).json()
        assert own["recording_url"] is not None
        played = await alice.get(own["recording_url"], headers={"Range": "bytes=0-99"})
        assert played.status_code == 206
        assert (await bob.get("/api/console/calls")).json() == []
        refused = await bob.get(own["recording_url"])
        assert refused.status_code == 403 and refused.json()["error_id"] == "recording_access_denied"
        await alice.aclose()
        await bob.aclose()
