"""A form the server refuses (422) names the fields by their labels, in the reader's language."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.forms import post_form
from tests.harness import PASSWORD, running_hotline


async def test_a_refused_form_names_its_fields_as_the_page_labels_them(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        api = await hotline.sign_in("sup")
        ticket = (await api.post("/api/tickets", json={"subject": "门锁坏了"})).json()
        async with httpx.AsyncClient(base_url=hotline.base_url, timeout=10) as sup:
            await post_form(sup, "/login", {"login": "sup", "password": PASSWORD})
            page = f"/tickets/{ticket['id']}"
            note = await post_form(sup, f"{page}/note", {"note": "", "visibility": "internal"}, page=page)
            assert note.status_code == 422
            assert "请检查以下字段：备注" in note.text and "字段：text" not in note.text

            incident = await post_form(
                sup,
                "/incidents",
                {"category": "general", "description_zh": "", "description_en": "x" * 1001},
                page="/incidents",
            )
            assert incident.status_code == 422
            message = incident.text.split('role="alert"')[1].split("</p>")[0]
            assert "描述（中文）、描述（英文）" in message and "description_zh" not in message, message

            # A form the framework itself refuses (letters in a number field) answers a page too,
            # in the reader's language with the way back, not the API's JSON.
            customer = (await api.post("/api/customers", json={"name": "王小明"})).json()
            merge_page = f"/customers/{customer['id']}"
            letters = await post_form(
                sup,
                f"{merge_page}/merge",
                {"version": str(customer["version"]), "duplicate_id": "abc"},
                page=merge_page,
            )
            assert letters.status_code == 422 and letters.headers["content-type"].startswith("text/html")
            assert "请检查以下字段：重复客户编号" in letters.text and 'id="back"' in letters.text
            assert (await api.post("/api/customers", json={"name": ""})).json()["error_id"] == "invalid_input"

            # A knowledge-base article needs a title in one language at least ('#5' was saved).
            untitled = await post_form(
                sup, "/kb", {"title_zh": " ", "title_en": "", "body_zh": "x"}, page="/kb/new"
            )
            assert untitled.status_code == 422
            assert "请检查以下字段：标题（中文）、标题（英文）" in untitled.text

            # A mistyped link in a browser gets a page with the way home; the API keeps its JSON.
            html = {"Accept": "text/html,application/xhtml+xml"}
            missing = await sup.get("/tikets", headers=html)
            assert (
                missing.status_code == 404 and "没有这个页面" in missing.text and 'href="/"' in missing.text
            )
            assert (await sup.get("/api/tikets", headers=html)).json()["error_id"] == "not_found"
            assert (await sup.get("/tikets")).json()["error_id"] == "not_found"  # not asking for HTML

            # An empty ticket list says where tickets come from.
            nothing = (await sup.get("/tickets", params={"q": "没有这样的工单"})).text
            assert "来电时会自动新建工单，也可以在客户页面" in nothing

            await post_form(sup, "/language", {"language": "en", "next": "/"})
            english = await post_form(sup, f"{page}/note", {"note": "", "visibility": "internal"}, page=page)
            assert english.status_code == 422 and "Please check these fields: Note" in english.text
