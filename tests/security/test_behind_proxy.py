"""Behind a TLS-terminating proxy that sends no X-Forwarded-Proto (deploy/README's first nginx
sample did not), the requests arrive as plain http. HOTLINE_PUBLIC_BASE_URL=https://… says how
browsers reach us: the session, form-token and language cookies are Secure and HSTS is sent."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.harness import running_hotline

PUBLIC = "https://hotline.example.com"


async def test_an_https_public_url_makes_the_cookies_secure_and_sends_hsts(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path, public_base_url=PUBLIC) as hotline:
        async with httpx.AsyncClient(base_url=hotline.base_url, timeout=10) as browser:
            login_page = await browser.get("/login")
            signed_in = await browser.post("/api/auth/login", json={"login": "1001", "password": "demo"})
        assert signed_in.status_code == 200
        for reply, cookie in ((login_page, "hotline_csrf="), (signed_in, "hotline_session=")):
            [set_cookie] = [c for c in reply.headers.get_list("set-cookie") if c.startswith(cookie)]
            assert "; Secure" in set_cookie and "HttpOnly" in set_cookie, set_cookie
            assert reply.headers["strict-transport-security"].startswith("max-age=")


async def test_without_a_public_url_plain_http_cookies_stay_usable(database_url: str, tmp_path: Path) -> None:
    """The demo on http://127.0.0.1: a Secure cookie would never come back over plain http."""
    async with running_hotline(database_url, tmp_path) as hotline:
        async with httpx.AsyncClient(base_url=hotline.base_url, timeout=10) as browser:
            signed_in = await browser.post("/api/auth/login", json={"login": "1001", "password": "demo"})
            assert (await browser.get("/api/auth/me")).status_code == 200
        assert "Secure" not in signed_in.headers["set-cookie"]
        assert "strict-transport-security" not in signed_in.headers
