"""Words a newcomer reads on the admin and supervisor pages: a queue's strategy named in the page's
language (the options were the raw identifiers, 'least-talk-time', on the Chinese page too), and the
responsibility page's empty tables saying what is missing (they said 'No calls in this interval',
the reports page's sentence, on a page about work orders)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from routing.config import STRATEGIES
from tests.forms import post_form
from tests.harness import running_hotline


def _options(html: str, select_id: str) -> dict[str, str]:
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no #{select_id} on the page"
    return dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', select.group(1)))


def _empty_rows(html: str) -> list[str]:
    """The text of each table's one-cell 'nothing here' row."""
    return re.findall(r'<tr><td colspan="\d+">([^<]+)</td></tr>', html)


async def test_queue_strategies_are_named_in_the_pages_language_and_keep_their_values(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        admin = await hotline.sign_in("admin")
        zh = _options((await admin.get("/admin/queues")).text, "strategy-support")
        assert set(zh) == STRATEGIES  # the values posted are still the call-center file's names
        assert zh["least-talk-time"] == "今日通话时长最短优先 (least-talk-time)"
        assert all(re.search(r"[\u4e00-\u9fff]", label) for label in zh.values()), zh
        await post_form(admin, "/language", {"language": "en", "next": "/"})
        en = _options((await admin.get("/admin/queues")).text, "strategy-support")
        assert en["longest-idle"] == "Longest idle first (longest-idle)"
        assert not any("admin.strategy" in label for label in en.values()), en


async def test_the_responsibility_pages_empty_tables_speak_of_work_orders_not_calls(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        sup = await hotline.sign_in("sup")
        page = (await sup.get("/responsibility")).text
        assert _empty_rows(page) == ["此时段内没有派出的工单。"] * 2 and "没有来电" not in page
        await post_form(sup, "/language", {"language": "en", "next": "/"})
        page = (await sup.get("/responsibility")).text
        assert _empty_rows(page) == ["No work orders were handed to anyone in this interval."] * 2


async def test_hotlines_own_steps_on_a_tickets_timeline_are_named_in_the_pages_language(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        sup = await hotline.sign_in("sup")
        await hotline.place_call("+8613800138000", name="王小明", talk=3)  # nobody signed in: abandoned
        for _ in range(200):
            page = await sup.get("/tickets/1")
            if page.status_code == 200 and 'data-actor="system"' in page.text:
                break
            await asyncio.sleep(0.05)
        assert '<td data-actor="system">系统自动</td>' in page.text
        assert not re.search(r"<td[^>]*>system</td>", page.text)  # it read 'system' on the Chinese page
        await post_form(sup, "/language", {"language": "en", "next": "/"})
        assert '<td data-actor="system">Hotline (automatic)</td>' in (await sup.get("/tickets/1")).text
