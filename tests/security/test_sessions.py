"""Sessions are server-side: logout, a disabled account and a changed role hold from the next
request and close that user's websockets; a forged cookie grants nothing."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path

import httpx
import itsdangerous
import pytest
import websockets
from sqlmodel import col, select, update

from agent_ui.models import Role, User, WebSession
from agent_ui.sessions import SESSION_CACHE_S
from audit.models import AuditEntry
from tests.forms import post_form
from tests.harness import Hotline, next_message, running_hotline
from tests.ui.live import open_socket


async def closed_with(socket: websockets.ClientConnection, timeout: float = 5.0) -> int | None:  # noqa: ASYNC109
    """The close code the server sent, waiting at most `timeout` seconds."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(timeout):
            while True:
                await socket.recv()
    return closed.value.rcvd.code if closed.value.rcvd else None


async def actions(hotline: Hotline) -> list[tuple[str, str, str]]:
    async with hotline.container.sessions() as session:
        rows = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))).all()
    return [(e.action, e.actor, e.outcome) for e in rows]


async def test_logout_ends_the_session_on_the_next_request_and_closes_its_sockets(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        alice = await hotline.sign_in("1001")
        stolen = dict(alice.cookies)  # a copy of the cookie, as someone who saw it would keep
        async with await hotline.agent_socket(alice) as ws:
            await next_message(ws, "hello")
            assert (await alice.post("/api/auth/logout")).status_code == 204
            assert await closed_with(ws) == 4401
        async with httpx.AsyncClient(base_url=hotline.base_url, cookies=stolen) as replay:
            assert (await replay.get("/api/auth/me")).status_code == 401
            assert (await replay.get("/agent", follow_redirects=False)).headers["location"] == "/login"
        assert [a for a in await actions(hotline) if a[0].startswith("auth.")] == [
            ("auth.sign_in", "1001", "ok"),
            ("auth.sign_out", "1001", "ok"),
        ]
        await alice.aclose()


async def test_the_sign_out_form_ends_the_session_too(database_url: str, tmp_path: Path) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        async with httpx.AsyncClient(base_url=hotline.base_url) as browser:
            signed_in = await post_form(browser, "/login", {"login": "1001", "password": "demo"})
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/agent"
            stolen = dict(browser.cookies)
            out = await post_form(browser, "/logout", page="/agent")
            assert out.status_code == 303 and out.headers["location"] == "/login"
        async with httpx.AsyncClient(base_url=hotline.base_url, cookies=stolen) as replay:
            assert (await replay.get("/api/auth/me")).status_code == 401


@pytest.mark.parametrize("change", [{"active": False}, {"role": "supervisor"}])
async def test_an_admin_disabling_or_changing_a_role_ends_that_users_sessions_and_sockets(
    database_url: str, tmp_path: Path, change: dict[str, object]
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        alice = await hotline.sign_in("1001")
        other_tab = await hotline.sign_in("1001")
        admin = await hotline.sign_in("admin")
        async with await hotline.agent_socket(alice) as ws, await hotline.agent_socket(other_tab) as ws2:
            await next_message(ws, "hello")
            await next_message(ws2, "hello")
            reply = await admin.patch("/api/admin/users/1001", json=change)
            assert reply.status_code == 200, reply.text
            assert await closed_with(ws) == 4401 and await closed_with(ws2) == 4401
        for client in (alice, other_tab):
            assert (await client.get("/api/auth/me")).status_code == 401
        entry = [a for a in await actions(hotline) if a[0] == "admin.user_update"]
        assert entry == [("admin.user_update", "admin", "ok")]
        if change.get("active") is False:
            async with httpx.AsyncClient(base_url=hotline.base_url) as again:
                reply = await again.post("/api/auth/login", json={"login": "1001", "password": "demo"})
            assert reply.status_code == 401 and reply.json()["error_id"] == "login_failed"
        own = await admin.patch("/api/admin/users/admin", json={"active": False})
        assert own.status_code == 409 and own.json()["error_id"] == "own_account"
        for client in (alice, other_tab, admin):
            await client.aclose()


async def test_a_role_changed_in_the_database_holds_within_the_session_cache_time_and_closes_the_socket(
    database_url: str, tmp_path: Path
) -> None:
    """Another process (the CLI, a second worker) changes the row: no in-process signal, so
    the session this process keeps holds at most SESSION_CACHE_S (agent_ui.sessions)."""
    async with running_hotline(database_url, tmp_path) as hotline:
        hotline.container.auth.recheck_s = 0.2
        sup = await hotline.sign_in("sup")
        async with await open_socket(hotline, sup, "/ws/supervisor") as ws:
            await next_message(ws, "hello")
            assert (await sup.get("/api/supervisor/wallboard")).status_code == 200
            async with hotline.container.sessions() as session:
                await session.exec(update(User).where(col(User.login) == "sup").values(role=Role.AUDITOR))
                await session.commit()
            changed = time.monotonic()
            while (denied := await sup.get("/api/supervisor/wallboard")).status_code == 200:
                assert time.monotonic() - changed < SESSION_CACHE_S + 0.5, "the old role still holds"
                await asyncio.sleep(0.05)
            assert denied.status_code == 403  # the role of the row, not of the sign-in
            assert await closed_with(ws) == 4401
        await sup.aclose()


async def test_a_role_changed_by_another_process_holds_on_the_next_request_without_the_cache(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        hotline.container.auth.store.cache_s = 0.0  # every request looks its session up
        sup = await hotline.sign_in("sup")
        assert (await sup.get("/api/supervisor/wallboard")).status_code == 200
        async with hotline.container.sessions() as session:
            await session.exec(update(User).where(col(User.login) == "sup").values(role=Role.AUDITOR))
            await session.commit()
        assert (await sup.get("/api/supervisor/wallboard")).status_code == 403
        await sup.aclose()


def _signed_cookie(secret: str, payload: dict[str, object]) -> str:
    """What Starlette's SessionMiddleware (the old scheme) would have accepted."""
    data = base64.b64encode(json.dumps(payload).encode())
    return itsdangerous.TimestampSigner(secret).sign(data).decode()


async def test_a_forged_or_unknown_cookie_grants_nothing(database_url: str, tmp_path: Path) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        forged = _signed_cookie(
            "change-me",
            {"user": {"id": 999, "login": "ghost", "name": "G", "role": "admin", "language": "en"}},
        )
        for value in (forged, "A" * 43, "", "x" * 5000):
            async with httpx.AsyncClient(
                base_url=hotline.base_url, cookies={"hotline_session": value}
            ) as client:
                assert (await client.get("/api/auth/me")).status_code == 401
                assert (await client.get("/api/audit/entries")).status_code == 401
                page = await client.get("/supervisor", follow_redirects=False)
                assert page.status_code == 303 and page.headers["location"] == "/login"
        async with hotline.container.sessions() as session:
            rows = (await session.exec(select(WebSession))).all()
        assert rows == []  # nothing was signed in, nothing was stored


async def test_the_cookie_holds_a_random_token_and_the_database_only_its_hash(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        alice = await hotline.sign_in("1001")
        token = alice.cookies["hotline_session"]
        async with hotline.container.sessions() as session:
            [row] = (await session.exec(select(WebSession))).all()
        assert len(token) >= 40 and token not in row.id and row.id != token
        assert "1001" not in token
        await alice.aclose()


async def test_a_password_changed_on_the_password_page_lets_the_user_in_on_the_next_request(
    database_url: str, tmp_path: Path
) -> None:
    """The kept session (must change its password) is forgotten when the change commits."""
    async with running_hotline(database_url, tmp_path) as hotline:
        admin = await hotline.sign_in("admin")
        issued = await admin.post("/api/admin/users/1001/password")
        assert issued.status_code == 200
        alice = await hotline.sign_in("1001", issued.json()["password"])
        assert (await alice.get("/api/auth/me")).status_code == 401  # must pick their own first
        fresh = "Kx7-violet-harbour-92"
        changed = await post_form(
            alice,
            "/account/password",
            {"current": issued.json()["password"], "new": fresh, "again": fresh},
            page="/account/password",
        )
        assert changed.status_code == 303, changed.text
        assert (await alice.get("/api/auth/me")).status_code == 200
        await admin.aclose()
        await alice.aclose()


async def test_changing_ones_own_password_ends_the_accounts_other_sessions_and_sockets(
    database_url: str, tmp_path: Path
) -> None:
    """Someone who learnt the password (or holds a copied cookie) is out once the owner changes
    it; the session that changed it stays signed in."""
    async with running_hotline(database_url, tmp_path) as hotline:
        alice = await hotline.sign_in("1001")
        thief = await hotline.sign_in("1001")
        async with await hotline.agent_socket(thief) as ws:
            await next_message(ws, "hello")
            fresh = "Kx7-violet-harbour-92"
            changed = await post_form(
                alice,
                "/account/password",
                {"current": "demo", "new": fresh, "again": fresh},
                page="/account/password",
            )
            assert changed.status_code == 303, changed.text
            assert await closed_with(ws) == 4401
        assert (await thief.get("/api/auth/me")).status_code == 401
        assert (await alice.get("/api/auth/me")).status_code == 200
        async with hotline.container.sessions() as session:
            entry = (
                await session.exec(
                    select(AuditEntry).where(col(AuditEntry.action) == "auth.password_changed")
                )
            ).one()
        assert entry.detail["sessions_ended"] == 1
        await alice.aclose()
        await thief.aclose()


async def test_guessing_the_current_password_on_the_password_page_is_throttled_and_audited(
    database_url: str, tmp_path: Path
) -> None:
    """Whoever holds a session (a copied cookie, an unlocked desk) may not try passwords there
    without end: the guesses count against the login as sign-ins do, and each is on the log."""
    async with running_hotline(database_url, tmp_path) as hotline:
        alice = await hotline.sign_in("1001")
        fresh = "Kx7-violet-harbour-92"
        for i in range(5):
            guess = {"current": f"guess-{i}-wrong", "new": fresh, "again": fresh}
            wrong = await post_form(alice, "/account/password", guess, page="/account/password")
            assert wrong.status_code == 422
        right = {"current": "demo", "new": fresh, "again": fresh}
        locked = await post_form(alice, "/account/password", right, page="/account/password")
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        async with httpx.AsyncClient(base_url=hotline.base_url) as other:
            again = await other.post("/api/auth/login", json={"login": "1001", "password": "demo"})
            assert again.status_code == 429  # the same count as sign-ins
        failed = [a for a in await actions(hotline) if a[0] == "auth.password_change_failed"]
        assert failed == [("auth.password_change_failed", "1001", "failed")] * 5
        await alice.aclose()
