"""Cross-origin requests: a state-changing request or a websocket from another site's page is
refused; forms need their token; every page carries the security headers."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from agent_ui.app import create_app
from agent_ui.csrf import check_form_token
from agent_ui.middleware import CSP
from agent_ui.openapi import api_routes
from config.settings import load_settings
from tests.forms import form_token, post_form
from tests.harness import next_message, running_hotline

EVIL = "http://evil.example"


async def test_a_state_changing_request_from_another_origin_is_refused(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        sup = await hotline.sign_in("sup")
        own = hotline.base_url
        other_port = re.sub(r":\d+$", ":1", own)  # another origin on the same host
        attempts = [
            {"Origin": EVIL},
            {"Origin": other_port},
            {"Origin": "null"},
            {"Referer": f"{EVIL}/attack.html"},
            {"Sec-Fetch-Site": "cross-site", "Origin": EVIL},
            {"Sec-Fetch-Site": "same-site"},
        ]
        for headers in attempts:
            reply = await sup.post("/api/supervisor/agents/1001/logout", headers=headers)
            assert reply.status_code == 403, headers
            assert reply.json()["error_id"] == "cross_origin"
            form = await sup.post("/logout", headers=headers)
            assert form.status_code == 403, headers
        assert (await sup.get("/api/auth/me")).status_code == 200  # none of them signed her out
        same = await sup.post(
            "/api/supervisor/agents/1001/pause",
            json={},
            headers={"Origin": own, "Sec-Fetch-Site": "same-origin"},
        )
        assert same.status_code in (204, 409)  # reached the route (409: the agent's state refuses)
        from_referer = await sup.post(
            "/api/supervisor/agents/1001/ready", headers={"Referer": f"{own}/supervisor"}
        )
        assert from_referer.status_code in (204, 409)
        await sup.aclose()


async def test_a_form_post_needs_the_token_of_its_page(database_url: str, tmp_path: Path) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        async with httpx.AsyncClient(base_url=hotline.base_url) as browser:
            page = await browser.get("/login")
            token = form_token(page.text)
            missing = await browser.post("/login", data={"login": "1001", "password": "demo"})
            wrong = await browser.post(
                "/login", data={"login": "1001", "password": "demo", "csrf_token": "0" * 64}
            )
            assert missing.status_code == wrong.status_code == 403
            assert missing.json()["error_id"] == "csrf_failed"
            assert (await browser.get("/api/auth/me")).status_code == 401
            ok = await browser.post("/login", data={"login": "1001", "password": "demo", "csrf_token": token})
            assert ok.status_code == 303
        async with httpx.AsyncClient(base_url=hotline.base_url) as other_browser:
            # Someone else's token is no good without their cookie.
            stolen = await other_browser.post(
                "/login", data={"login": "1001", "password": "demo", "csrf_token": token}
            )
            assert stolen.status_code == 403
            assert (
                await post_form(other_browser, "/login", {"login": "1001", "password": "demo"})
            ).status_code == 303


def test_every_page_route_checks_the_form_token(tmp_path: Path) -> None:
    """The convention that keeps new pages safe: page routers carry the FormToken dependency."""
    app = create_app(
        load_settings(pbx="none", demo=True, database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    )
    unchecked, checked = [], []
    for route in api_routes(app):
        path = route.path_format
        if not route.methods & {"POST", "PUT", "PATCH", "DELETE"} or path.startswith(("/api/", "/twilio/")):
            continue
        calls = {d.call for d in route.dependant.dependencies}
        (checked if check_form_token in calls else unchecked).append(path)
    assert unchecked == []
    assert {"/login", "/logout", "/language", "/audit/verify"} <= set(checked)


async def test_a_websocket_from_another_origin_is_refused(database_url: str, tmp_path: Path) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        alice = await hotline.sign_in("1001")
        cookie = "; ".join(f"{k}={v}" for k, v in alice.cookies.items())
        for path in ("/ws/agent", "/ws/supervisor"):
            with pytest.raises(InvalidStatus) as refused:
                async with websockets.connect(
                    f"{hotline.ws_url}{path}", additional_headers={"Cookie": cookie, "Origin": EVIL}
                ):
                    pass
            assert refused.value.response.status_code == 403
        async with websockets.connect(
            f"{hotline.ws_url}/ws/agent", additional_headers={"Cookie": cookie, "Origin": hotline.base_url}
        ) as ws:
            assert (await next_message(ws, "hello"))["type"] == "hello"
        await alice.aclose()


async def test_pages_and_api_answers_carry_the_security_headers(database_url: str, tmp_path: Path) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        alice = await hotline.sign_in("1001")
        for reply in (await alice.get("/agent"), await alice.get("/login"), await alice.get("/api/auth/me")):
            headers = reply.headers
            assert headers["content-security-policy"] == CSP
            assert "unsafe-inline" not in CSP and "frame-ancestors 'none'" in CSP
            assert headers["x-frame-options"] == "DENY"
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "same-origin"
            assert "strict-transport-security" not in headers  # plain http: HSTS means nothing
        await alice.aclose()


async def test_hsts_is_sent_on_https(tmp_path: Path) -> None:
    settings = load_settings(pbx="none", demo=True, database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://hotline.example") as client:
        reply = await client.get("/static/hotline.css")
    assert reply.status_code == 200
    assert reply.headers["strict-transport-security"].startswith("max-age=31536000")
