"""Ticket scope (`service_desk.access`) and who may reassign, over HTTP.

Sample center: agent 1001 works support and billing, 1002 support only, 1003 billing only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.tickets.api_harness import Api, running_api
from tickets.access import DeskAccess, Viewer, check_reassign, may_see
from tickets.errors import Forbidden


def _set_access(api: Api, access: DeskAccess) -> None:
    ctx = api.container.desk.ctx
    ctx.config = ctx.config.model_copy(update={"access": access})


async def _ticket(api: Api, queue: str | None, owner: str | None) -> dict[str, Any]:
    sup = await api.client("sup")
    body: dict[str, Any] = {"subject": f"{queue}/{owner}", "queue": queue, "owner_agent_id": owner}
    reply = await sup.post("/api/tickets", json=body)
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def test_the_policy_table() -> None:
    bob = Viewer("1002", "agent", frozenset({"support"}))
    cases = {
        # (access, queue, owner): may bob see it?
        (DeskAccess.SHARED, "billing", "1001"): True,
        (DeskAccess.QUEUE, "billing", None): False,
        (DeskAccess.QUEUE, "support", "1001"): True,
        (DeskAccess.QUEUE, None, "1001"): True,
        (DeskAccess.QUEUE, "billing", "1002"): True,
        (DeskAccess.OWNER, "support", "1001"): False,
        (DeskAccess.OWNER, "support", None): True,
        (DeskAccess.OWNER, "billing", None): False,
        (DeskAccess.OWNER, "billing", "1002"): True,
    }
    for (access, queue, owner), expected in cases.items():
        assert may_see(access, bob, queue=queue, owner=owner) is expected, (access, queue, owner)
    for role in ("supervisor", "admin", "auditor"):
        assert may_see(DeskAccess.OWNER, Viewer("x", role), queue="billing", owner="1001")


def test_who_may_reassign() -> None:
    check_reassign("1002", "agent", None, "1002")  # take an unowned ticket
    check_reassign("1002", "agent", "1002", "1001")  # hand one's own on
    check_reassign("1002", "agent", "1002", None)  # release it
    check_reassign("sup", "supervisor", "1001", "1003")
    with pytest.raises(Forbidden):
        check_reassign("1002", "agent", "1001", "1002")  # take a colleague's
    with pytest.raises(Forbidden):
        check_reassign("1002", "agent", None, "1003")  # assign an unowned one to someone else


async def test_the_shared_desk_lets_every_agent_work_every_ticket_but_not_take_a_colleagues(
    database_url: str, tmp_path: Path
) -> None:
    async with running_api(database_url, tmp_path) as api:
        theirs = await _ticket(api, "billing", "1001")
        unowned = await _ticket(api, "billing", None)
        bob = await api.client("1002")
        assert (await bob.get(f"/api/tickets/{theirs['id']}")).status_code == 200
        assert (await bob.get("/api/tickets")).json()["total"] == 2
        take = await bob.patch(f"/api/tickets/{theirs['id']}", json={"version": 1, "owner_agent_id": "1002"})
        assert take.status_code == 403 and take.json()["error_id"] == "forbidden"
        mine = await bob.patch(f"/api/tickets/{unowned['id']}", json={"version": 1, "owner_agent_id": "1002"})
        assert mine.status_code == 200 and mine.json()["owner_agent_id"] == "1002"
        handed = await bob.patch(
            f"/api/tickets/{unowned['id']}", json={"version": 2, "owner_agent_id": "1003"}
        )
        assert handed.status_code == 200
        sup = await api.client("sup")
        moved = await sup.patch(f"/api/tickets/{theirs['id']}", json={"version": 1, "owner_agent_id": "1003"})
        assert moved.status_code == 200
        given = await bob.post("/api/tickets", json={"subject": "for Carol", "owner_agent_id": "1003"})
        assert given.status_code == 403


async def test_queue_scope_hides_other_queues_tickets_as_if_they_did_not_exist(
    database_url: str, tmp_path: Path
) -> None:
    async with running_api(database_url, tmp_path) as api:
        _set_access(api, DeskAccess.QUEUE)
        billing = await _ticket(api, "billing", None)
        support = await _ticket(api, "support", None)
        loose = await _ticket(api, None, None)
        bob, carol, sup = await api.client("1002"), await api.client("1003"), await api.client("sup")
        tid = billing["id"]
        for method, path, body in (
            ("GET", f"/api/tickets/{tid}", None),
            ("GET", f"/api/tickets/{tid}/timeline", None),
            ("PATCH", f"/api/tickets/{tid}", {"version": 1, "subject": "x"}),
            ("POST", f"/api/tickets/{tid}/notes", {"text": "x"}),
            ("POST", f"/api/tickets/{tid}/accept", {"version": 1}),
        ):
            hidden = await bob.request(method, path, json=body)
            assert hidden.status_code == 404, (path, hidden.text)
        missing = await bob.get("/api/tickets/999999")
        assert missing.status_code == 404 and missing.json()["error_id"] == hidden.json()["error_id"]
        seen = {t["id"] for t in (await bob.get("/api/tickets")).json()["items"]}
        assert seen == {support["id"], loose["id"]}
        assert (await carol.get(f"/api/tickets/{tid}")).status_code == 200
        assert (await sup.get("/api/tickets")).json()["total"] == 3


async def test_owner_scope_shows_an_agent_their_tickets_and_what_they_may_pick_up(
    database_url: str, tmp_path: Path
) -> None:
    async with running_api(database_url, tmp_path) as api:
        _set_access(api, DeskAccess.OWNER)
        alices = await _ticket(api, "support", "1001")
        open_support = await _ticket(api, "support", None)
        bob = await api.client("1002")
        assert (await bob.get(f"/api/tickets/{alices['id']}")).status_code == 404
        picked = await bob.post(f"/api/tickets/{open_support['id']}/accept", json={"version": 1})
        assert picked.status_code == 200 and picked.json()["owner_agent_id"] == "1002"
        seen = {t["id"] for t in (await bob.get("/api/tickets")).json()["items"]}
        assert seen == {open_support["id"]}
        sup = await api.client("sup")
        assert (await sup.post(f"/api/tickets/{alices['id']}/accept", json={"version": 1})).status_code == 200
        dispatched = await sup.post(
            f"/api/tickets/{alices['id']}/work-orders", json={"version": 2, "note": "go"}
        )
        assert dispatched.status_code == 201, dispatched.text
        order = dispatched.json()["id"]  # a work order of a hidden ticket is hidden too
        assert (await bob.get(f"/api/work-orders/{order}")).status_code == 404
        assert (await sup.get(f"/api/work-orders/{order}")).status_code == 200
