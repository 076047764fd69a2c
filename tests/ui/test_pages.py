"""Pages in both languages, the language remembered per user, reports and their CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import httpx

from tests.forms import post_form
from tests.harness import PASSWORD, next_message, running_hotline


def lang_of(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match is not None
    return match.group(1)


async def test_the_chosen_language_is_remembered_for_the_user(database_url: str, tmp_path: Path) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        async with httpx.AsyncClient(
            base_url=hotline.base_url, headers={"Accept-Language": "en-US"}
        ) as browser:
            login = await browser.get("/login")
            assert lang_of(login.text) == "en" and "Sign in" in login.text
            switched = await post_form(browser, "/language", {"language": "zh-CN", "next": "/login"})
            assert switched.status_code == 303 and switched.headers["location"] == "/login"
            assert lang_of((await browser.get("/login")).text) == "zh-CN"

            await post_form(browser, "/login", {"login": "1002", "password": PASSWORD})
            console = await browser.get("/agent")
            assert lang_of(console.text) == "en"  # Bob's own language wins once signed in
            assert "Agent console" in console.text
            await post_form(browser, "/language", {"language": "zh-CN", "next": "/agent"})
            assert "坐席台" in (await browser.get("/agent")).text

        async with httpx.AsyncClient(base_url=hotline.base_url) as other_browser:
            await post_form(other_browser, "/login", {"login": "1002", "password": PASSWORD})
            assert lang_of((await other_browser.get("/agent")).text) == "zh-CN"
            me = await other_browser.get("/api/auth/me")
            assert me.json()["language"] == "zh-CN"
            bad = await post_form(other_browser, "/language", {"language": "xx", "next": "/agent"})
            assert bad.status_code == 422
            away = await post_form(other_browser, "/language", {"language": "en", "next": "//evil.example/"})
            assert away.headers["location"] == "/"


async def test_a_failed_sign_in_does_not_say_which_part_was_wrong(database_url: str, tmp_path: Path) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        async with httpx.AsyncClient(base_url=hotline.base_url, headers={"Accept-Language": "en"}) as browser:
            unknown = await post_form(browser, "/login", {"login": "nobody", "password": "x"})
            wrong = await post_form(browser, "/login", {"login": "1001", "password": "x"})
        assert unknown.status_code == wrong.status_code == 401
        assert "Wrong login or password" in unknown.text and "Wrong login or password" in wrong.text
        assert "nobody" in unknown.text  # the login stays filled in (escaped by the template)


async def test_reports_show_the_days_calls_with_definitions_and_export_csv(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        alice = await hotline.sign_in("1001")
        async with await hotline.agent_socket(alice) as ws:
            await next_message(ws, "hello")
            await hotline.place_call("+8613800138000", name="王小明", talk=20)
            # Bounds, not timing goals: on a loaded CI machine routing and the 2 s call may take longer.
            ended = await next_message(ws, "call", timeout=15)
            while ended["event"] != "hung_up":
                ended = await next_message(ws, "call", timeout=15)
        await hotline.container.bus.join()
        sup = await hotline.sign_in("sup")
        page = await sup.get("/reports")
        assert page.status_code == 200 and 'id="definitions"' in page.text
        assert "服务水平" in page.text and "技术支持" in page.text  # the supervisor reads Chinese
        queues = (await sup.get("/api/reports/queues")).json()
        assert [(q["queue"], q["offered"], q["answered"]) for q in queues] == [("support", 1, 1)]
        agents = (await sup.get("/api/reports/agents")).json()
        assert [(a["agent_id"], a["answered"]) for a in agents] == [("1001", 1)]
        exported = await sup.get("/api/reports/queues.csv")
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
        assert rows[0][:4] == ["from", "to", "queue_title", "queue"]
        assert rows[1][2:6] == ["技术支持", "support", "1", "1"]  # the reader's language
        assert rows[1][0].endswith("T00:00+08:00")  # today from local midnight, center time
        assert re.fullmatch(
            r'attachment; filename="hotline-queues_\d{8}T0000-\d{8}T\d{4}\.csv"',
            exported.headers["content-disposition"],
        )
        by_agent = list(
            csv.reader(io.StringIO((await sup.get("/api/reports/agents.csv")).text.lstrip("\ufeff")))
        )
        assert by_agent[0][:4] == ["from", "to", "agent_name", "agent_id"]
        assert by_agent[1][2:5] == ["李娜 Li Na", "1001", "1"]
        empty = await sup.get(
            "/api/reports/queues", params={"from": "2020-01-01T00:00", "to": "2020-01-02T00:00"}
        )
        assert empty.json() == []
        backwards = await sup.get(
            "/api/reports/agents", params={"from": "2020-01-02T00:00", "to": "2020-01-01"}
        )
        assert backwards.status_code == 422 and backwards.json()["details"][0]["field"] == "to"
        garbage = await sup.get("/reports", params={"from": "yesterday", "to": "now"})
        assert garbage.status_code == 200 and 'role="alert"' in garbage.text
        charts = await sup.get("/api/supervisor/charts/calls.svg")
        assert charts.headers["content-type"].startswith("image/svg+xml") and "<svg" in charts.text
        await alice.aclose()
        await sup.aclose()


async def test_the_built_in_default_category_is_shown_by_its_name_in_both_languages(
    database_url: str, tmp_path: Path
) -> None:
    """A ticket in the built-in default category keeps the code "general"; every page that shows a
    category name (ticket, list, categories, the console's pop) says 一般 / General instead."""
    async with running_hotline(database_url, tmp_path) as hotline:
        sup = await hotline.sign_in("sup")
        ticket = (await sup.post("/api/tickets", json={"subject": "打印机卡纸"})).json()
        assert ticket["category"] == "general"
        agent = await hotline.sign_in("1001")  # the pop is the agent console's ticket form
        shown: dict[str, dict[str, str]] = {}
        for language in ("zh-CN", "en"):
            for client in (sup, agent):
                switched = await post_form(client, "/language", {"language": language, "next": "/tickets"})
                assert switched.status_code == 303
            shown[language] = {
                "ticket": (await sup.get(f"/tickets/{ticket['id']}")).text,
                "list": (await sup.get("/tickets")).text,
                "categories": (await sup.get("/desk/categories")).text,
                "pop": (await agent.get("/agent")).text,
            }
        await sup.aclose()
        await agent.aclose()
    for language, name in (("zh-CN", "一般"), ("en", "General")):
        pages = shown[language]
        assert f'<dd id="category" data-category="general">{name}</dd>' in pages["ticket"]
        assert f'<td data-category="general">{name}</td>' in pages["list"]
        assert f'<code>general</code> <span class="cat-title">{name}</span>' in pages["categories"]
        assert f'<option value="general">{name}</option>' in pages["pop"]
        assert ">general<" not in pages["ticket"] + pages["list"] + pages["pop"]
