"""The "back" link of the page a refused form gets (agent_ui.pages.common.form_refused) is taken
from the Referer: it must be a path on this site by the same rule as `next=` (safe_next), or a
page reached as `//evil.example/…` on this host would hand the user a link to another site."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.forms import form_token
from tests.harness import running_hotline


def back_link(html: str) -> str:
    match = re.search(r'<a href="([^"]*)" id="back">', html)
    assert match is not None, "the refused page has no back link"
    return match.group(1)


@pytest.mark.parametrize("path", ["//evil.example/x", "/\\evil.example/x", "/kb?q=1"])
async def test_a_refused_forms_back_link_stays_on_this_site(
    database_url: str, tmp_path: Path, path: str
) -> None:
    async with (
        running_hotline(database_url, tmp_path) as hotline,
        httpx.AsyncClient(base_url=hotline.base_url) as browser,
    ):
        token = form_token((await browser.get("/login")).text)
        referer = hotline.base_url + path
        # `language` missing: the framework refuses the form before the handler runs
        refused = await browser.post(
            "/language", data={"csrf_token": token}, headers={"referer": referer, "accept": "text/html"}
        )
        assert refused.status_code == 422
        back = back_link(refused.text)
        if path == "/kb?q=1":
            assert back == "/kb?q=1"  # a path on this site is kept
        else:
            assert back == "/", back
