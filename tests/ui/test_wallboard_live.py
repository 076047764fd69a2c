"""The supervisor's live view: queues and agent states arrive within a second; orders reach agents."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import yaml

from config.settings import SAMPLE_CALLCENTER
from tests.harness import next_message, running_hotline
from tests.ui.live import agent_state, open_socket, view_until


async def test_supervisor_sees_agents_and_queues_change_within_a_second(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        sup = await hotline.sign_in("sup")
        board = await stack.enter_async_context(await open_socket(hotline, sup, "/ws/supervisor"))
        hello = await view_until(board, lambda v: v["type"] == "hello")
        assert [q["name"] for q in hello["queues"]] == ["support", "billing"]
        assert agent_state(hello, "1001") == "logged_out"

        alice, alice_ws, _ = await hotline.console(stack, "1001")
        await view_until(board, lambda v: agent_state(v, "1001") == "available")

        await hotline.place_call("+8613800138000", name="王小明", talk=600)  # the test hangs up itself
        await next_message(alice_ws, "pop")
        answered = await view_until(board, lambda v: agent_state(v, "1001") == "on_call", timeout=2)
        support = answered["queues"][0]
        assert support["agents_by_state"]["on_call"] == 1
        assert support["offered"] + support["waiting"] >= 0  # figures present

        # Force pause a talking agent: accepted and kept for after the call (as app_queue does),
        # shown on the wallboard; nothing changes until the call and its wrap-up end.
        deferred = await sup.post("/api/supervisor/agents/1001/pause", json={"reason": "supervisor"})
        assert deferred.status_code == 204
        pending = await view_until(
            board, lambda v: any(a["id"] == "1001" and a["pending_pause"] for a in v["agents"]), timeout=2
        )
        assert agent_state(pending, "1001") == "on_call"
        told = await next_message(alice_ws, "pending_pause")  # the agent's console says so too
        assert told["reason"] == "supervisor"
        talking = next(a for a in pending["agents"] if a["id"] == "1001")
        assert talking["caller"]["number"] == "+8613800138000" and talking["caller"]["queue"] == "support"
        hung = await alice.post(
            f"/api/console/calls/{answered['agents'][0]['call_id']}/control/hangup", json={}
        )
        assert hung.status_code == 204
        state = await next_message(alice_ws, "state")
        while state["state"] != "wrap_up":
            state = await next_message(alice_ws, "state")
        await alice_ws.send(json.dumps({"type": "ready"}))  # the agent's "Done" ends wrap-up: then the pause
        while state["state"] != "paused":
            state = await next_message(alice_ws, "state")
        assert state["reason"] == "supervisor"
        view = await view_until(board, lambda v: agent_state(v, "1001") == "paused")
        assert view["queues"][0]["offered"] == 1 and view["queues"][0]["answered"] == 1

        assert (await sup.post("/api/supervisor/agents/1001/logout")).status_code == 204
        await view_until(board, lambda v: agent_state(v, "1001") == "logged_out")
        spy = await sup.post("/api/supervisor/agents/1001/supervise", json={"mode": "listen"})
        assert spy.status_code == 409  # not on a call
        for client in (sup, alice):
            await client.aclose()


async def test_a_supervisor_sees_and_orders_only_the_queues_they_watch(
    database_url: str, tmp_path: Path
) -> None:
    center = yaml.safe_load(SAMPLE_CALLCENTER.read_text(encoding="utf-8"))
    center["users"].append(
        {"login": "bill", "name": "Billing lead", "role": "supervisor", "queues": ["billing"]}
    )
    path = tmp_path / "callcenter.yaml"
    path.write_text(yaml.safe_dump(center, allow_unicode=True), encoding="utf-8")
    async with running_hotline(database_url, tmp_path, callcenter_file=path) as hotline:
        bill = await hotline.sign_in("bill")
        async with await open_socket(hotline, bill, "/ws/supervisor") as board:
            hello = await view_until(board, lambda v: True)
        assert [q["name"] for q in hello["queues"]] == ["billing"]
        assert {a["id"] for a in hello["agents"]} == {"1001", "1003"}  # 1002 is in support only
        wallboard = (await bill.get("/api/supervisor/wallboard")).json()
        assert [q["name"] for q in wallboard["queues"]] == ["billing"]
        refused = await bill.post("/api/supervisor/agents/1002/pause", json={})
        assert refused.status_code == 403 and refused.json()["error_id"] == "not_your_agent"
        assert (await bill.post("/api/supervisor/agents/9999/pause", json={})).status_code == 404
        await bill.aclose()
