"""The ticket timeline shows translated states, work-order steps and local times, not the journal's codes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from agent_ui.i18n import translator
from agent_ui.pages.timeline_text import kind_label, summary
from tickets.schemas import TimelineEntry

SHANGHAI = 8 * 3600
AT = datetime(2026, 12, 1, 11, 30, tzinfo=UTC)


def entry(kind: str, text: str, **data: Any) -> TimelineEntry:
    # The journal keeps from/to states in their columns (TimelineEntry.from_state), not in data.
    states = {k: data.pop(k) for k in ("from_state", "to_state") if k in data}
    return TimelineEntry(at=AT, kind=kind, actor="1001", summary=text, data=data, **states)


@pytest.mark.parametrize(
    ("item", "zh", "en"),
    [
        (
            entry("transition", "reported → accepted", from_state="reported", to_state="accepted"),
            "已申报 → 已受理",
            "reported → accepted",
        ),
        (
            entry(
                "transition",
                "dispatched → resolved: all work orders completed",
                from_state="dispatched",
                to_state="resolved",
            ),
            "已派工 → 已处理: 全部派工单已完工",  # the service's own note, translated
            "dispatched → resolved: all work orders completed",
        ),
        (
            entry(
                "transition",
                "reported → cancelled: 来电放弃 The caller hung up before an agent answered",
                from_state="reported",
                to_state="cancelled",
            ),
            "已申报 → 已取消: 来电者在坐席接听前挂断",  # not half Chinese, half English
            "reported → cancelled: the caller hung up before an agent answered",
        ),
        (
            entry(
                "transition",
                "resolved → closed: confirmed by the customer (sms)",
                from_state="resolved",
                to_state="closed",
            ),
            "已处理 → 已关闭: 客户已确认（sms）",
            "resolved → closed: confirmed by the customer (sms)",
        ),
        (
            entry(
                "transition",
                "resolved → closed: all work orders completed, the customer says",
                from_state="resolved",
                to_state="closed",
            ),
            "已处理 → 已关闭: all work orders completed, the customer says",  # a person's note, as written
            "resolved → closed: all work orders completed, the customer says",
        ),
        (
            entry(
                "work_order",
                "work order 1: on_the_way → arrived",
                work_order_id=1,
                action="arrived",
                from_state="on_the_way",
            ),
            "派工单 1：在路上 → 已到场",
            "work order 1: on the way → on site",
        ),
        (
            entry(
                "work_order",
                "work order 2: arrived → completed: 换了电容",
                work_order_id=2,
                action="completed",
                from_state="arrived",
            ),
            "派工单 2：已到场 → 已完工: 换了电容",
            "work order 2: on site → done: 换了电容",
        ),
        (
            entry("follow_up_scheduled", "due 2026-12-01T19:30:11.245628+00:00"),
            "应于 2026年12月2日 03:30 回访",
            "due 2 Dec 2026 03:30",
        ),
        (
            entry("follow_up", "rescheduled to 2026-12-03T02:00+00:00: 客户出差", action="rescheduled"),
            "改约至 2026年12月3日 10:00: 客户出差",
            "rescheduled to 3 Dec 2026 10:00: 客户出差",
        ),
        (
            entry(
                "notification",
                "SMS sent to +86138****8000, attempt 1, queued",
                state="sent",
                to="+86138****8000",
                attempt=1,
                provider_status="queued",
            ),
            "短信已发送：+86138****8000，第 1 次 (queued)",
            "SMS sent to +86138****8000, attempt 1 (queued)",
        ),
        (entry("call_answered", "call answered"), "", ""),
        (entry("note", "客户说 <b>明天</b> 在家"), "客户说 <b>明天</b> 在家", "客户说 <b>明天</b> 在家"),
        (
            entry("work_order", "something new", work_order_id=3, action="x", from_state="y"),
            "something new",
            "something new",
        ),
    ],
)
def test_the_timeline_reads_in_each_language_with_local_times(item: TimelineEntry, zh: str, en: str) -> None:
    assert summary(item, "zh-CN", SHANGHAI, translator("zh-CN")) == zh
    assert summary(item, "en", SHANGHAI, translator("en")) == en


def test_every_kind_the_services_journal_has_a_label_in_both_languages() -> None:
    kinds = [
        "created",
        "transition",
        "edit",
        "note",
        "call",
        "call_answered",
        "call_abandoned",
        "call_moved",
        "recording",
        "work_order",
        "arbitration",
        "follow_up",
        "follow_up_scheduled",
        "sla_warning",
        "sla_breach",
        "waiting_started",
        "waiting_ended",
        "flag",
        "unflag",
        "complaint",
        "merge",
        "incident",
        "notification",
        "customer_merged",
    ]
    for kind in kinds:
        zh, en = kind_label(kind, translator("zh-CN")), kind_label(kind, translator("en"))
        assert zh and en and zh != en, kind
    assert kind_label("brand_new_kind", translator("zh-CN")) == "brand new kind"  # shown, never dropped
