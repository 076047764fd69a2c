"""Posting the pages' HTML forms as a browser does: with the form token the page carries."""

from __future__ import annotations

import re

import httpx

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(html: str) -> str:
    match = TOKEN.search(html)
    assert match is not None, "the page has no form token"
    return match.group(1)


async def post_form(
    client: httpx.AsyncClient, action: str, data: dict[str, str] | None = None, *, page: str = "/login"
) -> httpx.Response:
    """GET `page` (which sets the CSRF cookie and holds the token), then post `data` to `action`."""
    token = form_token((await client.get(page)).text)
    return await client.post(action, data={**(data or {}), "csrf_token": token})
