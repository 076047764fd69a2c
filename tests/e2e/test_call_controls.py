"""Console and wallboard call controls reach the (simulated) PBX as the AMI actions Asterisk expects."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

from cti.ami.client import AmiClient
from tests.harness import AMI_SECRET, next_message, running_hotline


async def _answered_call(hotline, stack, login):  # type: ignore[no-untyped-def]
    """The agent's client once their call is answered, and the call's id."""
    client, ws, _ = await hotline.console(stack, login)
    await hotline.place_call("+8613800138000", name="王小明", talk=30)
    pop = await next_message(ws, "pop")
    update = await next_message(ws, "call")
    while update["event"] != "answered":
        update = await next_message(ws, "call")
    return client, str(pop["call_id"])


async def test_supervisor_listens_whispers_and_barges_through_chanspy_on_their_phone(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        supervisor = await hotline.sign_in("sup")  # before the call: the call is short, a sign-in is not
        agent, _ = await _answered_call(hotline, stack, "1001")
        for mode in ("listen", "whisper", "barge"):
            reply = await supervisor.post("/api/supervisor/agents/1001/supervise", json={"mode": mode})
            assert reply.status_code == 204, reply.text
        spies = [a for a in hotline.pbx.actions_received if a.get("Application") == "ChanSpy"]
        assert [a["Channel"] for a in spies] == ["Local/2001@level2"] * 3  # users[].phone of `sup`
        assert [a["Data"].split(",")[1] for a in spies] == ["qES", "qwES", "qBES"]
        assert all(a["Data"].startswith("Local/1001@agents-,") for a in spies)
        bad = await supervisor.post("/api/supervisor/agents/1001/supervise", json={"mode": "record"})
        assert bad.status_code == 422
        idle = await supervisor.post("/api/supervisor/agents/1002/supervise", json={"mode": "listen"})
        assert idle.status_code == 409  # not on a call
        refused = await agent.post("/api/supervisor/agents/1001/supervise", json={"mode": "listen"})
        assert refused.status_code == 403
        await agent.aclose()
        await supervisor.aclose()


async def test_agent_transfers_the_caller_blind_and_the_console_sees_the_transfer(
    database_url: str, tmp_path: Path
) -> None:
    """Observe mode on the simulator's dialplan (the recorded one): transfers go to [transfer-targets]."""
    async with (
        running_hotline(
            database_url, tmp_path, mode="observe", ami_transfer_context="transfer-targets"
        ) as hotline,
        contextlib.AsyncExitStack() as stack,
    ):
        agent, ws, _ = await hotline.console(stack, "1001")
        await hotline.place_call("+8613800138000", name="王小明", talk=30)
        pop = await next_message(ws, "pop")
        update = await next_message(ws, "call")
        while update["event"] != "answered":
            update = await next_message(ws, "call")
        call_id = pop["call_id"]
        invalid = await agent.post(
            f"/api/console/calls/{call_id}/control/transfer_blind", json={"target": "20;01"}
        )
        assert invalid.status_code == 422
        reply = await agent.post(
            f"/api/console/calls/{call_id}/control/transfer_blind", json={"target": "2003"}
        )
        assert reply.status_code == 204, reply.text
        update = await next_message(ws, "call")
        while update["event"] != "transferred":
            update = await next_message(ws, "call")
        redirects = [a for a in hotline.pbx.actions_received if a["Action"] == "Redirect"]
        assert [(a["Context"], a["Exten"], a["Priority"]) for a in redirects] == [
            ("transfer-targets", "2003", "1")
        ]
        assert redirects[0]["Channel"].startswith("Local/support@hotline-")  # the caller, as in 07c
        await agent.aclose()


async def test_the_supervisors_spy_ends_with_the_call_and_never_hears_the_agents_next_caller(
    database_url: str, tmp_path: Path
) -> None:
    """Asterisk 22.10.1's ChanSpy without `E`/`S` outlived the call and spied, unasked and unaudited,
    on the agent's next caller (tests/fixtures/live-22.10.1/control-spy-linger.ami); the simulator's
    ChanSpy now does as the real one, so only the options Hotline sends end the spy with the call."""
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        watcher = AmiClient("127.0.0.1", hotline.pbx.port, "hotline", AMI_SECRET)
        runner = asyncio.create_task(watcher.run())
        stack.callback(runner.cancel)
        await watcher.wait_connected(timeout=5)
        seen = stack.enter_context(watcher.subscribe())
        supervisor = await hotline.sign_in("sup")
        client, ws, _ = await hotline.console(stack, "1001")
        await hotline.place_call("+8613800138000", name="王小明", talk=20)
        first = await next_message(ws, "pop")
        while (await next_message(ws, "call"))["event"] != "answered":
            pass
        reply = await supervisor.post("/api/supervisor/agents/1001/supervise", json={"mode": "listen"})
        assert reply.status_code == 204, reply.text
        while (await next_message(ws, "call", timeout=10))["event"] != "hung_up":
            pass
        await ws.send(json.dumps({"type": "ready"}))
        await hotline.place_call("+8613900139000", name="Second Caller", talk=20)
        second = await next_message(ws, "pop", timeout=10)
        assert second["call_id"] != first["call_id"]
        while (await next_message(ws, "call"))["event"] != "answered":
            pass
        await asyncio.sleep(0.5)  # 5 s at speed 10: the lingering spy took the next call within 10 ms
        spied: list[str] = []
        while (message := seen.get_nowait()) is not None:
            if message.get("Event") == "ChanSpyStart":
                spied.append(message.get("SpyeeLinkedid", ""))
        assert spied == [first["call_id"]]
        assert not [c for c in hotline.pbx.core.channels if c.startswith("Local/2001@level2-")]
        await client.aclose()
        await supervisor.aclose()
