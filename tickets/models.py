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
    ASSIGNED = "assigned"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


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
    id: int | None = Field(default=None, primary_key=True)
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


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
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    site_address: str = Field(default="", max_length=500)
    instructions: str = Field(default="", max_length=4000)
    result: str = Field(default="", max_length=4000)
    created_by: str = Field(max_length=60)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    arrived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1)


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
    channel: str = Field(default="agent", max_length=20)  # agent | ivr
    recorded_by: str | None = Field(default=None, max_length=60)
    recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
