"""The knowledge base in a real browser: a supervisor writes an article in markdown (with a
hostile script and link in it), an agent finds it from the ticket page and in the pop, and it
is shown rendered and sanitised, in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.e2e.browser import expect, screenshot, tabs
from tests.harness import running_hotline
from tickets.lifecycle import Actor
from tickets.schemas import TicketCreate

pytestmark = pytest.mark.browser

SUP = Actor("sup", "supervisor")

BODY_ZH = """## 处置步骤

1. **安抚**乘客，告知救援已出发
2. 通知维保单位

<script>document.title = "pwned"</script>
[危险链接](javascript:alert(1)) · [维保手册](https://example.com/manual)
"""


async def test_a_supervisor_writes_an_article_and_an_agent_reads_it_safely_from_the_ticket_and_the_pop(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline, tabs(browser, hotline.base_url) as people:
        sup = await people.signed_in("sup")  # zh-CN
        await sup.goto("/kb")
        await sup.locator("#kb-new").click()
        await sup.locator("#kb-form-category").select_option("general")
        await sup.locator("#kb-title-zh").fill("电梯困人处置")
        await sup.locator("#kb-title-en").fill("Lift entrapment")
        await sup.locator("#kb-body-zh").fill(BODY_ZH)
        await sup.locator("#kb-body-en").fill(
            "## Steps\n\n1. **Calm** the passengers\n2. Call the lift company"
        )
        await sup.locator("#kb-save").click()
        await expect(sup.locator("#saved")).to_be_visible()
        body = sup.locator("#article-body")
        await expect(body.locator("strong")).to_have_text("安抚")
        await expect(body.locator("script")).to_have_count(0)
        await expect(body).to_contain_text('<script>document.title = "pwned"</script>')  # shown as text
        await expect(body.locator("a")).to_have_count(1)  # the javascript: link is not a link
        await expect(body.locator("a")).to_have_attribute("rel", "noopener noreferrer nofollow")
        assert await sup.title() != "pwned"
        await screenshot(sup, "kb-article-zh")
        await sup.locator("#kb-edit").click()
        await screenshot(sup, "kb-edit-zh")

        alice = await people.signed_in("1001")
        await expect(alice.locator("#state")).to_have_attribute("data-state", "available")
        await hotline.place_call("+8613800138000", name="王小明", talk=30)
        await expect(alice.locator("#pop-kb li a")).to_have_text("电梯困人处置")
        await screenshot(alice, "kb-in-pop-zh")

        ticket = await hotline.container.desk.tickets.create(
            TicketCreate(subject="困人", category="general"), SUP
        )
        bob = await people.signed_in("1002")  # en
        await bob.goto(f"/tickets/{ticket.id}")
        await expect(bob.locator("#ticket-kb li a")).to_have_text("Lift entrapment")
        await bob.locator("#ticket-kb-q").fill("Calm")
        await bob.locator("#ticket-kb-find").click()
        await expect(bob.locator("#kb-articles li")).to_have_count(1)
        await screenshot(bob, "kb-search-en")
        await bob.locator("#kb-articles li a").click()
        await expect(bob.locator("#article-body strong")).to_have_text("Calm")
        await expect(bob.locator("#kb-edit")).to_have_count(0)  # agents read only
        await screenshot(bob, "kb-article-en")
        await bob.goto("/kb/new")
        await expect(bob.locator("#forbidden")).to_be_visible()
