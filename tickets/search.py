"""Ticket lists and search: the views people work from, filters, and an index-backed text search.

    views    mine · team (my queues) · unassigned · waiting · sla_risk · sla_breached ·
             complaints (open) · closed (recently: the last `RECENT_DAYS`) · all
    filters  state, category, department, priority, customer, created from/to
    text     `#123` or digits (ticket number) · a phone number in any form a person types
             (`138 0013 8000`, `+86 138…`, `010-6552 9988`: `tickets.phones.lookup_variants`,
             matched on stored E.164) · the start of a customer's name · a substring of
             the subject, the description or any note

Text is found through indexes, never a scan of every ticket:

    SQLite      FTS5 tables with the `trigram` tokenizer (`ticket_fts` over subject and
                description, `ticket_note_fts` over journal notes), kept by triggers
    PostgreSQL  pg_trgm GIN indexes on the subject, the description and notes
                (ILIKE uses them)

Both are substring indexes, so Chinese (no spaces between words) is found like English, with
the same meaning on both databases. Trigram indexes need 3 characters: a 1–2 character text
(`漏水`) falls back to a LIKE scan — correct, but slower at millions of tickets (the phone,
number and name matches stay indexed). Search is two steps: the candidate ids from the
indexes (at most `CANDIDATE_CAP`; more is reported as `capped` — refine the search), then the
filters, order and page over those ids. Migrations `b8d4e2f6a913` build the indexes.
"""

from __future__ import annotations

import asyncio
import enum
import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    String,
    bindparam,
    create_engine,
    event,
    false,
    func,
    literal_column,
    or_,
    text,
    union,
)
from sqlalchemy import (
    inspect as sa_inspect,
)
from sqlalchemy import select as sa_select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlmodel import col

from config.database import MAX_ID, sync_url
from tickets.access import Viewer
from tickets.models import (
    OPEN_TICKET_STATES,
    Customer,
    CustomerPhone,
    SlaStatus,
    Ticket,
    TicketEvent,
    TicketPriority,
    TicketState,
)
from tickets.phones import lookup_variants
from tickets.schemas import TicketPublic
from tickets.scope import scope_condition
from tickets.uow import DeskContext

CANDIDATE_CAP = 5000
NAME_CAP = 200  # customers whose name starts with the text
RECENT_DAYS = 7
TRIGRAM = 3


class TicketView(enum.StrEnum):
    MINE = "mine"
    TEAM = "team"
    UNASSIGNED = "unassigned"
    WAITING = "waiting"
    SLA_RISK = "sla_risk"
    SLA_BREACHED = "sla_breached"
    COMPLAINTS = "complaints"
    CLOSED = "closed"
    ALL = "all"


class TicketSort(enum.StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    UPDATED = "updated"
    DUE = "due"  # the next SLA deadline first


@dataclass(frozen=True, slots=True)
class TicketQuery:
    view: TicketView = TicketView.ALL
    text: str = ""
    states: tuple[TicketState, ...] = ()
    category: str | None = None
    department_id: int | None = None
    priority: TicketPriority | None = None
    customer_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    sort: TicketSort = TicketSort.NEWEST
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Who:
    """The person whose `mine` and `team` these are, and what they may see."""

    viewer: Viewer
    team_queues: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SearchPage:
    items: list[TicketPublic]
    total: int
    capped: bool = False  # the text matched more than CANDIDATE_CAP tickets
    counts: dict[str, int] = field(default_factory=dict)


# The page reads plain columns, not ORM entities: a read-only list needs no identity map, and
# each entity with its InstanceState was more garbage in reference cycles per search.
_TICKET_COLUMNS: tuple[Any, ...] = tuple(sa_inspect(Ticket).columns)
_TICKET_NAMES: tuple[str, ...] = tuple(sa_inspect(Ticket).columns.keys())
_OPEN = sorted(OPEN_TICKET_STATES)
_CLOSED = (TicketState.CLOSED, TicketState.CANCELLED, TicketState.MERGED)


def view_condition(view: TicketView, who: Who, now: datetime) -> list[Any]:
    is_open = col(Ticket.state).in_(_OPEN)
    if view is TicketView.MINE:
        return [col(Ticket.owner_agent_id) == who.viewer.login, is_open]
    if view is TicketView.TEAM:
        return [col(Ticket.queue).in_(sorted(who.team_queues)), is_open]
    if view is TicketView.UNASSIGNED:
        return [col(Ticket.owner_agent_id).is_(None), is_open]
    if view is TicketView.WAITING:
        return [col(Ticket.waiting_since).is_not(None), is_open]
    if view is TicketView.SLA_RISK:
        return [col(Ticket.sla_status) == SlaStatus.WARNING, is_open]
    if view is TicketView.SLA_BREACHED:
        return [col(Ticket.sla_status) == SlaStatus.BREACHED, is_open]
    if view is TicketView.COMPLAINTS:
        return [col(Ticket.is_complaint), is_open]
    if view is TicketView.CLOSED:
        return [
            col(Ticket.state).in_(_CLOSED),
            col(Ticket.updated_at) >= now - timedelta(days=RECENT_DAYS),
        ]
    return []


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fts5_phrase(q: str) -> str:
    return '"' + q.replace('"', '""') + '"'


class TextKind(enum.Enum):
    NONE = "none"  # `#123`: the number only
    FTS5 = "fts5"  # SQLite, 3+ characters: the trigram FTS tables
    LIKE = "like"  # PostgreSQL (trigram GIN indexes serve ILIKE), or a 1-2 character text


@dataclass(frozen=True, slots=True)
class CandidateShape:
    """Which sources a text searches: the cache key of its statement (the values are parameters)."""

    dialect: str
    number: bool
    phone: bool
    name: bool
    text: TextKind


@dataclass(frozen=True, slots=True)
class Candidates:
    """A shape's statement, built once: the candidate ids (newest first, CANDIDATE_CAP + 1 at
    most: one more tells that the cap was hit), the same as a CTE for the page, the condition
    that keeps a ticket among them and the candidates' count."""

    select: Any
    ids_in: Any
    found: Any


def _text_sources(kind: TextKind) -> list[Any]:
    """Selects of ticket ids whose subject, description or notes contain `:search_text`
    (FTS5 phrase) or match `:search_like` (a LIKE pattern)."""
    if kind is TextKind.FTS5:
        own = text("SELECT rowid AS id FROM ticket_fts WHERE ticket_fts MATCH :search_text")
        noted = text(
            "SELECT e.ticket_id AS id FROM ticket_event e WHERE e.id IN "
            "(SELECT rowid FROM ticket_note_fts WHERE ticket_note_fts MATCH :search_text)"
        )
        return [own.columns(literal_column("id")), noted.columns(literal_column("id"))]
    pattern = bindparam("search_like", type_=String())
    return [
        sa_select(col(Ticket.id).label("id")).where(
            or_(
                col(Ticket.subject).ilike(pattern, escape="\\"),
                col(Ticket.description).ilike(pattern, escape="\\"),
            )
        ),
        sa_select(col(TicketEvent.ticket_id).label("id")).where(
            col(TicketEvent.note).ilike(pattern, escape="\\")
        ),
    ]


def _name_prefix() -> Any:
    """Customers whose name starts with the text: a range on the name index (no LIKE: no
    collation games)."""
    return (
        sa_select(col(Customer.id))
        .where(
            col(Customer.name) >= bindparam("search_name_from", type_=String()),
            col(Customer.name) < bindparam("search_name_to", type_=String()),
        )
        .limit(NAME_CAP)
    )


@functools.lru_cache(maxsize=64)
def _candidates(shape: CandidateShape) -> Candidates:
    """Built once per shape (a handful exist) and reused: building the union, its subqueries
    and the CTE anew for every search cost time and left ~300 objects in reference cycles per
    call, which bring the collector's full passes (~100 ms on the 2-core bench machine, on
    whichever request they land) sooner."""
    sources: list[Any] = []
    if shape.number:
        sources.append(
            sa_select(col(Ticket.id).label("id")).where(
                col(Ticket.id) == bindparam("search_number", type_=Integer())
            )
        )
    if shape.phone:
        variants = bindparam("search_variants", expanding=True, type_=String())
        phone_customers = sa_select(col(CustomerPhone.customer_id)).where(
            col(CustomerPhone.e164).in_(variants)
        )
        sources.append(
            sa_select(col(Ticket.id).label("id")).where(col(Ticket.customer_id).in_(phone_customers))
        )
        sources.append(sa_select(col(Ticket.id).label("id")).where(col(Ticket.caller_e164).in_(variants)))
    if shape.name:
        named = _name_prefix().subquery()
        sources.append(
            sa_select(col(Ticket.id).label("id")).where(col(Ticket.customer_id).in_(sa_select(named.c.id)))
        )
    if shape.text is not TextKind.NONE:
        sources += _text_sources(shape.text)
    if not sources:  # "#" and what is not a number after it: nothing can match
        sources.append(sa_select(col(Ticket.id).label("id")).where(false()))
    found = union(*sources).subquery() if len(sources) > 1 else sources[0].subquery()
    select = sa_select(found.c.id).order_by(found.c.id.desc()).limit(CANDIDATE_CAP + 1)
    cte = select.cte("candidates")
    return Candidates(
        select=select,
        ids_in=col(Ticket.id).in_(sa_select(cte.c.id)),
        found=sa_select(func.count()).select_from(cte).scalar_subquery().label("found"),
    )


def candidate_query(
    q: str, dialect: str, region: str, area_code: str | None
) -> tuple[Candidates, dict[str, Any]]:
    """The statement for the ticket ids the text may mean (number, phone, customer name, text)
    and its parameters."""
    params: dict[str, Any] = {}
    digits = q.lstrip("#").strip()
    number = digits.isdigit() and int(digits) <= MAX_ID
    if number:
        params["search_number"] = int(digits)
    variants = lookup_variants(q, region, area_code)
    if variants:
        params["search_variants"] = variants
    name = len(q) >= 2 and not q.startswith("#")
    if name:
        params["search_name_from"] = q
        params["search_name_to"] = q + "\U0010ffff"
    kind = TextKind.NONE
    if not q.startswith("#"):
        kind = TextKind.FTS5 if dialect == "sqlite" and len(q) >= TRIGRAM else TextKind.LIKE
        if kind is TextKind.FTS5:
            params["search_text"] = _fts5_phrase(q)
        else:
            params["search_like"] = _like(q)
    return _candidates(CandidateShape(dialect, number, bool(variants), name, kind)), params


def candidate_ids(session: Session, q: str, region: str, area_code: str | None) -> tuple[list[int], bool]:
    """The candidates as a list (for callers that add their own filters)."""
    dialect = session.get_bind().dialect.name
    candidates, params = candidate_query(q, dialect, region, area_code)
    ids = [int(i) for i in session.execute(candidates.select, params).scalars()]
    return ids[:CANDIDATE_CAP], len(ids) > CANDIDATE_CAP


def _order(sort: TicketSort) -> list[Any]:
    if sort is TicketSort.OLDEST:
        return [col(Ticket.id)]
    if sort is TicketSort.UPDATED:
        return [col(Ticket.updated_at).desc(), col(Ticket.id).desc()]
    if sort is TicketSort.DUE:
        return [col(Ticket.sla_next_at).is_(None), col(Ticket.sla_next_at), col(Ticket.id)]
    return [col(Ticket.id).desc()]


class TicketSearch:
    """Runs each search as one synchronous unit: on SQLite in a worker thread on its own
    read-only connection pool (one thread hop for the whole search, not one per statement;
    never on the event loop, which carries calls), on PostgreSQL through `run_sync`."""

    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx
        self._engine: Engine | None = None
        self._checked = False

    def _sqlite_engine(self) -> Engine | None:
        if not self._checked:
            self._checked = True
            bind = self._ctx.sessions.kw.get("bind")
            url = make_url(bind.url.render_as_string(hide_password=False)) if bind is not None else None
            if (
                url is not None
                and url.get_backend_name() == "sqlite"
                and url.database not in (None, "", ":memory:")
            ):
                self._engine = create_engine(sync_url(url.render_as_string(hide_password=False)), pool_size=2)
                event.listen(self._engine, "connect", _read_only)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    async def page(self, query: TicketQuery, who: Who, *, with_counts: bool = False) -> SearchPage:
        now = self._ctx.clock()
        engine = self._sqlite_engine()
        if engine is not None:
            return await asyncio.to_thread(self._page_in, engine, query, who, now, with_counts)
        async with self._ctx.sessions() as session:
            return await session.run_sync(self._page_sync, query, who, now, with_counts)

    def _page_in(
        self, engine: Engine, query: TicketQuery, who: Who, now: datetime, with_counts: bool
    ) -> SearchPage:
        with Session(engine) as session:
            return self._page_sync(session, query, who, now, with_counts)

    def _base(self, query: TicketQuery, who: Who, now: datetime) -> list[Any]:
        conditions: list[Any] = view_condition(query.view, who, now)
        scoped = scope_condition(self._ctx.config.access, who.viewer)
        if scoped is not None:
            conditions.append(scoped)
        if query.states:
            conditions.append(col(Ticket.state).in_(query.states))
        if query.category:
            conditions.append(col(Ticket.category) == query.category)
        if query.department_id is not None:
            conditions.append(col(Ticket.department_id) == query.department_id)
        if query.priority is not None:
            conditions.append(col(Ticket.priority) == query.priority)
        if query.customer_id is not None:
            conditions.append(col(Ticket.customer_id) == query.customer_id)
        if query.created_from is not None:
            conditions.append(col(Ticket.created_at) >= query.created_from)
        if query.created_to is not None:
            conditions.append(col(Ticket.created_at) < query.created_to)
        return conditions

    def _page_sync(
        self, session: Session, query: TicketQuery, who: Who, now: datetime, with_counts: bool
    ) -> SearchPage:
        """One statement: the page's rows, each carrying the filtered total (a window count)
        and, for a text search, how many candidates the indexes gave (to tell the cap)."""
        conditions = self._base(query, who, now)
        config = self._ctx.config
        counts = self._counts(session, who, now) if with_counts else {}
        columns: list[Any] = [*_TICKET_COLUMNS, func.count().over().label("total")]
        q = query.text.strip()
        params: dict[str, Any] = {}
        if q:
            dialect = session.get_bind().dialect.name
            candidates, params = candidate_query(q, dialect, config.region, config.area_code)
            conditions.append(candidates.ids_in)
            columns.append(candidates.found)
        stmt = sa_select(*columns).where(*conditions).order_by(*_order(query.sort))
        rows = session.execute(stmt.offset(query.offset).limit(query.limit), params).all()
        if not rows:
            if query.offset == 0:
                return SearchPage([], 0, False, counts)
            total = session.execute(sa_select(func.count()).select_from(Ticket).where(*conditions), params)
            return SearchPage([], int(total.scalar_one()), False, counts)
        width = len(_TICKET_COLUMNS)
        items = [
            TicketPublic.model_validate(dict(zip(_TICKET_NAMES, row[:width], strict=True))) for row in rows
        ]
        capped = bool(q) and int(rows[0][width + 1]) > CANDIDATE_CAP
        return SearchPage(items, int(rows[0][width]), capped, counts)

    def _counts(self, session: Session, who: Who, now: datetime) -> dict[str, int]:
        """How many tickets each view holds (for the list's tabs), in the viewer's scope."""
        scoped = scope_condition(self._ctx.config.access, who.viewer)
        counts: dict[str, int] = {}
        for view in TicketView:
            if view is TicketView.ALL:
                continue
            conditions = view_condition(view, who, now)
            if scoped is not None:
                conditions.append(scoped)
            counted = session.execute(sa_select(func.count()).select_from(Ticket).where(*conditions))
            counts[view.value] = int(counted.scalar_one())
        return counts


def _read_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()
