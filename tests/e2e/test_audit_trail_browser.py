"""In the browser: the auditor filters the trail and verifies; the admin sets and releases a legal hold.

Both languages: the auditor reads Chinese (the demo's default), then switches to
English with the filter and the verification kept on the page.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser
from sqlmodel import select

from recordings.models import Recording
from tests.e2e.browser import expect, screenshot, tabs
from tests.harness import running_hotline

pytestmark = pytest.mark.browser


async def test_auditor_filters_and_verifies_and_admin_holds_a_recording_from_the_page(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with (
        running_hotline(database_url, tmp_path) as hotline,
        tabs(browser, hotline.base_url) as people,
    ):
        await hotline.place_call("+8613800138000", name="王小明", talk=3)
        container = hotline.container

        async def stored() -> Recording | None:
            await container.bus.join()
            async with container.sessions() as session:
                return (await session.exec(select(Recording))).first()

        async with asyncio.timeout(20):
            while (recording := await stored()) is None or recording.status != "stored":  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=hotline.base_url, timeout=10) as stranger:
            for _ in range(2):
                await stranger.post("/api/auth/login", json={"login": "mallory", "password": "guess"})

        page = await people.signed_in("audit")
        await page.goto("/audit")
        await expect(page.locator("#zone")).to_contain_text("Asia/Shanghai")
        await page.locator("#f-action").select_option(label="登录失败")
        await page.locator("#f-apply").click()
        await expect(page.locator("#filtered")).to_be_visible()
        rows = page.locator("#entries tbody tr")
        await expect(rows).to_have_count(2)
        await expect(rows.first).to_contain_text("mallory")
        await expect(rows.first).to_contain_text("登录失败")
        await expect(page.locator("#export-csv")).to_have_attribute(
            "href", "/api/audit/entries.csv?action=auth.sign_in_failed"
        )
        await screenshot(page, "audit-trail-filtered-zh")

        await page.get_by_label("语言").select_option("en")
        await page.get_by_role("button", name="切换").click()
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(rows).to_have_count(2)  # the filter survived the switch
        await expect(rows.first).to_contain_text("Sign-in failed")
        await screenshot(page, "audit-trail-filtered-en")

        await page.locator("#verify").click()
        await expect(page.locator("#verify-result")).to_have_class("ok")
        assert "/audit?verified=" in page.url
        await page.reload()
        await expect(page.locator("#verify-result")).to_contain_text("Audit chain intact")
        await page.get_by_label("Language").select_option("zh-CN")
        await page.get_by_role("button", name="Switch").click()
        await expect(page.locator("#verify-result")).to_contain_text("审计链完整")
        await screenshot(page, "audit-verified-zh")

        admin = await people.signed_in("admin")
        await admin.goto("/audit")
        row = admin.locator(f"#rec-{recording.id}")
        await row.locator("input[name=reason]").fill("诉讼保全 case 2026-118")
        await row.get_by_role("button", name="设为保全").click()
        await expect(row).to_contain_text("保全中")
        await expect(row).to_contain_text("诉讼保全 case 2026-118")
        await screenshot(admin, "audit-legal-hold-zh")
        await row.locator("input[name=reason]").fill("case closed")
        await row.get_by_role("button", name="解除保全").click()
        await expect(row).not_to_contain_text("保全中")
        assert await row.locator("audio").count() == 0  # admins manage evidence; they do not listen

        trail = await page.request.get("/api/audit/entries", params={"action": "recording."})
        actions = [e["action"] for e in await trail.json()]
        assert actions[:2] == ["recording.hold_off", "recording.hold_on"]
