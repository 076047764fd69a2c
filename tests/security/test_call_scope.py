"""The pop API answers only the call's agent and the supervisors of its queue; supervisors'
orders and listening are on the audit log."""

from __future__ import annotations

import contextlib
from pathlib import Path

from sqlmodel import col, select

from audit.models import AuditEntry
from tests.harness import next_message, running_hotline


async def test_only_the_calls_agent_and_its_queues_supervisor_may_use_its_pop(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        alice = await hotline.sign_in("1001")
        bob = await hotline.sign_in("1002")
        alice_ws = await stack.enter_async_context(await hotline.agent_socket(alice))
        await next_message(alice_ws, "hello")
        await hotline.place_call("+8613800138000", name="王小明", talk=30)
        pop = await next_message(alice_ws, "pop")
        call = pop["call_id"]
        await hotline.container.bus.join()  # the call row is written: supervisors are checked on it
        sup = await hotline.sign_in("sup")  # supervises every queue of the sample file
        auditor = await hotline.sign_in("audit")
        assert (await alice.get(f"/api/pop/{call}")).status_code == 200
        assert (await sup.get(f"/api/pop/{call}")).status_code == 200
        for method, path, body in (
            ("GET", f"/api/pop/{call}", None),
            ("PUT", f"/api/pop/{call}/ticket", {"ticket_id": None}),
            ("PUT", f"/api/pop/{call}/customer", {"customer_id": 1}),
            ("POST", f"/api/pop/{call}/customer", {"name": "Mallory"}),
        ):
            reply = await bob.request(method, path, json=body)
            assert reply.status_code == 403 and reply.json()["error_id"] == "not_your_call", (
                path,
                reply.text,
            )
        assert (await auditor.get(f"/api/pop/{call}")).status_code == 403
        unknown = await bob.get("/api/pop/1795342409.99")
        assert unknown.status_code == 403  # an id nobody has is answered like somebody else's
        context = await alice.get(f"/api/pop/{call}")
        assert context.json()["ticket_id"] == pop["ticket_id"]  # bob's attempts moved nothing
        for client in (alice, bob, sup, auditor):
            await client.aclose()


async def test_supervisor_orders_are_on_the_audit_log_with_who_and_outcome(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        alice = await hotline.sign_in("1001")
        async with await hotline.agent_socket(alice) as ws:
            await next_message(ws, "hello")
            sup = await hotline.sign_in("sup")
            assert (
                await sup.post("/api/supervisor/agents/1001/pause", json={"reason": "meeting"})
            ).status_code == 204
            again = await sup.post("/api/supervisor/agents/1001/pause", json={"reason": "meeting"})
            assert (await sup.post("/api/supervisor/agents/1001/ready")).status_code == 204
            listen = await sup.post("/api/supervisor/agents/1001/supervise", json={"mode": "listen"})
            assert listen.status_code == 409  # not on a call
        async with hotline.container.sessions() as session:
            rows = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))).all()
        trail = [
            (e.action, e.actor, e.subject, e.outcome) for e in rows if e.action.startswith("supervisor.")
        ]
        expected_again = "ok" if again.status_code == 204 else "refused"
        assert trail == [
            ("supervisor.pause", "sup", "agent:1001", "ok"),
            ("supervisor.pause", "sup", "agent:1001", expected_again),
            ("supervisor.ready", "sup", "agent:1001", "ok"),
            ("supervisor.listen", "sup", "agent:1001", "refused"),
        ]
        assert all(e.source_ip == "127.0.0.1" for e in rows if e.action.startswith("supervisor."))
        await alice.aclose()
        await sup.aclose()
