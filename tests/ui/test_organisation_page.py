"""Departments and technicians are added from a page (supervisors, admins), and a technician added
there with a login gets the work orders dispatched to them on the field page."""

from __future__ import annotations

from pathlib import Path

from tests.forms import post_form
from tests.harness import running_hotline
from tests.ui.test_field import _dispatch_to


async def test_a_supervisor_adds_a_department_and_a_technician_who_then_gets_work(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        sup = await hotline.sign_in("sup")
        page = "/desk/categories"
        assert 'id="new-technician-form"' in (await sup.get(page)).text
        added = await post_form(sup, "/desk/departments", {"code": "lift", "name": "电梯组"}, page=page)
        assert added.status_code == 303 and added.headers["location"] == f"{page}?saved=department"
        again = await post_form(sup, "/desk/departments", {"code": "lift", "name": "电梯组"}, page=page)
        assert again.status_code == 409 and "代码：已有使用该代码的部门" in again.text
        nameless = await post_form(sup, "/desk/departments", {"code": "x", "name": ""}, page=page)
        assert nameless.status_code == 422 and "请检查以下字段：名称" in nameless.text

        (lift,) = [d for d in (await sup.get("/api/departments")).json() if d["code"] == "lift"]
        tech = await post_form(
            sup,
            "/desk/technicians",
            {
                "name": "<i>赵师傅</i>",
                "phone": "13800138009",
                "department_id": str(lift["id"]),
                "login": "tech",
            },
            page=page,
        )
        assert tech.status_code == 303
        shown = (await sup.get(f"{page}?saved=technician")).text
        assert (
            "维修人员已添加" in shown and "&lt;i&gt;赵师傅&lt;/i&gt;" in shown and "+8613800138009" in shown
        )
        bad_phone = await post_form(sup, "/desk/technicians", {"name": "钱师傅", "phone": "abc"}, page=page)
        assert bad_phone.status_code == 422

        (zhao,) = [x for x in (await sup.get("/api/technicians")).json() if x["name"] == "<i>赵师傅</i>"]
        await _dispatch_to(sup, "电梯停了", zhao["id"])
        field = await hotline.sign_in("tech")
        assert "电梯停了" in (await field.get("/field")).text
