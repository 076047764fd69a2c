"""Field technicians: their own sign-in, their own work orders only, steps reported from the phone page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from agent_ui.i18n import translator
from tests.forms import form_token, post_form
from tests.harness import running_hotline


async def _dispatch_to(
    sup: httpx.AsyncClient,
    subject: str,
    technician_id: int,
    address: str = "天河路 1 号",
    caller: str | None = None,
) -> dict[str, Any]:
    """A ticket (from `caller`, if given), accepted and dispatched to the technician."""
    ticket = (await sup.post("/api/tickets", json={"subject": subject, "caller": caller})).json()
    ticket = (
        await sup.post(f"/api/tickets/{ticket['id']}/accept", json={"version": ticket["version"]})
    ).json()
    reply = await sup.post(
        f"/api/tickets/{ticket['id']}/work-orders",
        json={"version": ticket["version"], "technician_id": technician_id, "site_address": address},
    )
    assert reply.status_code == 201, reply.text
    order: dict[str, Any] = reply.json()
    return order


async def technicians(sup: httpx.AsyncClient) -> tuple[int, int]:
    dept = (await sup.post("/api/departments", json={"code": "repair", "name": "维修部"})).json()
    li = await sup.post(
        "/api/technicians",
        json={"name": "李师傅", "phone": "13800138001", "department_id": dept["id"], "login": "tech"},
    )
    zhang = await sup.post(
        "/api/technicians",
        json={"name": "张师傅", "phone": "13800138002", "department_id": dept["id"], "login": "tech2"},
    )
    return li.json()["id"], zhang.json()["id"]


async def test_a_technician_signs_in_to_their_own_work_orders_and_nothing_else(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        sup = await hotline.sign_in("sup")
        li, zhang = await technicians(sup)
        mine = await _dispatch_to(sup, "空调不制冷", li)
        theirs = await _dispatch_to(sup, "水管漏水", zhang)

        tech = httpx.AsyncClient(base_url=hotline.base_url, timeout=10)
        signed_in = await post_form(tech, "/login", {"login": "tech", "password": "demo"})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/field"
        page = await tech.get("/field")
        assert page.status_code == 200
        assert f'id="wo-{mine["id"]}"' in page.text and "空调不制冷" in page.text
        assert f'id="wo-{theirs["id"]}"' not in page.text and "水管漏水" not in page.text
        assert "天河路 1 号" in page.text

        # The directory and other people's orders are closed to a technician.
        for path in ("/api/customers?q=王", "/api/departments", "/api/customers/1"):
            assert (await tech.get(path)).status_code == 403, path
        assert (await tech.get(f"/api/tickets/{theirs['ticket_id']}")).status_code == 404
        assert (await tech.get(f"/api/work-orders/{theirs['id']}")).status_code == 404
        assert (await tech.get(f"/api/technicians/{zhang}/work-orders")).json() == []
        listed = (await tech.get("/api/tickets")).json()
        assert [t["id"] for t in listed["items"]] == [mine["ticket_id"]]
        stolen = await tech.post(
            f"/api/work-orders/{theirs['id']}/arrive", json={"version": theirs["version"]}
        )
        assert stolen.status_code == 404
        token = form_token(page.text)
        refused = await tech.post(
            f"/field/orders/{theirs['id']}/arrive", data={"version": "1", "csrf_token": token}
        )
        assert refused.status_code == 404
        assert (await sup.get(f"/api/work-orders/{theirs['id']}")).json()["state"] == "assigned"
        for page_path in ("/agent", "/supervisor", "/audit"):
            assert (await tech.get(page_path)).status_code == 403, page_path
        # ... and the technician's page is not an agent's or a supervisor's.
        assert (await sup.get("/field")).status_code == 403
        for client in (sup, tech):
            await client.aclose()


async def test_the_technician_walks_accept_on_the_way_arrived_done_and_the_ticket_resolves(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        sup = await hotline.sign_in("sup")
        li, _ = await technicians(sup)
        order = await _dispatch_to(sup, "电梯异响", li)
        # The ticket page says why it offers no "resolve" while the order is open, and what to do.
        ticket_page = (await sup.get(f"/tickets/{order['ticket_id']}")).text
        assert 'id="resolve-why"' in ticket_page and "还有 1 张派工单未完成" in ticket_page
        tech = await hotline.sign_in("tech")
        page = await tech.get("/field")
        token = form_token(page.text)
        version = order["version"]
        for step, state, buttons in (
            ("accept", "accepted", ["on_the_way", "complete"]),
            ("on_the_way", "on_the_way", ["arrive", "complete"]),
            ("arrive", "arrived", ["complete"]),
        ):
            assert f'id="wo-{order["id"]}-{step}"' in page.text
            reply = await tech.post(
                f"/field/orders/{order['id']}/{step}", data={"version": str(version), "csrf_token": token}
            )
            assert reply.status_code == 303, reply.text
            version += 1
            page = await tech.get("/field")
            assert f'data-state="{state}"' in page.text
            offered = sorted(
                b
                for b in ("accept", "on_the_way", "arrive", "complete")
                if f'id="wo-{order["id"]}-{b}"' in page.text
            )
            assert offered == sorted(buttons), step
        stale = await tech.post(
            f"/field/orders/{order['id']}/complete",
            data={"version": str(version - 1), "note": "x", "csrf_token": token},
        )
        assert stale.status_code == 409 and 'id="field-error"' in stale.text
        illegal = await tech.post(
            f"/field/orders/{order['id']}/accept", data={"version": str(version), "csrf_token": token}
        )
        assert illegal.status_code == 409
        done = await tech.post(
            f"/field/orders/{order['id']}/complete",
            data={"version": str(version), "note": "更换轴承", "csrf_token": token},
        )
        assert done.status_code == 303
        ticket = (await sup.get(f"/api/tickets/{order['ticket_id']}")).json()
        assert ticket["state"] == "resolved"
        fresh = (await sup.get(f"/api/work-orders/{order['id']}")).json()
        assert fresh["state"] == "completed" and fresh["result"] == "更换轴承"
        assert fresh["accepted_at"] and fresh["on_the_way_at"] and fresh["arrived_at"]
        steps = [
            (e["actor"], e["data"].get("action"))
            for e in (await sup.get(f"/api/tickets/{order['ticket_id']}/timeline")).json()
            if e["kind"] == "work_order"
        ]
        assert steps == [
            ("sup", "created"),
            ("tech", "accepted"),
            ("tech", "on_the_way"),
            ("tech", "arrived"),
            ("tech", "completed"),
        ]
        assert 'id="field-none"' in (await tech.get("/field")).text
        for client in (sup, tech):
            await client.aclose()


async def test_a_supervisor_reassigns_an_open_order_and_it_moves_to_the_other_technician(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        sup = await hotline.sign_in("sup")
        li, zhang = await technicians(sup)
        order = await _dispatch_to(sup, "门禁失灵", li)
        accepted = (await sup.post(f"/api/work-orders/{order['id']}/accept", json={"version": 1})).json()
        agent = await hotline.sign_in("1001")
        refused = await agent.put(
            f"/api/work-orders/{order['id']}/technician", json={"version": 2, "technician_id": zhang}
        )
        assert refused.status_code == 403
        stale = await sup.put(
            f"/api/work-orders/{order['id']}/technician", json={"version": 1, "technician_id": zhang}
        )
        assert stale.status_code == 409
        moved = await sup.put(
            f"/api/work-orders/{order['id']}/technician",
            json={"version": accepted["version"], "technician_id": zhang, "note": "李师傅请假"},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["technician_id"] == zhang and moved.json()["state"] == "assigned"
        li_client, zhang_client = await hotline.sign_in("tech"), await hotline.sign_in("tech2")
        assert f'id="wo-{order["id"]}"' not in (await li_client.get("/field")).text
        assert f'id="wo-{order["id"]}"' in (await zhang_client.get("/field")).text
        for client in (sup, agent, li_client, zhang_client):
            await client.aclose()


def _said(page: str, key: str) -> bool:
    """The page carries `key`'s message in one of the two languages (the user's own)."""
    return any(translator(lang)(key) in page for lang in ("en", "zh-CN"))


async def test_the_dispatch_board_says_why_a_reassignment_or_refusal_was_refused(
    database_url: str, tmp_path: Path
) -> None:
    """A stale version is a conflict (409), an order that does not exist a 404, a refusal of an
    order already done an illegal step (409): each with the board's own words, nothing changed."""
    async with running_hotline(database_url, tmp_path) as hotline:
        sup = await hotline.sign_in("sup")
        tech = await hotline.sign_in("tech")
        li, zhang = await technicians(sup)
        order = await _dispatch_to(sup, "门锁坏了", li)
        token = form_token((await sup.get("/dispatch")).text)

        stale = await sup.post(
            f"/dispatch/orders/{order['id']}/technician",
            data={"version": str(order["version"] + 5), "technician_id": str(zhang), "csrf_token": token},
        )
        assert stale.status_code == 409 and _said(stale.text, "dsp.conflict")
        missing = await sup.post(
            "/dispatch/orders/999999/technician",
            data={"version": "1", "technician_id": str(zhang), "csrf_token": token},
        )
        assert missing.status_code == 404 and _said(missing.text, "dsp.not_found")
        fresh = (await sup.get(f"/api/work-orders/{order['id']}")).json()
        assert fresh["technician_id"] == li and fresh["version"] == order["version"]

        version = fresh["version"]
        for step in ("accept", "on-the-way", "arrive", "complete"):
            done = await tech.post(f"/api/work-orders/{order['id']}/{step}", json={"version": version})
            assert done.status_code == 200, (step, done.text)
            version = done.json()["version"]
        late = await sup.post(
            f"/dispatch/orders/{order['id']}/refuse",
            data={"version": str(version), "reason": "not_ours", "note": "打错了", "csrf_token": token},
        )
        assert late.status_code == 409, late.text
        assert _said(late.text, "dsp.illegal") or _said(late.text, "fld.final")
