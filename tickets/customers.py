"""Customer records (客户信息管理): create, edit, find by phone, the screen-pop card.

Numbers are normalised on write with the desk's region; a number that is not
valid is refused with InvalidPhoneNumber naming the field (`phones[1].number`),
never stored half-right. Lookup by caller id goes through `phones.lookup_variants`
and one indexed `IN` query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tickets.errors import InvalidPhoneNumber, NotFound, TicketConflict
from tickets.lifecycle import Actor
from tickets.models import OPEN_TICKET_STATES, Customer, CustomerPhone, CustomerTier, Ticket, TicketCall
from tickets.phones import lookup_variants, normalize
from tickets.reads import Reads
from tickets.schemas import (
    CustomerCard,
    CustomerCreate,
    CustomerPublic,
    CustomerUpdate,
    PhoneIn,
    PhonePublic,
    TicketSummary,
)
from tickets.uow import DeskContext, Tx

RECENT_TICKETS = 5


def phone_rows(phones: Sequence[PhoneIn], region: str, field: str = "phones") -> list[CustomerPhone]:
    """Normalised rows (customer_id unset); duplicates of one number are merged."""
    rows: dict[str, CustomerPhone] = {}
    for index, phone in enumerate(phones):
        try:
            parts = normalize(phone.number, region)
        except InvalidPhoneNumber as exc:
            exc.field = f"{field}[{index}].number"
            raise
        rows.setdefault(
            parts.e164,
            CustomerPhone(
                customer_id=0, e164=parts.e164, extension=parts.extension, raw=phone.number, label=phone.label
            ),
        )
    return list(rows.values())


_PHONES = CustomerPhone.__table__  # type: ignore[attr-defined]
# Built once: a Core statement with an expanding parameter skips per-call construction and
# the ORM's compile step (the statement cache key is the same every time).
_MATCH = (
    sa_select(_PHONES.c.customer_id)
    .where(_PHONES.c.e164.in_(bindparam("variants", expanding=True)))
    .distinct()
    .order_by(_PHONES.c.customer_id)
)


def caller_customer_ids(
    session: Session, raw: str | None, region: str, area_code: str | None = None
) -> list[int]:
    """Ids of the customers with this caller's number, in any form. One indexed query."""
    variants = lookup_variants(raw, region, area_code) if raw else []
    if not variants:
        return []
    return [int(i) for i in session.connection().execute(_MATCH, {"variants": variants}).scalars()]


_MATCH_SQL = "SELECT DISTINCT customer_id FROM customer_phone WHERE e164 IN ({}) ORDER BY customer_id"


async def match_caller(reads: Reads, raw: str | None, region: str, area_code: str | None = None) -> list[int]:
    """The hot path of every incoming call: on SQLite one plain sqlite3 statement (~10 µs)."""
    conn = reads.sqlite
    if conn is None:
        return await reads.run(caller_customer_ids, raw, region, area_code)
    variants = lookup_variants(raw, region, area_code) if raw else []
    if not variants:
        return []
    sql = _MATCH_SQL.format(",".join("?" * len(variants)))
    return [int(row[0]) for row in conn.execute(sql, variants)]


async def customer_ids_for_caller(
    session: AsyncSession, raw: str | None, region: str, area_code: str | None = None
) -> list[int]:
    return await session.run_sync(caller_customer_ids, raw, region, area_code)


def public_sync(session: Session, customers: Sequence[Customer]) -> list[CustomerPublic]:
    ids = [c.id for c in customers]
    phones: dict[int, list[PhonePublic]] = {}
    if ids:
        rows = session.execute(
            select(CustomerPhone)
            .where(col(CustomerPhone.customer_id).in_(ids))
            .order_by(col(CustomerPhone.id))
        )
        for row in rows.scalars():
            phones.setdefault(row.customer_id, []).append(
                PhonePublic.model_validate(row, from_attributes=True)
            )
    return [
        CustomerPublic.model_validate({**c.model_dump(), "phones": phones.get(c.id or 0, [])})
        for c in customers
    ]


async def public(session: AsyncSession, customers: Sequence[Customer]) -> list[CustomerPublic]:
    return await session.run_sync(public_sync, customers)


def customers_by_phone(
    session: Session, raw: str, region: str, area_code: str | None = None
) -> list[CustomerPublic]:
    ids = caller_customer_ids(session, raw, region, area_code)
    if not ids:
        return []
    customers = session.execute(select(Customer).where(col(Customer.id).in_(ids))).scalars().all()
    return public_sync(session, customers)


def cards_sync(session: Session, ids: Sequence[int], current_call: str | None = None) -> list[CustomerCard]:
    """Pop cards for these customers, in the order given (unknown ids are skipped).

    `current_call` is the call the pop is for: the card's last call is the one before it."""
    if not ids:
        return []
    customers = session.execute(select(Customer).where(col(Customer.id).in_(ids))).scalars().all()
    by_id = {c.id: c for c in public_sync(session, customers)}
    return [_card(session, by_id[i], current_call) for i in ids if i in by_id]


async def load_cards(
    session: AsyncSession, ids: Sequence[int], current_call: str | None = None
) -> list[CustomerCard]:
    return await session.run_sync(cards_sync, ids, current_call)


# The card's reads, built once: the pop asks them on every call, and building a select (its
# clauses and cache key) costs more than SQLite takes to answer it.
_RECENT = (
    select(Ticket)
    .where(col(Ticket.customer_id) == bindparam("customer"))
    .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
    .limit(RECENT_TICKETS)
)
_OPEN_COUNT = (
    select(func.count())
    .select_from(Ticket)
    .where(col(Ticket.customer_id) == bindparam("customer"), col(Ticket.state).in_(OPEN_TICKET_STATES))
)
_LAST_CALL = (
    select(func.max(TicketCall.attached_at))
    .join(Ticket, col(Ticket.id) == col(TicketCall.ticket_id))
    .where(col(Ticket.customer_id) == bindparam("customer"))
)
_LAST_OTHER_CALL = _LAST_CALL.where(col(TicketCall.call_id) != bindparam("call"))


def _card(session: Session, customer: CustomerPublic, current_call: str | None = None) -> CustomerCard:
    params = {"customer": customer.id, "call": current_call}
    recent = session.execute(_RECENT, params).scalars()
    open_count = session.execute(_OPEN_COUNT, params).scalar_one()
    last_calls = _LAST_CALL if current_call is None else _LAST_OTHER_CALL
    last_call = session.execute(last_calls, params).scalar_one()
    return CustomerCard(
        id=customer.id,
        name=customer.name,
        company=customer.company,
        tier=customer.tier,
        tags=tuple(customer.tags),
        phones=tuple(p.e164 for p in customer.phones),
        address=customer.address,
        email=customer.email,
        notes=customer.notes,
        open_tickets=int(open_count),
        recent_tickets=tuple(TicketSummary.model_validate(t, from_attributes=True) for t in recent),
        last_call_at=last_call,
    )


def _get_public(session: Session, customer_id: int) -> CustomerPublic:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer", customer_id)
    return public_sync(session, [customer])[0]


class CustomerDirectory:
    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx

    @property
    def region(self) -> str:
        return self._ctx.config.region

    async def create(self, data: CustomerCreate, actor: Actor) -> CustomerPublic:
        phones = phone_rows(data.phones, self.region)
        async with self._ctx.tx() as tx:
            customer = await add_customer(tx, data, phones, actor)
            result = (await public(tx.session, [customer]))[0]
        return result

    async def update(self, customer_id: int, data: CustomerUpdate, actor: Actor) -> CustomerPublic:
        phones = phone_rows(data.phones, self.region) if data.phones is not None else None
        changes = data.model_dump(exclude_unset=True, exclude={"version", "phones"})
        async with self._ctx.tx() as tx:
            customer = await tx.session.get(Customer, customer_id)
            if customer is None:
                raise NotFound("customer", customer_id)
            await _bump(tx, customer_id, data.version, {**changes, "updated_at": tx.now})
            if phones is not None:
                await tx.session.exec(
                    delete(CustomerPhone).where(col(CustomerPhone.customer_id) == customer_id)
                )
                for phone in phones:
                    phone.customer_id = customer_id
                    tx.session.add(phone)
            await tx.session.refresh(customer)
            detail: dict[str, Any] = {"fields": sorted(changes)}
            if phones is not None:
                detail["phones"] = [p.e164 for p in phones]
            tx.audit(actor, "customer.update", f"customer:{customer_id}", **detail)
            result = (await public(tx.session, [customer]))[0]
        return result

    async def get(self, customer_id: int) -> CustomerPublic:
        return await self._ctx.reads.run(_get_public, customer_id)

    async def find_by_phone(self, raw: str) -> list[CustomerPublic]:
        """Customers with this number in any form (fast path: see `tickets.reads`)."""
        return await self._ctx.reads.run(customers_by_phone, raw, self.region, self._ctx.config.area_code)

    async def match(self, raw: str | None) -> list[int]:
        """Ids of the customers with this caller id: what every incoming call asks."""
        return await match_caller(self._ctx.reads, raw, self.region, self._ctx.config.area_code)

    async def search(
        self,
        q: str | None = None,
        *,
        tier: CustomerTier | None = None,
        tag: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[CustomerPublic]:
        """Name/company/email substring, or a phone number in any form."""
        stmt = select(Customer)
        if q:
            pattern = f"%{_escape_like(q)}%"
            ids = await self._phone_hits(q)
            stmt = stmt.where(
                or_(
                    col(Customer.name).ilike(pattern, escape="\\"),
                    col(Customer.company).ilike(pattern, escape="\\"),
                    col(Customer.email).ilike(pattern, escape="\\"),
                    col(Customer.id).in_(ids),
                )
            )
        if tier is not None:
            stmt = stmt.where(Customer.tier == tier)
        async with self._ctx.sessions() as session:
            rows = (await session.exec(stmt.order_by(col(Customer.id)).offset(offset).limit(limit))).all()
            if tag:  # tags are a JSON list: filtered here, portable across backends
                rows = [c for c in rows if tag in c.tags]
            return await public(session, rows)

    async def _phone_hits(self, q: str) -> list[int]:
        return await self.match(q)

    async def card(self, customer_id: int) -> CustomerCard:
        cards = await self._ctx.reads.run(cards_sync, [customer_id])
        if not cards:
            raise NotFound("customer", customer_id)
        return cards[0]

    async def history(self, customer_id: int) -> tuple[list[Ticket], list[TicketCall]]:
        """The customer's tickets and the calls attached to them, newest first."""
        async with self._ctx.sessions() as session:
            if await session.get(Customer, customer_id) is None:
                raise NotFound("customer", customer_id)
            tickets = (
                await session.exec(
                    select(Ticket).where(Ticket.customer_id == customer_id).order_by(col(Ticket.id).desc())
                )
            ).all()
            calls = (
                await session.exec(
                    select(TicketCall)
                    .join(Ticket, col(Ticket.id) == col(TicketCall.ticket_id))
                    .where(Ticket.customer_id == customer_id)
                    .order_by(col(TicketCall.attached_at).desc())
                )
            ).all()
        return list(tickets), list(calls)


async def add_customer(tx: Tx, data: CustomerCreate, phones: list[CustomerPhone], actor: Actor) -> Customer:
    customer = Customer.model_validate(
        data.model_dump(exclude={"phones"}) | {"created_at": tx.now, "updated_at": tx.now}
    )
    tx.session.add(customer)
    await tx.session.flush()
    assert customer.id is not None
    for phone in phones:
        phone.customer_id = customer.id
        tx.session.add(phone)
    tx.audit(
        actor,
        "customer.create",
        f"customer:{customer.id}",
        name=customer.name,
        phones=[p.e164 for p in phones],
    )
    return customer


async def _bump(tx: Tx, customer_id: int, expected: int, values: dict[str, Any]) -> None:
    result = await tx.session.exec(
        update(Customer)
        .where(col(Customer.id) == customer_id, col(Customer.version) == expected)
        .values(**values, version=expected + 1)
    )
    if result.rowcount != 1:
        actual = (await tx.session.exec(select(Customer.version).where(Customer.id == customer_id))).first()
        raise TicketConflict(f"customer {customer_id}", expected, actual)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_LANGUAGE_TAGS = ("lang:", "language:")


def language_tag(tags: Iterable[str]) -> str | None:
    for tag in tags:
        lower = tag.strip().lower()
        for prefix in _LANGUAGE_TAGS:
            if lower.startswith(prefix) and lower[len(prefix) :]:
                return tag.strip()[len(prefix) :]
    return None
