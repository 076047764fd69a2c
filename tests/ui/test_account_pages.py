"""The account pages as a newcomer meets them: one's own password reachable from every page,
an admin signing someone out everywhere, and refusals in the page's language naming the field."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlmodel import select

from audit.models import AuditEntry
from tests.forms import post_form
from tests.harness import PASSWORD, running_hotline


async def page_client(base_url: str, login: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base_url, timeout=10)
    signed = await post_form(client, "/login", {"login": login, "password": PASSWORD})
    assert signed.status_code == 303, signed.text
    return client


async def test_own_password_is_linked_and_an_admin_signs_someone_out_everywhere_in_chinese(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        admin = await page_client(hotline.base_url, "admin")
        bob = await hotline.sign_in("1002")  # Bob, signed in elsewhere
        agent = await page_client(hotline.base_url, "1001")
        try:
            # Changing one's own password is a link in the header of every page, not only a forced step.
            for client, page in ((agent, "/agent"), (agent, "/tickets"), (admin, "/supervisor")):
                html = (await client.get(page)).text
                assert 'href="/account/password"' in html, page
            assert "修改密码" in (await agent.get("/agent")).text

            users = await admin.get("/admin/users")
            assert users.status_code == 200
            assert "强制下线" in users.text and "在线会话" in users.text
            assert 'action="/admin/users/1002/sessions"' in users.text
            ended = await post_form(admin, "/admin/users/1002/sessions", page="/admin/users")
            assert ended.status_code == 200, ended.text
            assert "1002 已在所有设备上下线" in ended.text
            assert (await bob.get("/api/auth/me")).status_code == 401
            async with hotline.container.sessions() as session:
                entries = (
                    await session.exec(select(AuditEntry).where(AuditEntry.action == "auth.sessions_ended"))
                ).all()
            assert [(e.actor, e.subject) for e in entries] == [("admin", "user:1002")]

            # Refusals speak the page's language and name the field.
            taken = await post_form(
                admin, "/admin/users", {"login": "1001", "name": "x", "role": "agent"}, page="/admin/users"
            )
            assert taken.status_code == 409 and "登录名：账号 1001 已存在" in taken.text
            bad = await post_form(
                admin, "/admin/users", {"login": "a b", "name": "x", "role": "agent"}, page="/admin/users"
            )
            assert bad.status_code == 422 and "登录名：须为 1-40 个字母" in bad.text
            own = await post_form(admin, "/admin/users/admin", {"active": "0"}, page="/admin/users")
            assert own.status_code == 409 and "不能停用自己的账号" in own.text
            weak = await post_form(
                agent,
                "/account/password",
                {"current": PASSWORD, "new": "1001", "again": "1001"},
                page="/account/password",
            )
            assert weak.status_code == 422 and "密码不符合要求：至少 10 个字符" in weak.text
            assert "needs at least" not in weak.text
        finally:
            for client in (admin, agent):
                await client.aclose()
