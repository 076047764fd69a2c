"""In the browser: pages show times in the call center's zone and name it, whatever the browser's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser

from tests.e2e.browser import expect
from tests.harness import PASSWORD, running_hotline

pytestmark = pytest.mark.browser


async def test_a_console_in_new_york_reads_the_centers_clock(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        context = await browser.new_context(base_url=hotline.base_url, timezone_id="America/New_York")
        try:
            page = await context.new_page()
            await page.goto("/login")
            await page.locator("#login").fill("1001")
            await page.locator("#password").fill(PASSWORD)
            await page.locator("#sign-in").click()
            await expect(page.locator("#state")).to_have_attribute("data-state", "available")
            await expect(page.locator("#tz")).to_have_text("时区：Asia/Shanghai")
            assert (
                await page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
            )
            logged = await page.locator("#log li").last.inner_text()
            shanghai = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
            accepted = {(shanghai - timedelta(minutes=m)).strftime("%H:%M") for m in (0, 1)}
            assert logged[:5] in accepted, (logged, accepted)  # not New York's 13 hours behind
        finally:
            await context.close()
