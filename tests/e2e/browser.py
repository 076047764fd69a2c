"""Headless Chromium for the end-to-end tests: the Debian browser driven by Playwright.

Playwright's async API runs in the test's event loop, the same loop as the
running Hotline (tests.harness), so a test can place a call on the simulated
PBX and then wait on the page for what it should show. Waits are always on
page conditions (`expect`), never fixed sleeps.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from tests.harness import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Playwright's `expect` gives up after 5 s by default. That is a bound, not a goal: on a loaded
# 2-core CI runner (load 6-15 beside other jobs) a server round trip plus a page update took
# longer than 5 s once in a full run (the desk walk's "accepted" badge), so it failed a correct
# change. A real defect never shows the state at all and still fails, after 15 s.
expect.set_options(timeout=15_000)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


class Tabs:
    """Browser contexts (each its own cookies: one person) against one running Hotline."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.contexts: list[BrowserContext] = []
        self.csp_violations: list[str] = []  # what the Content-Security-Policy refused, if anything

    async def context(self, viewport: ViewportSize | None = None) -> BrowserContext:
        context = await self.browser.new_context(
            base_url=self.base_url, viewport=viewport or {"width": 1280, "height": 900}
        )
        context.on("console", self._console)
        self.contexts.append(context)
        return context

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    async def signed_in(
        self, login: str, password: str = PASSWORD, viewport: ViewportSize | None = None
    ) -> Page:
        """A new person signed in through the login form (whatever the page's language);
        `viewport` for a phone, e.g. {"width": 375, "height": 667}."""
        page = await (await self.context(viewport)).new_page()
        await page.goto("/login")
        await page.locator("#login").fill(login)
        await page.locator("#password").fill(password)
        await page.locator("#sign-in").click()
        await page.wait_for_load_state("domcontentloaded")
        return page


@contextlib.asynccontextmanager
async def tabs(browser: Browser, base_url: str) -> AsyncIterator[Tabs]:
    """Closes every context on the way out, pass or fail, before the server is stopped.

    Use it inside `running_hotline` (`async with running_hotline(...) as h, tabs(browser, h.base_url)`):
    an open websocket would otherwise keep the server's shutdown waiting.

    Every page a test opens runs under the app's CSP: a script, style or frame the policy
    refuses fails the test (fix the page, not the header).
    """
    opened = Tabs(browser, base_url)
    try:
        yield opened
    finally:
        for context in opened.contexts:
            await context.close()
    assert opened.csp_violations == [], opened.csp_violations


async def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


__all__ = ["Tabs", "chromium", "expect", "screenshot", "tabs"]
