"""The knowledge base: articles per category, found by words, edited under a version, audited."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import col, select

from agent_ui.seed import DEMO_ARTICLES, DEMO_CATEGORIES, seed_demo
from audit.models import AuditEntry
from tests.tickets.api_harness import running_api
from tests.tickets.conftest import SUPERVISOR
from tickets.errors import TicketConflict
from tickets.kb import ArticleIn
from tickets.service import ServiceDesk


async def test_articles_are_found_by_category_and_by_every_word(desk: ServiceDesk) -> None:
    lift = await desk.kb.save(
        ArticleIn(
            category="lift",
            title_zh="电梯困人处置",
            body_zh="先安抚乘客，再通知维保",
            title_en="Lift entrapment",
        ),
        SUPERVISOR,
    )
    any_cat = await desk.kb.save(
        ArticleIn(title_en="How to calm a caller", body_en="Listen first."), SUPERVISOR
    )
    await desk.kb.save(ArticleIn(category="water", title_zh="漏水"), SUPERVISOR)
    hidden = await desk.kb.save(ArticleIn(category="lift", title_en="old", active=False), SUPERVISOR)
    assert {a.id for a in await desk.kb.find(category="lift")} == {lift.id, any_cat.id}
    assert [a.id for a in await desk.kb.find("安抚 维保")] == [lift.id]
    assert [a.id for a in await desk.kb.find("LISTEN")] == [any_cat.id]
    assert await desk.kb.find("安抚 nothing") == []
    assert hidden.id in {a.id for a in await desk.kb.find(category="lift", include_inactive=True)}
    assert lift.title("zh-CN") == "电梯困人处置" and lift.title("en") == "Lift entrapment"
    assert any_cat.title("zh-CN") == "How to calm a caller"  # English fills a missing translation


async def test_a_stale_edit_conflicts_and_changes_are_on_the_audit_log(desk: ServiceDesk) -> None:
    first = await desk.kb.save(ArticleIn(title_en="A"), SUPERVISOR)
    second = await desk.kb.save(ArticleIn(title_en="B", version=first.version), SUPERVISOR, first.id)
    assert second.version == 2 and second.updated_by == "sup"
    with pytest.raises(TicketConflict):
        await desk.kb.save(ArticleIn(title_en="C", version=1), SUPERVISOR, first.id)
    assert (await desk.kb.get(first.id)).title_en == "B"
    async with desk.ctx.sessions() as session:
        actions = (
            await session.exec(
                select(AuditEntry.action)
                .where(col(AuditEntry.subject) == f"kb:{first.id}")
                .order_by(col(AuditEntry.seq))
            )
        ).all()
    assert actions == ["kb.create", "kb.update"]


async def test_the_demo_seeds_articles_for_its_categories_once_found_in_both_languages(
    database_url: str, tmp_path: Path
) -> None:
    async with running_api(database_url, tmp_path) as api:
        await seed_demo(api.container.sessions, api.container.callcenter, "CN")  # twice: nothing doubles
        agent = await api.client("1001")
        everything = (await agent.get("/api/kb", params={"limit": 50})).json()
        assert len(everything) == len(DEMO_ARTICLES)
        seeded = {a["category"] for a in everything}
        categories = {c for c, *_ in DEMO_CATEGORIES}
        assert seeded <= categories and {"aircon", "plumbing", "complaint"} <= seeded
        aircon = (await agent.get("/api/kb", params={"category": "aircon"})).json()
        assert [a["title_zh"] for a in aircon] == ["空调不制冷：电话中先排查"]
        assert aircon[0]["title_en"].startswith("Air conditioner") and "**" in aircon[0]["body_en"]
        leak = (await agent.get("/api/kb", params={"q": "总阀"})).json()
        assert [a["title_en"] for a in leak] == ["Water leak: stop the water, then dispatch"]
        assert all(a["title_zh"] and a["title_en"] and a["body_zh"] and a["body_en"] for a in everything)
