"""Tables owned by the service desk: customers, phones, tickets and what hangs off them.

Phone numbers are stored in E.164 in an indexed column, written once on save,
so caller matching is an index lookup, never a scan with string munging.

Every deadline the desk acts on lives in a row (`Ticket.sla_next_at`,
`FollowUp.due_at`), so a restart loses no timer and several workers can share
the work by claiming rows (see `tickets.sla_worker`).

API shapes (Create/Update/Public) live in `tickets.schemas`; the `*Base` classes
here hold the fields both share.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, Index, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from config.database import UTCDateTime, utcnow

E = TypeVar("E", bound=enum.StrEnum)


class EnumText(TypeDecorator[E]):
    """A StrEnum stored as VARCHAR(20) and read back as the enum (not a bare str).

    Table models are not validated on load; without this, `ticket.state` would be
    a plain string and `is` comparisons and serialisation would silently differ.
    """

    impl = String(20)
    cache_ok = True

    def __init__(self, enum_type: type[E]) -> None:
        super().__init__()
        self.enum_type = enum_type

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_type(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_type(value)


class CustomerTier(enum.StrEnum):
    VIP = "vip"
    STRATEGIC = "strategic"
    PROFITABLE = "profitable"
    ORDINARY = "ordinary"
    RISK = "risk"


# Higher first: the router's priority and the pop's badge use this order.
TIER_RANK = {
    CustomerTier.VIP: 4,
    CustomerTier.STRATEGIC: 3,
    CustomerTier.PROFITABLE: 2,
    CustomerTier.ORDINARY: 1,
    CustomerTier.RISK: 0,
}


class TicketState(enum.StrEnum):
    REPORTED = "reported"  # 申报
    ACCEPTED = "accepted"  # 受理
    DISPATCHED = "dispatched"  # 调度
    RESOLVED = "resolved"  # 处理
    CLOSED = "closed"
    REOPENED = "reopened"
    CANCELLED = "cancelled"
    MERGED = "merged"  # closed as a duplicate: `merged_into_id` names the survivor


OPEN_TICKET_STATES = frozenset(
    {TicketState.REPORTED, TicketState.ACCEPTED, TicketState.DISPATCHED, TicketState.REOPENED}
)


class TicketPriority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class SlaStatus(enum.StrEnum):
    NONE = "none"  # no policy applies
    OK = "ok"
    WARNING = "warning"  # the current stage's deadline is near
    BREACHED = "breached"  # some stage missed its deadline; never goes back


class WorkOrderState(enum.StrEnum):
    ASSIGNED = "assigned"  # 已派工: on the technician's list
    ACCEPTED = "accepted"  # 已接单: the technician took it
    ON_THE_WAY = "on_the_way"  # 在路上
    ARRIVED = "arrived"  # 已到场
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RETURNED = "returned"  # 已退单: refused with a reason, back at the dispatcher
    ARBITRATION = "arbitration"  # 待仲裁: bounced too often; a supervisor decides who does it


class HopKind(enum.StrEnum):
    """How a work order reached a department/technician (one `WorkOrderHop` each)."""

    DISPATCH = "dispatch"  # the order's first hand-over
    REASSIGN = "reassign"  # a dispatcher moved it (an open order, or a returned one elsewhere)
    OVERRIDE = "override"  # a dispatcher sent a returned order back to the department that refused it
    ARBITRATION = "arbitration"  # a supervisor's final decision
    REOPEN = "reopen"  # the follow-up said "not fixed": back to the department that resolved it


class HopOutcome(enum.StrEnum):
    OPEN = "open"  # still with this department/technician
    COMPLETED = "completed"
    REFUSED = "refused"
    MOVED = "moved"  # reassigned elsewhere without a refusal
    CANCELLED = "cancelled"


class NoticeState(enum.StrEnum):
    """An outbound customer message (tickets.notices): pending until handed to the provider
    once; `unknown` when the hand-over may or may not have happened (it is never re-sent)."""

    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a worker, being handed over
    SENT = "sent"  # the provider took it (provider_id); delivery status follows
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"  # the provider could not deliver it
    FAILED = "failed"  # refused, or out of attempts
    UNKNOWN = "unknown"  # the hand-over's outcome is not known: not retried (never twice)


class IncidentState(enum.StrEnum):
    """A mass fault (tickets.incidents): open while callers are told it is known, then resolved."""

    OPEN = "open"
    RESOLVED = "resolved"


class FollowUpState(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"


# ---------------------------------------------------------------- customers


class CustomerBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    company: str = Field(default="", max_length=200)
    tier: CustomerTier = Field(default=CustomerTier.ORDINARY, sa_type=EnumText(CustomerTier))
    address: str = Field(default="", max_length=500)
    email: str = Field(default="", max_length=320)
    notes: str = Field(default="", max_length=4000)


class Customer(CustomerBase, table=True):
    name: str = Field(min_length=1, max_length=200, index=True)  # name-prefix search (tickets.search)
    # The CSV import's upsert key: a row is the same customer as an earlier one when its first
    # number (normalised) and its name agree. NULL for customers made elsewhere (never equal in
    # a unique index); an import adopts such a customer when its name and a number match.
    __table_args__ = (UniqueConstraint("primary_phone", "name", name="uq_customer_primary_phone_name"),)

    id: int | None = Field(default=None, primary_key=True)
    primary_phone: str | None = Field(default=None, max_length=20)
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CustomerImport(SQLModel, table=True):
    """Progress of one CSV file's import (by content digest): a killed run resumes after `lines_done`.

    Written in the same transaction as each batch, so it never runs ahead of the rows."""

    __tablename__ = "customer_import"

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64, unique=True)  # sha256 of the file's bytes
    filename: str = Field(default="", max_length=255)
    lines_done: int = Field(default=0)  # the last line of the last committed batch
    batches: int = Field(default=0)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CustomerPhone(SQLModel, table=True):
    __tablename__ = "customer_phone"
    __table_args__ = (UniqueConstraint("customer_id", "e164"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True, ondelete="CASCADE")
    e164: str = Field(index=True, max_length=20)
    extension: str = Field(default="", max_length=20)
    raw: str = Field(default="", max_length=64)  # as entered, for display
    label: str = Field(default="", max_length=40)


# ---------------------------------------------------------------- organisation


class Department(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=40)
    name: str = Field(max_length=200)
    active: bool = Field(default=True)


class Technician(SQLModel, table=True):
    """Field staff. `login` links a sign-in account so they can report on their own orders."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    phone: str = Field(default="", max_length=20)  # E.164
    department_id: int | None = Field(default=None, foreign_key="department.id", index=True)
    login: str | None = Field(default=None, max_length=40, index=True)
    active: bool = Field(default=True)


class Category(SQLModel, table=True):
    """A ticket category and its dispatch rule (事先编排好的规则), set in advance by a supervisor.

    When a ticket gets this category: its department is `department_id`, its SLA policy is
    `sla_policy` (a policy of the call-center file; None: matched by the policy rules), and,
    with `auto_dispatch`, accepting it dispatches a work order at once (to `technician_id`
    if set, else to the department's queue of orders).
    """

    __tablename__ = "desk_category"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=60)
    name_zh: str = Field(default="", max_length=100)
    name_en: str = Field(default="", max_length=100)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    sla_policy: str | None = Field(default=None, max_length=60)
    auto_dispatch: bool = Field(default=False)
    technician_id: int | None = Field(default=None, foreign_key="technician.id")
    active: bool = Field(default=True)
    version: int = Field(default=1)


class KbArticle(SQLModel, table=True):
    """A knowledge-base article for a category, in Chinese and English (markdown source)."""

    __tablename__ = "kb_article"

    id: int | None = Field(default=None, primary_key=True)
    category: str = Field(default="", max_length=60, index=True)  # empty: any category
    title_zh: str = Field(default="", max_length=200)
    title_en: str = Field(default="", max_length=200)
    body_zh: str = Field(default="", sa_type=Text)
    body_en: str = Field(default="", sa_type=Text)
    active: bool = Field(default=True)
    version: int = Field(default=1)
    updated_by: str = Field(default="", max_length=60)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# ---------------------------------------------------------------- incidents


class Incident(SQLModel, table=True):
    """A mass fault declared by a supervisor: the tickets of its callers are its children.

    Who is affected is fixed when it is declared (`incident_customer`: the customers of the
    area or group then), so linking a call is one indexed lookup, never a text match."""

    id: int | None = Field(default=None, primary_key=True)
    state: IncidentState = Field(default=IncidentState.OPEN, sa_type=EnumText(IncidentState), index=True)
    category: str = Field(default="general", max_length=60)
    area: str = Field(default="", max_length=200)  # matched in the customer's address
    customer_tag: str = Field(default="", max_length=60)  # a customer group: one of their tags
    description_zh: str = Field(default="", max_length=1000)
    description_en: str = Field(default="", max_length=1000)
    expected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # expected restoration
    affected: int = Field(default=0)  # customers linked when declared
    declared_by: str = Field(max_length=60)
    declared_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, max_length=60)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution_note: str = Field(default="", max_length=2000)
    version: int = Field(default=1)


class IncidentCustomer(SQLModel, table=True):
    """An affected customer of an incident. Keyed customer first: the intake looks up by caller."""

    __tablename__ = "incident_customer"

    customer_id: int = Field(foreign_key="customer.id", primary_key=True, ondelete="CASCADE")
    incident_id: int = Field(foreign_key="incident.id", primary_key=True, index=True, ondelete="CASCADE")


# ---------------------------------------------------------------- tickets


class TicketBase(SQLModel):
    subject: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=10000)
    category: str = Field(default="general", max_length=60, index=True)
    priority: TicketPriority = Field(default=TicketPriority.NORMAL, sa_type=EnumText(TicketPriority))


class Ticket(TicketBase, table=True):
    __table_args__ = (Index("ix_ticket_open_by_caller", "caller_e164", "state", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    caller_e164: str | None = Field(default=None, max_length=20, index=True)
    state: TicketState = Field(default=TicketState.REPORTED, sa_type=EnumText(TicketState), index=True)
    queue: str | None = Field(default=None, max_length=60)
    owner_agent_id: str | None = Field(default=None, max_length=40, index=True)
    department_id: int | None = Field(default=None, foreign_key="department.id", index=True)
    is_complaint: bool = Field(default=False)
    flagged: bool = Field(default=False, index=True)  # needs a supervisor's eye
    flag_reason: str = Field(default="", max_length=200)
    version: int = Field(default=1)  # optimistic concurrency: bumped by every change
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution_code: str = Field(default="", max_length=40)  # one of DeskConfig.resolution_codes
    # Waiting (on the customer, on parts): SLA clocks may stop while it is set.
    waiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    waiting_reason: str = Field(default="", max_length=200)
    # SLA: absolute deadlines per stage, which checkpoints have fired, the next one due.
    sla_policy: str | None = Field(default=None, max_length=60)
    accept_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dispatch_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolve_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sla_fired: str = Field(default="", max_length=200)  # "accept:warn,accept:breach,..."
    sla_status: SlaStatus = Field(default=SlaStatus.NONE, sa_type=EnumText(SlaStatus), index=True)
    sla_next_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # A child of a mass fault: resolved with it, never dispatched on its own (tickets.incidents).
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    # Merged (state `merged`): the ticket that carries on with its calls, notes and orders.
    merged_into_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)


class TicketCall(SQLModel, table=True):
    """A call attached to a ticket. One call belongs to at most one ticket."""

    __tablename__ = "ticket_call"

    call_id: str = Field(primary_key=True, max_length=64)
    ticket_id: int = Field(foreign_key="ticket.id", index=True, ondelete="CASCADE")
    attached_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    opened_ticket: bool = Field(default=False)  # this call created the ticket
    caller_e164: str | None = Field(default=None, max_length=20, index=True)
    queue: str | None = Field(default=None, max_length=60)
    ivr_choice: str | None = Field(default=None, max_length=40)
    agent_id: str | None = Field(default=None, max_length=40)
    offered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = Field(default=None, max_length=20)  # answered | abandoned
    recording: str | None = Field(default=None, max_length=500)


class TicketEvent(SQLModel, table=True):
    """The ticket's journal and timeline: transitions, edits, notes, calls, SLA, work orders.

    Append-only. `kind` is one of `tickets.timeline.EventKind`.
    """

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True, ondelete="CASCADE")
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    kind: str = Field(max_length=30)
    actor: str = Field(max_length=60)
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str | None = Field(default=None, max_length=20)
    note: str = Field(default="", sa_type=Text)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class WorkOrder(SQLModel, table=True):
    __tablename__ = "work_order"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True, ondelete="CASCADE")
    department_id: int | None = Field(default=None, foreign_key="department.id")
    technician_id: int | None = Field(default=None, foreign_key="technician.id", index=True)
    state: WorkOrderState = Field(
        default=WorkOrderState.ASSIGNED, sa_type=EnumText(WorkOrderState), index=True
    )
    appointment_start: datetime | None = Field(default=None, sa_type=UTCDateTime)  # window: start … due_at
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    site_address: str = Field(default="", max_length=500)
    instructions: str = Field(default="", max_length=4000)
    result: str = Field(default="", max_length=4000)
    created_by: str = Field(max_length=60)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    on_the_way_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    arrived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Decided by a supervisor's arbitration: whoever it went to does it (no further refusal).
    final: bool = Field(default=False)
    version: int = Field(default=1)


class WorkOrderHop(SQLModel, table=True):
    """One hand-over of a work order to a department/technician, and how it ended (流转记录).

    Append-only but for closing the open hop (`ended_at`, `outcome`, a refusal's reason and
    note). The bounce, arbitration and responsibility figures are counted from these rows, so
    an order bounced three times is three hops of one order: never lost, never a new order.
    """

    __tablename__ = "work_order_hop"

    id: int | None = Field(default=None, primary_key=True)
    work_order_id: int = Field(foreign_key="work_order.id", index=True, ondelete="CASCADE")
    ticket_id: int = Field(foreign_key="ticket.id", index=True, ondelete="CASCADE")
    department_id: int | None = Field(default=None, foreign_key="department.id", index=True)
    technician_id: int | None = Field(default=None, foreign_key="technician.id", index=True)
    kind: HopKind = Field(sa_type=EnumText(HopKind))
    assigned_at: datetime = Field(sa_type=UTCDateTime, index=True)
    assigned_by: str = Field(max_length=60)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: HopOutcome = Field(default=HopOutcome.OPEN, sa_type=EnumText(HopOutcome))
    ended_by: str | None = Field(default=None, max_length=60)
    reason: str = Field(default="", max_length=40)  # a refusal's reason code (DeskConfig.refusal_reasons)
    note: str = Field(default="", max_length=2000)


class FollowUp(SQLModel, table=True):
    """回访: a call back after resolution, due at `due_at`, announced to agents once."""

    __tablename__ = "follow_up"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True, ondelete="CASCADE")
    state: FollowUpState = Field(default=FollowUpState.PENDING, sa_type=EnumText(FollowUpState), index=True)
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    announced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str = Field(default="", max_length=2000)
    score: int | None = Field(default=None, ge=1, le=5)
    # The customer's answer to "is it fixed?": True confirms the resolve (the ticket may close),
    # False reopens it to the department that resolved it; None: not asked.
    fixed: bool | None = Field(default=None)
    channel: str = Field(default="agent", max_length=20)  # agent | ivr | sms
    recorded_by: str | None = Field(default=None, max_length=60)
    recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Notice(SQLModel, table=True):
    """The customer-notification outbox: one row per message that must go out at most once.

    Written in the same transaction as the step it announces (dispatch, resolve), keyed by
    `key` (unique: `dispatched:<work order>`, `resolved:<ticket>:<resolution n>`), so a
    replayed step adds nothing. Workers claim due rows (`next_at`) and hand them to the SMS
    port; `tickets.notices` says how retries and delivery status work.
    """

    __tablename__ = "notice"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=80)
    ticket_id: int = Field(foreign_key="ticket.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=20)  # dispatched | resolved
    channel: str = Field(default="sms", max_length=10)
    to: str = Field(max_length=20)  # E.164
    language: str = Field(max_length=10)
    body: str = Field(max_length=1000)
    state: NoticeState = Field(default=NoticeState.PENDING, sa_type=EnumText(NoticeState), index=True)
    attempts: int = Field(default=0)
    next_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)  # None: nothing to do
    provider_id: str | None = Field(default=None, max_length=64, index=True)
    provider_status: str = Field(default="", max_length=20)
    error: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
