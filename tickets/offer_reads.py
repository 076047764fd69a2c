"""The offered call's reads as a few short Core selects, each compiled once (`Reads.first`/`few`).

Taking a call in reads: the caller's customers by number, whether they have an open incident,
their open ticket, the new ticket's category rule (and department), and what the pop shows
(the cards: customer, numbers, recent tickets, open count, last call; the last agent). Through
ORM sessions those were ~15 statements at ~0.3 ms of SQLAlchemy work each, several ms per call.
Here each is a select of plain columns, compiled once per shape (the number of customers the
number matched is part of the shape: fixed parameters, no expanding IN), run on SQLite on the
plain read connection in the loop thread (~20 µs each) and on PostgreSQL as one round trip on
the desk's libpq readers. No parameter needs a bind processor (`SqliteStatement` refuses
those): states are inlined as SQL literals, the open-ticket window is applied to the row read.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, bindparam, func, literal_column, or_, select
from sqlmodel import col

from tickets.categories import CategoryRule
from tickets.customers import RECENT_TICKETS
from tickets.models import (
    OPEN_TICKET_STATES,
    Category,
    Customer,
    CustomerPhone,
    Department,
    Incident,
    IncidentCustomer,
    IncidentState,
    Ticket,
    TicketCall,
)
from tickets.reads import Reads
from tickets.schemas import CustomerCard, TicketSummary

MAX_IDS = 16  # customers on one number read this way; more (a shared switchboard) take the ORM path

_OPEN: list[ColumnElement[Any]] = [literal_column(f"'{state.value}'") for state in sorted(OPEN_TICKET_STATES)]


def _in(column: Any, prefix: str, n: int) -> ColumnElement[bool]:
    return col(column).in_([bindparam(f"{prefix}{i}") for i in range(n)])


def _numbered(prefix: str, values: Sequence[Any]) -> dict[str, Any]:
    return {f"{prefix}{i}": value for i, value in enumerate(values)}


@functools.lru_cache(maxsize=MAX_IDS + 1)
def _match(n: int) -> Select[Any]:
    return (
        select(col(CustomerPhone.customer_id))
        .where(_in(CustomerPhone.e164, "v", n))
        .distinct()
        .order_by(col(CustomerPhone.customer_id))
    )


async def customer_ids(reads: Reads, variants: Sequence[str]) -> list[int]:
    """The customers with one of these forms of the caller's number (ascending ids)."""
    if not variants:
        return []
    return [int(row[0]) for row in await reads.few(_match(len(variants)), _numbered("v", variants))]


@functools.lru_cache(maxsize=MAX_IDS + 1)
def _open_incident(n: int) -> Select[Any]:
    return (
        select(col(Incident.id))
        .join(IncidentCustomer, col(IncidentCustomer.incident_id) == col(Incident.id))
        .where(_in(IncidentCustomer.customer_id, "c", n))
        .where(col(Incident.state) == literal_column(f"'{IncidentState.OPEN.value}'"))
        .limit(1)
    )


async def has_open_incident(reads: Reads, ids: Sequence[int]) -> bool:
    return bool(ids) and await reads.first(_open_incident(len(ids)), _numbered("c", ids)) is not None


_CHOSEN = (
    col(Ticket.id),
    col(Ticket.customer_id),
    col(Ticket.owner_agent_id),
    col(Ticket.category),
    col(Ticket.incident_id),
    col(Ticket.subject),
    col(Ticket.state),
    col(Ticket.created_at),
)


@functools.lru_cache(maxsize=4 * (MAX_IDS + 1))
def _open_ticket(n: int, by_number: bool, by_category: bool) -> Select[Any]:
    who: list[ColumnElement[bool]] = []
    if n:
        who.append(_in(Ticket.customer_id, "c", n))
    if by_number:
        who.append(col(Ticket.caller_e164) == bindparam("e164"))
    stmt = cast(Select[Any], select(*_CHOSEN).where(or_(*who), col(Ticket.state).in_(_OPEN)))
    if by_category:
        stmt = stmt.where(col(Ticket.category) == bindparam("category"))
    return stmt.order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc()).limit(1)


async def open_ticket(
    reads: Reads, ids: Sequence[int], e164: str | None, *, category: str | None, since: datetime
) -> dict[str, Any] | None:
    """The newest open ticket of these customers or this number (of `category` if given),
    created at or after `since`: the newest open one, kept only if it is that recent (the
    same answer as bounding the select, without a datetime parameter)."""
    if not ids and e164 is None:
        return None
    stmt = _open_ticket(len(ids), e164 is not None, category is not None)
    row = await reads.first(stmt, {**_numbered("c", ids), "e164": e164, "category": category})
    return row if row is not None and row["created_at"] >= since else None


@functools.lru_cache(maxsize=MAX_IDS + 1)
def _customers(n: int) -> Select[Any]:
    return select(  # type: ignore[return-value]
        col(Customer.id),
        col(Customer.name),
        col(Customer.company),
        col(Customer.tier),
        col(Customer.tags),
        col(Customer.address),
        col(Customer.email),
        col(Customer.notes),
    ).where(_in(Customer.id, "c", n))


@functools.lru_cache(maxsize=MAX_IDS + 1)
def _phones(n: int) -> Select[Any]:
    stmt = select(col(CustomerPhone.customer_id), col(CustomerPhone.e164))
    return (
        cast(Select[Any], stmt).where(_in(CustomerPhone.customer_id, "c", n)).order_by(col(CustomerPhone.id))
    )


async def customers(reads: Reads, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    """The customers' rows (id, name, company, tier, tags, address, email, notes) by id."""
    if not ids:
        return {}
    return {int(row[0]): row for row in await reads.few(_customers(len(ids)), _numbered("c", ids))}


_SUMMARY = (
    col(Ticket.id),
    col(Ticket.subject),
    col(Ticket.category),
    col(Ticket.state),
    col(Ticket.created_at),
)
_RECENT = (
    cast(Select[Any], select(*_SUMMARY))
    .where(col(Ticket.customer_id) == bindparam("customer"))
    .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
    .limit(RECENT_TICKETS)
)
_OPEN_COUNT = (
    select(func.count())
    .select_from(Ticket)
    .where(col(Ticket.customer_id) == bindparam("customer"), col(Ticket.state).in_(_OPEN))
)
_LAST_OTHER_CALL = (
    select(func.max(TicketCall.attached_at).label("last"))
    .join(Ticket, col(Ticket.id) == col(TicketCall.ticket_id))
    .where(col(Ticket.customer_id) == bindparam("customer"), col(TicketCall.call_id) != bindparam("call"))
)


async def cards(
    reads: Reads, rows: dict[int, tuple[Any, ...]], ids: Sequence[int], call_id: str
) -> list[CustomerCard]:
    """Pop cards, in the order of `ids` (ids without a row are skipped), as `cards_sync` makes
    them for the call `call_id` (its last call is the one before this)."""
    known = [i for i in ids if i in rows]
    if not known:
        return []
    phones: dict[int, list[str]] = {}
    for owner, e164 in await reads.few(_phones(len(known)), _numbered("c", known)):
        phones.setdefault(int(owner), []).append(e164)
    out = []
    for i in known:
        _id, name, company, tier, tags, address, email, notes = rows[i]
        params = {"customer": i, "call": call_id}
        recent = await reads.few(_RECENT, params)
        count = await reads.first(_OPEN_COUNT, params)
        last = await reads.first(_LAST_OTHER_CALL, params)
        out.append(
            CustomerCard(
                id=i,
                name=name,
                company=company,
                tier=tier,
                tags=tuple(tags or ()),
                phones=tuple(phones.get(i, ())),
                address=address,
                email=email,
                notes=notes,
                open_tickets=int(next(iter(count.values()))) if count else 0,
                recent_tickets=tuple(
                    TicketSummary(id=r[0], subject=r[1], category=r[2], state=r[3], created_at=r[4])
                    for r in recent
                ),
                last_call_at=last["last"] if last else None,
            )
        )
    return out


_RULE: Select[Any] = select(  # type: ignore[assignment]
    col(Category.code),
    col(Category.name_zh),
    col(Category.name_en),
    col(Category.department_id),
    col(Category.sla_policy),
    col(Category.auto_dispatch),
    col(Category.technician_id),
    col(Category.active),
    col(Category.version),
).where(col(Category.code) == bindparam("code"))
_DEPARTMENT = select(col(Department.id)).where(col(Department.code) == bindparam("code"))


async def category_rule(reads: Reads, code: str) -> CategoryRule | None:
    """The category's active rule (`categories.rule_for`), or None."""
    row = await reads.first(_RULE, {"code": code})
    if row is None or not row["active"]:
        return None
    return CategoryRule(**row)


async def department(reads: Reads, code: str) -> int | None:
    row = await reads.first(_DEPARTMENT, {"code": code})
    return None if row is None else int(row["id"])


_LAST_AGENT = (
    select(col(TicketCall.agent_id))
    .where(
        col(TicketCall.caller_e164) == bindparam("e164"),
        col(TicketCall.agent_id).is_not(None),
        col(TicketCall.call_id) != bindparam("call"),
    )
    .order_by(col(TicketCall.answered_at).desc())
    .limit(1)
)


async def last_agent(reads: Reads, e164: str | None, call_id: str) -> str | None:
    """The agent who last answered this number (sticky routing), on another call."""
    if e164 is None:
        return None
    row = await reads.first(_LAST_AGENT, {"e164": e164, "call": call_id})
    return None if row is None else row["agent_id"]
