"""In the browser, an agent's day at the console: what rings, what is enabled, what a refusal says.

Control mode, transfers to the recorded dialplan's [transfer-targets]. A
ringing pop alerts (sound, notification, a flashing title — each switchable)
and shows no wrap-up yet; once answered the controls a talking agent needs are
enabled; a refused transfer (no number entered) is explained in the call-control card in the
agent's language, after exactly one request; pausing the recording shows that
it is paused; after the hang-up the call controls are off.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Request

from cti.simulator import AgentBehaviour
from tests.e2e.browser import expect, screenshot, tabs
from tests.harness import running_hotline

pytestmark = pytest.mark.browser


# Li Na reads Chinese, Bob English: (login, refused transfer, recording paused, saved ticket)
LANGUAGES = [
    ("1001", "盲转未执行：输入的内容无效。", "录音已暂停", "工单 #1 已保存。"),
    (
        "1002",
        "Blind transfer was not done: Something entered is not valid.",
        "Recording paused",
        "Ticket #1 saved.",
    ),
]


@pytest.mark.parametrize(("login", "refused", "paused", "saved"), LANGUAGES, ids=["zh-CN", "en"])
async def test_the_console_enables_what_the_call_allows_and_explains_refusals(
    database_url: str, tmp_path: Path, browser: Browser, login: str, refused: str, paused: str, saved: str
) -> None:
    async with (
        running_hotline(
            database_url,
            tmp_path,
            ami_transfer_context="transfer-targets",
            speed=1.0,  # real time: the phone rings 5 s, long enough to look at the ringing console
            agents={a: AgentBehaviour(ring_s=5, talk_s=600) for a in ("1001", "1002")},
        ) as hotline,
        tabs(browser, hotline.base_url) as people,
    ):
        page = await people.signed_in(login)
        await expect(page.locator("#state")).to_have_attribute("data-state", "available")
        lang = "zh" if login == "1001" else "en"
        for kind in ("sound", "notify", "flash"):
            await expect(page.locator(f"#alert-{kind}")).to_be_checked()
        posts: list[str] = []

        def seen(request: Request) -> None:
            if request.method == "POST" and "/control/" in request.url:
                posts.append(request.url.rsplit("/", 1)[-1])

        page.on("request", seen)

        await hotline.place_call("+8613800138000", name="王小明", talk=600)
        # What a ringing console offers, read in one go while it rings: checked one by one, a
        # loaded machine let the agent's phone answer between the checks (CI at load 13).
        ringing = await page.wait_for_function(
            """() => document.querySelector("#pop").dataset.status === "ringing" && {
                wrapup: document.querySelector("#wrapup").checkVisibility(),
                hangup: !document.querySelector("#ctl-hangup").disabled,
                transfer: !document.querySelector("#ctl-transfer_blind").disabled,
            }"""
        )
        assert await ringing.json_value() == {"wrapup": False, "hangup": True, "transfer": False}
        await expect(page.locator("body")).to_have_attribute("data-alerted", "sound notify flash")

        await expect(page.locator("#pop")).to_have_attribute("data-status", "answered")
        await expect(page.locator("#wrapup")).to_be_visible()
        await expect(page.locator("#ctl-transfer_blind")).to_be_enabled()
        await expect(page.locator("#ctl-hangup")).to_be_enabled()

        await page.locator("#ctl-transfer_blind").click()  # no number entered: refused
        await expect(page.locator("#controls-status")).to_have_text(refused)
        assert posts == ["transfer_blind"]  # one click, one request
        await screenshot(page, f"console-transfer-refused-{lang}")

        # the card's recent tickets follow what the agent saves
        await page.locator("#t-subject").fill("电梯故障 Lift out of order")
        await page.locator("#ticket-save").click()
        await expect(page.locator("#ticket-status")).to_have_text(saved)
        await expect(page.locator("#pop .customer")).to_contain_text("#1 电梯故障 Lift out of order")

        await page.locator("#ctl-recording_pause").click()
        await expect(page.locator("#recording-paused")).to_contain_text(paused)
        await expect(page.locator("#ctl-recording_pause")).to_be_disabled()
        await expect(page.locator("#ctl-recording_resume")).to_be_enabled()
        await screenshot(page, f"console-recording-paused-{lang}")
        await page.locator("#ctl-recording_resume").click()
        await expect(page.locator("#recording-paused")).to_be_hidden()

        await page.locator("#ctl-hangup").click()
        await expect(page.locator("#pop")).to_have_attribute("data-status", "hung_up")
        for action in ("hangup", "recording_pause", "recording_resume", "transfer_blind"):
            await expect(page.locator(f"#ctl-{action}")).to_be_disabled()
        await expect(page.locator("#transfer-to")).to_be_disabled()
        await expect(page.locator("#wrapup")).to_be_visible()
        await screenshot(page, f"console-wrap-up-{lang}")

        # switched off, a ringing pop stays quiet
        await page.locator("#alert-sound").uncheck()
        await page.locator("#alert-flash").uncheck()
        await page.reload()
        await expect(page.locator("#alert-sound")).not_to_be_checked()


async def test_a_caller_name_of_290_characters_opens_a_ticket_and_wraps_in_the_pop(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    """A PBX can send any caller name: the derived subject is cut to fit, the pop shows this call's ticket."""
    long_name = "超长来电姓名" * 48 + "末尾"  # 290 characters, no spaces to break at
    async with (
        running_hotline(database_url, tmp_path) as hotline,
        tabs(browser, hotline.base_url) as people,
    ):
        page = await people.signed_in("1001")
        await expect(page.locator("#state")).to_have_attribute("data-state", "available")
        await hotline.place_call("+8613711112222", name=long_name, talk=600)
        await expect(page.locator("#ticket-no")).to_have_text("#1")
        await expect(page.locator("#t-subject")).to_have_value(re.compile("^来电：超长来电姓名"))
        subject = await page.locator("#t-subject").input_value()
        assert subject.startswith("来电：超长来电姓名") and subject.endswith("…") and len(subject) <= 300
        pop_box = await page.locator("#pop").bounding_box()
        caller_box = await page.locator("#pop-caller").bounding_box()
        assert pop_box is not None and caller_box is not None
        assert caller_box["x"] + caller_box["width"] <= pop_box["x"] + pop_box["width"] + 1  # wrapped, inside
        await page.locator("#t-description").fill("已核实")
        await page.locator("#ticket-save").click()
        await expect(page.locator("#ticket-status")).to_have_text("工单 #1 已保存。")
        await screenshot(page, "console-long-caller-name-zh")
