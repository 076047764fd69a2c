"""/docs renders with no network: every asset comes from Hotline itself."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import Browser, Route

from tests.e2e.browser import expect, screenshot, tabs
from tests.harness import running_hotline


async def test_api_docs_render_with_no_network_and_load_nothing_from_elsewhere(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as t:
        ours = urlsplit(hotline.base_url).netloc
        elsewhere: list[str] = []

        async def offline(route: Route) -> None:  # the network beyond Hotline is gone
            url = route.request.url
            if url.startswith(("data:", "blob:")) or urlsplit(url).netloc == ours:
                await route.continue_()
            else:
                elsewhere.append(url)
                await route.abort("internetdisconnected")

        context = await t.context()
        await context.route("**/*", offline)
        page = await context.new_page()
        response = await page.goto("/docs")
        assert response is not None and response.ok
        assert (
            "unsafe-inline"
            not in response.headers["content-security-policy"].split("script-src")[1].split(";")[0]
        )
        await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Hotline")
        await expect(page.locator(".opblock-summary-path", has_text="/api/health")).to_be_visible()
        await screenshot(page, "api-docs-swagger")
        assert (await page.request.get("/redoc")).status == 404  # ReDoc would fetch its logo from a CDN
        assert elsewhere == []
