"""The auditor's page: every recording with its player, the trail, and an audited verification."""

from __future__ import annotations

import contextlib
from pathlib import Path

from tests.forms import post_form
from tests.harness import next_message, running_hotline


async def test_auditor_lists_plays_and_verifies_while_agents_are_kept_out(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        agent, ws, _ = await hotline.console(stack, "1001")
        await hotline.place_call("+8613800138000", name="王小明", talk=20)
        pop = await next_message(ws, "pop")
        update = await next_message(ws, "call")
        while update["event"] != "hung_up":
            update = await next_message(ws, "call")
        await hotline.container.bus.join()

        auditor = await hotline.sign_in("audit")
        page = await auditor.get("/audit")
        assert page.status_code == 200
        assert pop["call_id"] in page.text and 'src="/api/recordings/1/audio"' in page.text
        assert "recording.ingest" in page.text
        played = await auditor.get("/api/recordings/1/audio", headers={"Range": "bytes=0-3"})
        assert played.status_code == 206 and played.content == b"RIFF"

        verified = await post_form(auditor, "/audit/verify", page="/audit")
        assert verified.status_code == 303
        verified = await auditor.get(verified.headers["location"])
        assert 'id="verify-result"' in verified.text and 'class="ok"' in verified.text
        trail = (await auditor.get("/api/audit/entries", params={"limit": 3})).json()
        assert [e["action"] for e in trail[:2]] == ["audit.verify", "recording.play"]
        assert trail[0]["actor"] == "auditor:audit" and trail[0]["outcome"] == "ok"

        assert (await agent.get("/audit", follow_redirects=False)).status_code == 403
        assert (await agent.get("/api/audit/entries")).status_code == 403
        assert (await agent.post("/api/audit/verify")).status_code == 403
        await agent.aclose()
        await auditor.aclose()
