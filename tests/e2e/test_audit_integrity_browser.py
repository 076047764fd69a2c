"""In the browser: the auditor verifies the trail with published checkpoints, then finds a swapped recording.

The swap is the one a plain re-hash misses: other audio in the store and the
row's hash updated to match. The audit page names the recording, the player
gets 409 instead of the audio, and the refusal is on the trail.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Browser
from sqlalchemy import text
from sqlmodel import select

from config.database import create_engine
from cti.simulator.wav import write_call_wav
from recordings.models import Recording
from tests.e2e.browser import expect, screenshot, tabs
from tests.harness import running_hotline

pytestmark = pytest.mark.browser

CHECKPOINTS = {"audit_checkpoint_key": "e2e-checkpoint-key-0b5f2d", "audit_checkpoint_every_s": 3600.0}


async def test_the_auditor_sees_checkpoints_hold_and_then_the_swapped_recording(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    overrides = {**CHECKPOINTS, "audit_checkpoint_file": tmp_path / "checkpoints.jsonl"}
    async with (
        running_hotline(database_url, tmp_path, **overrides) as hotline,
        tabs(browser, hotline.base_url) as people,
    ):
        await hotline.place_call("+8613800138000", name="王小明", talk=3)
        container = hotline.container
        assert container.recordings is not None and container.recordings.checkpoints is not None

        async def stored() -> Recording | None:
            await container.bus.join()
            async with container.sessions() as session:
                return (await session.exec(select(Recording))).first()

        async with asyncio.timeout(20):  # the caller gives up after 0.3 s; then the file is taken in
            while (recording := await stored()) is None or recording.status != "stored":  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await container.recordings.checkpoints.publish()

        page = await people.signed_in("audit")
        await page.goto("/audit")
        await page.locator("#verify").click()
        await expect(page.locator("#verify-result")).to_have_class("ok")
        await expect(page.locator("#checkpoint-result")).to_contain_text("检查点均与审计日志一致")  # zh-CN
        await screenshot(page, "audit-verify-checkpoints-ok")

        fake = tmp_path / "fake.wav"
        write_call_wav(fake, recording.duration_s or 1.0, tone_hz=700.0)
        store = container.recordings.store
        with store.stage() as sink:
            sink.write(fake.read_bytes())
            staged = sink.finish()
            key = await store.put(staged)
        engine = create_engine(database_url)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE recording SET sha256 = :sha, storage_key = :key, size_bytes = :size WHERE id = :i"
                ),
                {"sha": staged.sha256, "key": key, "size": staged.size, "i": recording.id},
            )
        await engine.dispose()

        await page.get_by_label("语言").select_option("en")
        await page.get_by_role("button", name="切换").click()
        await page.goto("/audit")
        await page.locator("#verify").click()
        await expect(page.locator("#verify-result")).to_have_class("error")
        await expect(page.locator("#verify-result")).to_contain_text("no longer what the audit log archived")
        await expect(page.locator("#checkpoint-result")).to_contain_text("1 published checkpoints")
        swapped = page.locator('#file-problems li[data-reason="row_hash_changed"]')
        await expect(swapped).to_contain_text("is not the one the audit log archived: the audio was swapped")
        played = await page.request.get(f"/api/recordings/{recording.id}/audio")
        assert played.status == 409 and (await played.json())["error_id"] == "recording_tampered"
        await page.goto("/audit")
        await expect(page.locator('#entries tr[data-action="recording.tampered"]')).to_contain_text(
            "Tampered recording refused"
        )
        await page.locator("#verify").click()
        await expect(page.locator("#verify-result")).to_have_class("error")
        await screenshot(page, "audit-verify-swapped-recording")
        await page.get_by_label("Language").select_option("zh-CN")
        await page.get_by_role("button", name="Switch").click()
        await page.goto("/audit")
        await page.locator("#verify").click()
        await expect(page.locator("#verify-result")).to_contain_text("与审计日志归档时的记录不符")
        await screenshot(page, "audit-verify-swapped-recording-zh")
