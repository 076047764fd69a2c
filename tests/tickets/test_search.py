"""Ticket search and views on both databases: number, phone in any form, name, text in Chinese and
English (through the FTS5 / pg_trgm indexes), the views' counts, filters, paging and scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from tests.tickets.conftest import AGENT, AGENT2, SUPERVISOR, FakeClock
from tickets.access import Viewer
from tickets.schemas import TicketCreate, TicketUpdate
from tickets.search import TicketQuery, TicketSort, TicketView, Who
from tickets.service import ServiceDesk

ALICE = Who(Viewer("1001", "agent", frozenset({"support"})), frozenset({"support"}))


async def seeded(desk: ServiceDesk, make_customer: Callable[..., Any]) -> dict[str, int]:
    wang = await make_customer("王小明", "+86 138 0013 8000")
    anna = await make_customer("Anna Caller", "+49 30 123456")
    ids = {}
    ids["lift"] = (
        await desk.tickets.create(
            TicketCreate(
                subject="3 号楼电梯困人", description="电梯停在 5 楼", customer_id=wang, queue="support"
            ),
            AGENT,
        )
    ).id
    ids["water"] = (
        await desk.tickets.create(
            TicketCreate(subject="Water leak in the kitchen", customer_id=anna, queue="billing"), AGENT2
        )
    ).id
    ids["noise"] = (
        await desk.tickets.create(TicketCreate(subject="噪音投诉", caller="010-6552 9988"), AGENT)
    ).id
    await desk.tickets.add_note(ids["water"], "水管师傅说要换阀门 valve replaced", AGENT2)
    return ids


async def found(desk: ServiceDesk, q: str, who: Who = ALICE) -> set[int]:
    page = await desk.search.page(TicketQuery(text=q), who)
    return {t.id for t in page.items}


async def test_text_is_found_in_subject_description_and_notes_in_chinese_and_english(
    desk: ServiceDesk, make_customer: Callable[..., Any]
) -> None:
    ids = await seeded(desk, make_customer)
    assert await found(desk, "电梯困人") == {ids["lift"]}
    assert await found(desk, "停在 5") == {ids["lift"]}  # the description
    assert await found(desk, "LEAK in") == {ids["water"]}  # any case
    assert await found(desk, "换阀门") == {ids["water"]}  # a note
    assert await found(desk, "valve") == {ids["water"]}
    assert await found(desk, "噪音") == {ids["noise"]}  # two characters: the fallback scan
    assert await found(desk, "no such words") == set()
    assert await found(desk, '"; DROP TABLE ticket; --') == set()  # a phrase, never SQL or FTS syntax


async def test_a_phone_number_in_the_forms_people_type_finds_the_callers_tickets(
    desk: ServiceDesk, make_customer: Callable[..., Any]
) -> None:
    ids = await seeded(desk, make_customer)
    for typed in ("138 0013 8000", "+86 138-0013-8000", "8613800138000", "13800138000"):
        assert await found(desk, typed) == {ids["lift"]}, typed
    assert await found(desk, "(010) 6552 9988") == {ids["noise"]}  # a ticket's caller, no customer
    assert await found(desk, "+49 30 123456") == {ids["water"]}


async def test_a_ticket_number_and_the_start_of_a_customer_name_are_found(
    desk: ServiceDesk, make_customer: Callable[..., Any]
) -> None:
    ids = await seeded(desk, make_customer)
    assert await found(desk, f"#{ids['water']}") == {ids["water"]}
    assert ids["water"] in await found(desk, str(ids["water"]))
    assert await found(desk, "王小") == {ids["lift"]}
    assert await found(desk, "Anna") == {ids["water"]}


async def test_text_written_after_the_migration_is_indexed_and_edits_are_reindexed(
    desk: ServiceDesk, make_customer: Callable[..., Any]
) -> None:
    ids = await seeded(desk, make_customer)
    lift = await desk.tickets.get(ids["lift"])
    change = TicketUpdate(version=lift.version, subject="扶梯异响", description="已停运")
    await desk.tickets.update(ids["lift"], change, SUPERVISOR)
    assert await found(desk, "扶梯异响") == {ids["lift"]}
    assert await found(desk, "停在 5") == set()  # the old description is gone from the index
    async with desk.ctx.sessions() as session:
        if session.get_bind().dialect.name == "sqlite":
            triggers = (await session.exec(text("SELECT name FROM sqlite_master WHERE type='trigger'"))).all()  # type: ignore[call-overload]
            assert {"ticket_fts_ai", "ticket_fts_au", "ticket_note_fts_ai"} <= {t[0] for t in triggers}


async def test_views_count_their_tickets_and_filters_sort_and_page(
    desk: ServiceDesk, make_customer: Callable[..., Any], clock: FakeClock
) -> None:
    ids = await seeded(desk, make_customer)
    lift = await desk.tickets.get(ids["lift"])
    await desk.tickets.accept(ids["lift"], version=lift.version, actor=AGENT)  # Alice owns it now
    noise = await desk.tickets.get(ids["noise"])
    await desk.tickets.mark_complaint(ids["noise"], "loud", version=noise.version, actor=AGENT)
    water = await desk.tickets.get(ids["water"])
    await desk.tickets.set_waiting(ids["water"], True, version=water.version, actor=AGENT2)
    page = await desk.search.page(TicketQuery(), ALICE, with_counts=True)
    assert page.total == 3
    assert page.counts["mine"] == 1 and page.counts["team"] == 1
    assert page.counts["unassigned"] == 2 and page.counts["waiting"] == 1
    assert page.counts["complaints"] == 1 and page.counts["closed"] == 0
    mine = await desk.search.page(TicketQuery(view=TicketView.MINE), ALICE)
    assert [t.id for t in mine.items] == [ids["lift"]]
    oldest = await desk.search.page(TicketQuery(sort=TicketSort.OLDEST, limit=2), ALICE)
    assert [t.id for t in oldest.items] == [ids["lift"], ids["water"]] and oldest.total == 3
    second = await desk.search.page(TicketQuery(sort=TicketSort.OLDEST, limit=2, offset=2), ALICE)
    assert [t.id for t in second.items] == [ids["noise"]]
    accepted = await desk.search.page(TicketQuery(states=(lift.state.__class__("accepted"),)), ALICE)
    assert [t.id for t in accepted.items] == [ids["lift"]]
    none_after = await desk.search.page(TicketQuery(created_from=clock.advance(hours=1)), ALICE)
    assert none_after.total == 0


async def test_the_owner_scope_hides_a_colleagues_tickets_from_search(
    desk: ServiceDesk, make_customer: Callable[..., Any]
) -> None:
    ids = await seeded(desk, make_customer)
    water = await desk.tickets.get(ids["water"])
    await desk.tickets.accept(ids["water"], version=water.version, actor=AGENT2)
    scoped = desk.ctx.config.model_copy(update={"access": "owner"})
    desk.ctx.config = scoped  # type: ignore[misc]
    assert await found(desk, "valve") == set()
    bob = Who(Viewer("1002", "agent", frozenset({"billing"})))
    assert await found(desk, "valve", bob) == {ids["water"]}


async def test_searches_of_punctuation_alone_find_nothing_and_do_not_fail(
    desk: ServiceDesk, make_customer: Callable[..., Any]
) -> None:
    """What a person types into the box by accident, or a probe sends: never a 500."""
    await seeded(desk, make_customer)
    for q in ("#", "# ", "##", "+", "-", "%", "_", "'", '"', "*", "()", "#x", "\\"):
        assert await found(desk, q) == set(), q
