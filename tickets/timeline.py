"""One chronological view per ticket, and ticket search with filters.

The timeline is the ticket's journal (`ticket_event`: calls, transitions, edits,
notes, work orders, follow-ups, SLA warnings and breaches) in time order, with
links to call recordings. Text search takes its candidates from `tickets.search`
(ticket number, phone in any form, customer name prefix, and substrings of subject,
description and notes through the FTS5 / pg_trgm indexes), then applies the filters.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Integer, Select, String, bindparam, false, func, true
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from tickets.access import Viewer
from tickets.errors import NotFound
from tickets.models import SlaStatus, Ticket, TicketCall, TicketEvent, TicketState
from tickets.public_rows import PUBLIC_COLUMNS, SQLITE_DOC, SQLITE_PLAIN, as_dict, joined_page, to_json
from tickets.schemas import TicketPage, TicketPublic, TimelineEntry
from tickets.scope import scope_condition
from tickets.search import candidate_ids
from tickets.uow import DeskContext

_TICKETS = Ticket.__table__  # type: ignore[attr-defined]
_PAGE = TypeAdapter(list[TicketPublic])


@dataclass(frozen=True, slots=True)
class ListFilters:
    """What `GET /api/tickets` filters and pages on."""

    q: str | None = None
    state: list[TicketState] | None = None
    category: str | None = None
    assignee: str | None = None
    customer_id: int | None = None
    sla_status: SlaStatus | None = None
    flagged: bool | None = None
    limit: int = 50
    offset: int = 0
    before_id: int | None = None


@dataclass(frozen=True, slots=True)
class _ListShape:
    """Which filters a list has (their values are parameters): the cache key of its statement."""

    states: int
    category: bool
    assignee: bool
    customer: bool
    sla_status: bool
    flagged: bool | None
    before: bool


def _conditions(shape: _ListShape) -> list[Any]:
    t = _TICKETS.c
    conditions: list[Any] = []
    if shape.states:
        conditions.append(t.state.in_([bindparam(f"state_{i}", type_=String()) for i in range(shape.states)]))
    if shape.category:
        conditions.append(t.category == bindparam("category", type_=String()))
    if shape.assignee:
        conditions.append(t.owner_agent_id == bindparam("assignee", type_=String()))
    if shape.customer:
        conditions.append(t.customer_id == bindparam("customer_id", type_=Integer()))
    if shape.sla_status:
        conditions.append(t.sla_status == bindparam("sla_status", type_=String()))
    if shape.flagged is not None:
        conditions.append(t.flagged == (true() if shape.flagged else false()))
    return conditions


def _page_statement(
    shape: _ListShape, extra: tuple[Any, ...] = (), columns: tuple[Any, ...] = PUBLIC_COLUMNS
) -> Select[Any]:
    """The page's columns and, on every row, the filtered total (a scalar subquery, not
    correlated: it counts the table, not the row). `extra` conditions (a viewer's scope, a
    text search's candidates) carry their own values: such a statement is built per request."""
    conditions = [*_conditions(shape), *extra]
    total = sa_select(func.count()).select_from(_TICKETS).where(*conditions).correlate(None)
    paged = list(conditions)
    if shape.before:  # keyset: a deep page costs what the first one does
        paged.append(_TICKETS.c.id < bindparam("before_id", type_=Integer()))
    return (
        sa_select(*columns, total.scalar_subquery().label("total"))
        .select_from(_TICKETS)
        .where(*paged)
        .order_by(_TICKETS.c.id.desc())
        .limit(bindparam("page_limit", type_=Integer()))
        .offset(bindparam("page_offset", type_=Integer()))
    )


def _count_statement(shape: _ListShape, extra: tuple[Any, ...] = ()) -> Select[Any]:
    return sa_select(func.count()).select_from(_TICKETS).where(*_conditions(shape), *extra)


# One statement object per shape (a few hundred at most): `Reads` caches its compiled form by it.
_shape_page = functools.lru_cache(maxsize=512)(_page_statement)
_shape_count = functools.lru_cache(maxsize=512)(_count_statement)


@functools.lru_cache(maxsize=512)
def _shape_sqlite_json(shape: _ListShape) -> Select[Any]:
    """The page as SQLite's JSON of each ticket, whether it could write it, and the total."""
    return _page_statement(shape, columns=(SQLITE_DOC, SQLITE_PLAIN))


RECORDING_LINK = "/api/recordings?call_id={call_id}"  # the recordings API lists by call


def _summary(event: TicketEvent) -> str:
    if event.kind == "transition":
        return f"{event.from_state} → {event.to_state}" + (f": {event.note}" if event.note else "")
    return event.note or event.kind.replace("_", " ")


class Timeline:
    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx

    async def for_ticket(self, ticket_id: int) -> list[TimelineEntry]:
        async with self._ctx.sessions() as session:
            if await session.get(Ticket, ticket_id) is None:
                raise NotFound("ticket", ticket_id)
            events = (
                await session.exec(
                    select(TicketEvent)
                    .where(TicketEvent.ticket_id == ticket_id)
                    .order_by(col(TicketEvent.at), col(TicketEvent.id))
                )
            ).all()
            calls = {
                c.call_id: c
                for c in (
                    await session.exec(select(TicketCall).where(TicketCall.ticket_id == ticket_id))
                ).all()
            }
        entries = []
        for event in events:
            call = calls.get(str(event.data.get("call_id", "")))
            link = RECORDING_LINK.format(call_id=call.call_id) if call and call.recording else None
            data: dict[str, Any] = dict(event.data)
            if call is not None:
                data.update(agent_id=call.agent_id, outcome=call.outcome)
            entries.append(
                TimelineEntry(
                    at=event.at,
                    kind=event.kind,
                    actor=event.actor,
                    summary=_summary(event),
                    from_state=event.from_state,
                    to_state=event.to_state,
                    link=link,
                    data=data,
                )
            )
        return entries

    async def search(
        self,
        q: str | None = None,
        *,
        state: list[TicketState] | None = None,
        category: str | None = None,
        assignee: str | None = None,
        customer_id: int | None = None,
        sla_status: SlaStatus | None = None,
        flagged: bool | None = None,
        limit: int = 50,
        offset: int = 0,
        viewer: Viewer | None = None,
        before_id: int | None = None,
    ) -> TicketPage:
        """Tickets matching the filters, newest first; only those `viewer` may see, if given.

        `before_id` (the last id of the previous page) pages by key: `total` still counts every
        match, `items` start below that id."""
        filters = ListFilters(
            q, state, category, assignee, customer_id, sla_status, flagged, limit, offset, before_id
        )
        rows, total = await self._page_rows(filters, viewer)
        # Plain rows validated into the response models in one call: no ORM object per row.
        return TicketPage.model_construct(
            items=_PAGE.validate_python([as_dict(r) for r in rows]), total=total
        )

    async def search_json(self, filters: ListFilters, viewer: Viewer | None = None) -> bytes:
        """`search` as the JSON of a `TicketPage`, written straight from the rows: the columns are
        the response model's fields, typed by the table (aware UTC datetimes, enums), so
        validating 50 models only to serialise them again cost ~1 ms a page. A test holds the
        bytes equal to `TicketPage`'s own JSON. On SQLite the common page's tickets come as
        SQLite's JSON (`public_rows.SQLITE_DOC`)."""
        reads = self._ctx.reads
        if reads.on_sqlite and not (filters.q and filters.q.strip()):
            scoped = scope_condition(self._ctx.config.access, viewer) if viewer is not None else None
            if scoped is None:
                docs = await reads.all(_shape_sqlite_json(self._shape(filters)), self._params(filters))
                if docs and all(plain for _, plain, _ in docs):
                    return joined_page([doc for doc, _, _ in docs], int(docs[0][2]))
        rows, total = await self._page_rows(filters, viewer)
        return to_json({"items": [as_dict(r) for r in rows], "total": total})

    async def _page_rows(self, f: ListFilters, viewer: Viewer | None) -> tuple[list[tuple[Any, ...]], int]:
        """The page and the filtered total in one statement (the count as a scalar subquery);
        a second one only for a page past the end (no row carries the total)."""
        scoped = scope_condition(self._ctx.config.access, viewer) if viewer is not None else None
        text = f.q.strip() if f.q else ""
        shape, params = self._shape(f), self._params(f)
        reads = self._ctx.reads
        if scoped is None and not text:  # the common case: a statement built and compiled once
            rows = await reads.all(_shape_page(shape), params)
            if not rows and (f.offset or f.before_id is not None):
                counted = await reads.all(_shape_count(shape), params)
                return [], int(counted[0][0])
            return rows, int(rows[0][-1]) if rows else 0
        extra: list[Any] = [] if scoped is None else [scoped]
        async with self._ctx.sessions() as session:
            if text:
                extra.append(await self._text_condition(session, text))
            conn = await session.connection()
            result = await conn.execute(_page_statement(shape, tuple(extra)), params)
            rows = [tuple(r) for r in result.all()]
            if not rows and (f.offset or f.before_id is not None):
                counted = await conn.execute(_count_statement(shape, tuple(extra)), params)
                return [], int(counted.scalar_one())
        return rows, int(rows[0][-1]) if rows else 0

    @staticmethod
    def _shape(f: ListFilters) -> _ListShape:
        return _ListShape(
            len(dict.fromkeys(f.state or ())),
            bool(f.category),
            bool(f.assignee),
            f.customer_id is not None,
            f.sla_status is not None,
            f.flagged,
            f.before_id is not None,
        )

    @staticmethod
    def _params(f: ListFilters) -> dict[str, Any]:
        params: dict[str, Any] = {"page_limit": f.limit, "page_offset": f.offset}
        params.update({f"state_{i}": str(s) for i, s in enumerate(dict.fromkeys(f.state or ()))})
        if f.category:
            params["category"] = f.category
        if f.assignee:
            params["assignee"] = f.assignee
        if f.customer_id is not None:
            params["customer_id"] = f.customer_id
        if f.sla_status is not None:
            params["sla_status"] = str(f.sla_status)
        if f.before_id is not None:
            params["before_id"] = f.before_id
        return params

    async def _text_condition(self, session: Any, q: str) -> Any:
        """The index-backed candidates of `tickets.search` (number, phone, name, text)."""
        config = self._ctx.config
        ids, _capped = await session.run_sync(candidate_ids, q, config.region, config.area_code)
        return col(Ticket.id).in_(ids) if ids else false()
