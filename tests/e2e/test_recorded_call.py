"""A call on the simulated PBX is recorded, ingested, and played back under the access rules."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

from sqlmodel import select

from audit.log import AuditLog
from audit.models import AuditEntry
from tests.harness import next_message, running_hotline


async def test_recording_of_a_call_is_stored_and_only_its_agent_may_play_it(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, contextlib.AsyncExitStack() as stack:
        alice, ws, _ = await hotline.console(stack, "1001")
        bob = await hotline.sign_in("1002")
        await hotline.place_call("+8613800138000", name="王小明", talk=20)
        pop = await next_message(ws, "pop")
        update = await next_message(ws, "call")
        while update["event"] != "hung_up":
            update = await next_message(ws, "call")
        await hotline.container.bus.join()

        listing = await alice.get("/api/recordings", params={"call_id": pop["call_id"]})
        assert listing.status_code == 200, listing.text
        [recording] = listing.json()
        assert recording["status"] == "stored" and recording["agent_id"] == "1001"
        assert recording["format"] == "wav/pcm_s16le/8000Hz/1ch" and recording["duration_s"] > 0

        whole = await alice.get(f"/api/recordings/{recording['id']}/audio")
        assert whole.status_code == 200
        assert hashlib.sha256(whole.content).hexdigest() == recording["sha256"]
        part = await alice.get(f"/api/recordings/{recording['id']}/audio", headers={"Range": "bytes=0-43"})
        assert part.status_code == 206 and part.content == whole.content[:44]
        assert part.content.startswith(b"RIFF")

        # The ticket's history plays the call's recording once, not on each entry of that call.
        ticket_page = await alice.get(f"/tickets/{pop['ticket_id']}")
        assert ticket_page.status_code == 200
        assert ticket_page.text.count(f'src="/api/recordings/{recording["id"]}/audio"') == 1
        # and names the queue and the owner as people know them, not by their codes.
        assert 'id="queue" data-queue="support">技术支持</dd>' in ticket_page.text
        assert 'id="owner" data-agent="1001">李娜 Li Na (1001)</dd>' in ticket_page.text

        denied = await bob.get(f"/api/recordings/{recording['id']}/audio")
        assert denied.status_code == 403

        async with hotline.container.sessions() as session:
            actions = [
                (e.actor, e.action, e.outcome)
                for e in (await session.exec(select(AuditEntry).order_by(AuditEntry.seq))).all()
                if e.action.startswith("recording.")
            ]
            report = await AuditLog().verify(session)
        assert actions == [
            ("system:recordings", "recording.ingest", "ok"),
            ("agent:1001", "recording.play", "ok"),
            ("agent:1001", "recording.play", "ok"),
            ("agent:1002", "recording.denied", "denied"),
        ]
        assert report.ok
        await alice.aclose()
        await bob.aclose()
