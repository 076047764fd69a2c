"""Accounts in the browser: an admin creates one, the person must choose their own password first."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, Page

from tests.e2e.browser import expect, screenshot, tabs
from tests.harness import running_hotline


async def switch_language(page: Page, language: str) -> None:
    await page.locator("#language").select_option(language)
    await page.locator(".lang-form button").click()
    await page.wait_for_load_state("domcontentloaded")


async def test_an_admin_made_account_must_change_its_password_before_anything_else(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as t:
        admin = await t.signed_in("admin")
        await admin.goto("/admin/users")
        await expect(admin.locator("#accounts")).to_contain_text("1001")
        # A secondary button under the mouse keeps its text readable (the hover's dark background
        # was the text's own colour: the button went blank).
        reset = admin.locator("#accounts tr[data-login='1001'] button.reset")
        await reset.hover()
        colours = await reset.evaluate(
            "b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]"
        )
        assert colours[0] != colours[1], colours
        # The actions cell stays a table cell, as tall as its row (a flex cell's lines went astray).
        row = admin.locator("#accounts tr[data-login='1001']")
        row_box, cell_box = await row.bounding_box(), await row.locator("td.actions").bounding_box()
        assert row_box and cell_box and abs(row_box["height"] - cell_box["height"]) < 1, (row_box, cell_box)
        await screenshot(admin, "admin-users-zh-CN")
        await switch_language(admin, "en")
        await admin.locator("#new-login").fill("sup2")
        await admin.locator("#new-name").fill("<b>Li Na</b>")
        await admin.locator("#new-role").select_option("supervisor")
        await admin.locator("#create-submit").click()
        issued = admin.locator("#issued-password")
        await expect(issued).to_be_visible()
        once = (await issued.text_content() or "").strip()
        await expect(admin.locator("#accounts tr[data-login='sup2']")).to_contain_text("<b>Li Na</b>")
        await expect(admin.locator("#accounts tr[data-login='sup2']")).to_contain_text("must change password")
        await screenshot(admin, "admin-users-en")
        await admin.reload()
        await expect(admin.locator("#issued-password")).to_have_count(0)  # shown once

        person = await t.signed_in("sup2", once)
        await expect(person).to_have_url(f"{hotline.base_url}/account/password")
        await expect(person.locator("#password-forced")).to_be_visible()
        await screenshot(person, "account-password-zh-CN")
        await person.goto("/supervisor")  # every page sends them back
        await expect(person).to_have_url(f"{hotline.base_url}/account/password")
        cookies = {c["name"]: c["value"] for c in await person.context.cookies()}
        async with httpx.AsyncClient(base_url=hotline.base_url, cookies=cookies) as api:
            assert (await api.get("/api/auth/me")).status_code == 401  # nor does the API answer

        await person.locator("#current").fill(once)
        await person.locator("#new").fill("a" * 12)
        await person.locator("#again").fill("a" * 12)
        await person.locator("#change-password").click()
        await expect(person.locator("#password-error")).to_contain_text("密码不符合要求")
        await switch_language(person, "en")
        await person.locator("#current").fill(once)
        await person.locator("#new").fill("my own passphrase")
        await person.locator("#again").fill("my own passphrase")
        await screenshot(person, "account-password-en")
        await person.locator("#change-password").click()
        await expect(person).to_have_url(f"{hotline.base_url}/supervisor")

        await admin.goto("/admin/users")
        row = admin.locator("#accounts tr[data-login='sup2']")
        await expect(row).not_to_contain_text("must change password")
        await row.locator("button.toggle").click()
        await expect(admin.locator("#accounts tr[data-login='sup2']")).to_contain_text("disabled")
        # Disabling ended the session: the page they have open is sent to sign in by itself (its
        # socket closes with 4401), and coming back is refused too. Going to a page while that
        # redirect is under way raced with it ("interrupted by another navigation"), so wait first.
        await expect(person).to_have_url(f"{hotline.base_url}/login")
        await person.goto("/supervisor")
        await expect(person).to_have_url(f"{hotline.base_url}/login")

        own = admin.locator("#accounts tr[data-login='admin']")
        await own.locator("button.toggle").click()
        await expect(admin.locator("#users-error")).to_contain_text("your own")
