"""One chronological view per ticket; search by text and filters."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pydantic_core
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from routing.events import CallEventKind
from tests.tickets.conftest import AGENT, AGENT2, SUPERVISOR, T0, FakeClock, call_event
from tickets.models import SlaStatus, TicketState
from tickets.public_rows import _sqlite_forms, _sqlite_utc_sql, sqlite_utc_text
from tickets.schemas import CustomerCreate, PhoneIn, TicketCreate, TicketPage, WorkOrderCreate
from tickets.service import ServiceDesk
from tickets.timeline import ListFilters


async def test_the_timeline_shows_calls_transitions_notes_and_orders_in_time_order(
    desk: ServiceDesk, clock: FakeClock
) -> None:
    context = await desk.on_call_offered(call_event())
    await desk.handle(call_event(CallEventKind.ANSWERED, agent="1001", at=T0 + timedelta(seconds=9)))
    clock.advance(minutes=2)
    await desk.tickets.add_note(context.ticket_id, "三楼卫生间漏水", AGENT)
    clock.advance(minutes=1)
    ticket = await desk.tickets.get(context.ticket_id)
    await desk.tickets.accept(context.ticket_id, version=ticket.version, actor=AGENT, note="受理")
    clock.advance(minutes=1)
    await desk.work_orders.dispatch(context.ticket_id, WorkOrderCreate(version=ticket.version + 1), AGENT)
    entries = await desk.timeline.for_ticket(context.ticket_id)
    assert [e.kind for e in entries] == [
        "created",
        "call",
        "call_answered",
        "note",
        "transition",
        "transition",
        "work_order",
    ]
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert entries[3].summary == "三楼卫生间漏水"
    assert entries[4].summary == "reported → accepted: 受理"


async def test_search_by_text_filters_and_phone(desk: ServiceDesk) -> None:
    customer = await desk.customers.create(
        CustomerCreate(name="王小明", phones=[PhoneIn(number="13800138000")]), AGENT
    )
    leak = await desk.tickets.create(TicketCreate(subject="漏水 Water leak", customer_id=customer.id), AGENT)
    lift = await desk.tickets.create(TicketCreate(subject="电梯 lift", category="repair"), AGENT)
    await desk.tickets.add_note(lift.id, "需要 100% 配件", AGENT)
    await desk.tickets.accept(lift.id, version=1, actor=AGENT2)

    async def ids(**kw: object) -> list[int]:
        return [t.id for t in (await desk.timeline.search(**kw)).items]  # type: ignore[arg-type]

    assert await ids(q="漏水") == [leak.id]
    assert await ids(q="WATER") == [leak.id]
    assert await ids(q="100%") == [lift.id]  # in a note; % is literal
    assert await ids(q="%") == [lift.id]
    assert await ids(q="+86 138 0013 8000") == [leak.id]
    assert await ids(q=f"#{lift.id}") == [lift.id]
    assert await ids(state=[TicketState.ACCEPTED]) == [lift.id]
    assert await ids(category="repair") == [lift.id]
    assert await ids(assignee="1002") == [lift.id]
    assert await ids(customer_id=customer.id) == [leak.id]
    assert await ids(sla_status=SlaStatus.NONE) == [lift.id, leak.id]
    page = await desk.timeline.search(limit=1)
    assert page.total == 2 and len(page.items) == 1


async def test_keyset_pages_walk_every_ticket_once_newest_first(desk: ServiceDesk) -> None:
    made = [(await desk.tickets.create(TicketCreate(subject=f"第 {n} 单"), AGENT)).id for n in range(7)]
    seen: list[int] = []
    before: int | None = None
    while True:
        page = await desk.timeline.search(limit=3, before_id=before)
        assert page.total == 7  # the count is of every match, whatever the page
        if not page.items:
            break
        seen += [t.id for t in page.items]
        before = page.items[-1].id
    assert seen == sorted(made, reverse=True)
    by_offset = await desk.timeline.search(limit=3, offset=3)
    assert [t.id for t in by_offset.items] == seen[3:6]
    assert by_offset.items[0] == await desk.tickets.get(seen[3])  # the same model as a single read


async def test_the_list_json_is_the_page_model_json_byte_for_byte(
    desk: ServiceDesk, clock: FakeClock
) -> None:
    """`search_json` writes the page from rows without validating models: it must be exactly
    what `TicketPage` would send (field order, UTC datetimes, enums as text, booleans, nulls)."""
    plain = await desk.tickets.create(TicketCreate(subject="电梯 lift"), AGENT)
    clock.advance(seconds=1.25)  # a datetime with microseconds
    done = await desk.tickets.create(TicketCreate(subject="漏水", category="repair"), AGENT)
    await desk.tickets.accept(done.id, version=1, actor=AGENT2)
    await desk.tickets.flag(done.id, "complaint", version=2, actor=SUPERVISOR)
    await desk.tickets.resolve(done.id, version=3, actor=AGENT2)
    await desk.tickets.create(  # what JSON must escape, as pydantic escapes it (SQLite writes it)
        TicketCreate(subject='引号 "q" \\ back/slash', description='line\n\t"two"\r\\ \x01 \x7f \u2028 end'),
        AGENT,
    )
    filters = [
        ListFilters(),
        ListFilters(limit=1),
        ListFilters(state=[TicketState.RESOLVED, TicketState.RESOLVED], flagged=True),
        ListFilters(category="repair", assignee="1002", sla_status=SlaStatus.NONE),
        ListFilters(q="电梯"),
        ListFilters(offset=5),
        ListFilters(before_id=plain.id),
    ]
    for f in filters:
        page = await desk.timeline.search(
            f.q,
            state=f.state,
            category=f.category,
            assignee=f.assignee,
            sla_status=f.sla_status,
            flagged=f.flagged,
            limit=f.limit,
            offset=f.offset,
            before_id=f.before_id,
        )
        expected = TicketPage.model_validate(page.model_dump()).model_dump_json().encode()
        assert await desk.timeline.search_json(f) == expected, f
    assert (
        json.loads(await desk.timeline.search_json(ListFilters(flagged=True)))["items"][0]["state"]
        == "resolved"
    )


async def test_a_stored_datetime_of_another_form_is_still_written_as_the_model_writes_it(
    desk: ServiceDesk, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """SQLite writes a page's JSON only from the stored forms it knows; a row written by another
    tool (an offset, a `T`) sends the page through the rows, which parse it."""
    made = await desk.tickets.create(TicketCreate(subject="电梯"), AGENT)
    await desk.tickets.create(TicketCreate(subject="漏水"), AGENT)
    async with sessions() as session:
        at = "2026-12-01T09:30:00+08:00" if "sqlite" in str(session.bind.url) else "2026-12-01 01:30:00+00"
        conn = await session.connection()
        await conn.execute(
            text("UPDATE ticket SET created_at = :at WHERE id = :id"), {"at": at, "id": made.id}
        )
        await session.commit()
    page = await desk.timeline.search()
    assert page.items[-1].created_at == datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
    expected = TicketPage.model_validate(page.model_dump()).model_dump_json().encode()
    assert await desk.timeline.search_json(ListFilters()) == expected


async def test_a_ticket_read_as_json_is_its_model_json_byte_for_byte(
    desk: ServiceDesk, clock: FakeClock
) -> None:
    clock.advance(seconds=0.5)
    made = await desk.tickets.create(TicketCreate(subject="电梯 lift", category="repair"), AGENT)
    await desk.tickets.accept(made.id, version=1, actor=AGENT2)
    await desk.tickets.flag(made.id, "complaint", version=2, actor=SUPERVISOR)
    model = await desk.tickets.get(made.id)
    assert await desk.tickets.get_json(made.id) == model.model_dump_json().encode()


def test_sqlite_datetimes_read_as_text_are_what_pydantic_writes() -> None:
    for stored, moment in [
        ("2026-12-01 01:00:00.000000", datetime(2026, 12, 1, 1, tzinfo=UTC)),
        ("2026-12-01 01:00:00.250000", datetime(2026, 12, 1, 1, 0, 0, 250000, tzinfo=UTC)),
        ("2026-12-01 01:00:00.000120", datetime(2026, 12, 1, 1, 0, 0, 120, tzinfo=UTC)),
        ("2026-12-01 01:00:00", datetime(2026, 12, 1, 1, tzinfo=UTC)),  # written by another tool
        ("2026-12-01T09:00:00+08:00", datetime(2026, 12, 1, 1, tzinfo=UTC)),  # parsed, then formatted
    ]:
        assert pydantic_core.to_json(sqlite_utc_text(stored)) == pydantic_core.to_json(moment), stored


def test_sqlite_writes_the_stored_datetime_forms_as_sqlite_utc_text_does() -> None:
    """The page's SQL (`public_rows._sqlite_utc_sql`, its known-forms check) against the
    Python it stands for, on both stored forms and on near misses: a form SQLite writes is
    `sqlite_utc_text`'s text; any other is NULL and flags the row (not plain)."""
    samples = [
        "2026-12-01 01:00:00.000000",
        "2026-12-01 01:00:00.250000",
        "2026-12-01 01:00:00.000120",
        "2026-12-01 01:00:00",
        "2026-12-01T01:00:00",
        "2026-12-01 01:00:00.25",
        "2026-12-01 01:00:00+08:00",
        "2026-12-01T09:00:00+08:00",
        "2026-12-01 01:00:00,000000",
        "",
    ]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE ticket (created_at TEXT)")
    convert, known = _sqlite_utc_sql("ticket.created_at"), _sqlite_forms("ticket.created_at")
    for stored in samples:
        conn.execute("DELETE FROM ticket")
        conn.execute("INSERT INTO ticket VALUES (?)", (stored,))
        text_, is_known = conn.execute(
            f"SELECT {convert}, ({known[0]}) OR ({known[1]}) FROM ticket"
        ).fetchone()
        python = sqlite_utc_text(stored) if len(stored) in (19, 26) else None
        if is_known:
            assert isinstance(python, str) and text_ == python, stored
        else:
            assert text_ is None and not isinstance(python, str), stored
