"""API shapes of the service desk: Create/Update/Public per table, the screen-pop context.

Create/Update models validate input (FastAPI turns a failure into a 422 naming
the field); Public models are what leaves the service. Every Update carries the
`version` the client last saw: the write is refused with TicketConflict if the
row has moved on, so two agents never silently overwrite each other.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, computed_field, field_validator
from sqlmodel import Field as ColumnField
from sqlmodel import SQLModel

from config.database import RowId, Version
from tickets.models import (
    CustomerBase,
    CustomerTier,
    FollowUpState,
    SlaStatus,
    TicketBase,
    TicketPriority,
    TicketState,
    WorkOrderState,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG = re.compile(r"^[^,;\s][^,;]{0,39}$")


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def Omittable(**constraints: Any) -> Any:
    """A field of an Update that may be left out (unchanged) but not sent as null: the
    column is NOT NULL, and null would reach the database. Declared with its plain type;
    the schema shows no default, so clients are not told null is one."""
    return ColumnField(default=None, schema_extra={"json_schema_extra": _no_default}, **constraints)


def _check_email(value: str | None) -> str | None:
    if value and not _EMAIL.match(value):
        raise ValueError("not an e-mail address")
    return value


def _check_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    cleaned = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
    for tag in cleaned:
        if not _TAG.match(tag):
            raise ValueError(f"tag {tag!r}: at most 40 characters, no ',' or ';'")
    return cleaned


# ---------------------------------------------------------------- customers


class PhoneIn(SQLModel):
    number: str = Field(min_length=1, max_length=64)
    label: str = Field(default="", max_length=40)


class CustomerCreate(CustomerBase):
    phones: list[PhoneIn] = Field(default_factory=list, max_length=20)
    tags: list[str] = Field(default_factory=list, max_length=30)

    _email = field_validator("email")(_check_email)
    _tags = field_validator("tags")(_check_tags)


class CustomerUpdate(SQLModel):
    version: Version
    name: str = Omittable(min_length=1, max_length=200)
    company: str = Omittable(max_length=200)
    tier: CustomerTier = Omittable()
    address: str = Omittable(max_length=500)
    email: str = Omittable(max_length=320)
    notes: str = Omittable(max_length=4000)
    tags: list[str] = Omittable(max_length=30)
    phones: list[PhoneIn] = Omittable(max_length=20)  # replaces all when given

    _email = field_validator("email")(_check_email)
    _tags = field_validator("tags")(_check_tags)


class PhonePublic(SQLModel):
    e164: str
    extension: str = ""
    raw: str = ""
    label: str = ""


class CustomerPublic(CustomerBase):
    id: int
    tags: list[str]
    phones: list[PhonePublic]
    version: int
    created_at: datetime
    updated_at: datetime


class TicketSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    subject: str
    category: str
    state: TicketState
    created_at: datetime


class CustomerCard(BaseModel):
    """What the screen pop shows about one customer."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    company: str
    tier: CustomerTier
    tags: tuple[str, ...]
    phones: tuple[str, ...]
    address: str
    email: str
    notes: str
    open_tickets: int
    recent_tickets: tuple[TicketSummary, ...]
    last_call_at: datetime | None


class CallContext(BaseModel):
    """The screen pop and the router's input for one offered call.

    `customers` empty → the pop offers "new customer" with `caller_e164`; several →
    the agent picks one (`ServiceDesk.choose_customer`). `tier` is the ticket's
    customer's tier, else the highest among the matches, else None.
    """

    model_config = ConfigDict(frozen=True)

    call_id: str
    customers: tuple[CustomerCard, ...]
    ticket_id: int
    ticket_is_new: bool
    tier: CustomerTier | None
    ticket_owner_agent_id: str | None
    last_agent_id: str | None
    caller_e164: str | None = None
    category: str = "general"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unknown_caller(self) -> bool:
        """No customer has this number: the pop offers "new customer" in one step."""
        return not self.customers


# ---------------------------------------------------------------- tickets


class TicketCreate(TicketBase):
    customer_id: RowId | None = None
    caller: str | None = Field(default=None, max_length=64)  # raw number, normalised on write
    queue: str | None = Field(default=None, max_length=60)
    owner_agent_id: str | None = Field(default=None, max_length=40)


class TicketUpdate(SQLModel):
    version: Version
    subject: str = Omittable(max_length=300)
    description: str = Omittable(max_length=10000)
    category: str = Omittable(min_length=1, max_length=60)
    priority: TicketPriority = Omittable()
    customer_id: RowId | None = None  # null: no customer
    owner_agent_id: str | None = Field(default=None, max_length=40)  # null: unassigned


class TransitionIn(SQLModel):
    """A state change requested over the API (`POST /api/tickets/{id}/accept` ...)."""

    version: Version
    note: str = Field(default="", max_length=4000)


class WaitingIn(SQLModel):
    version: Version
    waiting: StrictBool
    reason: str = Field(default="", max_length=200)


class NoteIn(SQLModel):
    text: str = Field(min_length=1, max_length=10000)


class TicketPublic(TicketBase):
    id: int
    customer_id: int | None
    caller_e164: str | None
    state: TicketState
    queue: str | None
    owner_agent_id: str | None
    department_id: int | None
    is_complaint: bool
    flagged: bool
    flag_reason: str
    version: int
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    waiting_since: datetime | None
    sla_policy: str | None
    accept_due_at: datetime | None
    dispatch_due_at: datetime | None
    resolve_due_at: datetime | None
    sla_status: SlaStatus


class TicketPage(BaseModel):
    items: list[TicketPublic]
    total: int


# ---------------------------------------------------------------- work orders


class DepartmentCreate(SQLModel):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)


class DepartmentPublic(DepartmentCreate):
    id: int
    active: bool


class TechnicianCreate(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(default="", max_length=64)
    department_id: RowId | None = None
    login: str | None = Field(default=None, max_length=40)


class TechnicianPublic(SQLModel):
    id: int
    name: str
    phone: str
    department_id: int | None
    login: str | None
    active: bool


class WorkOrderCreate(SQLModel):
    """Dispatching a ticket: who goes where, by when, to do what."""

    version: Version  # of the ticket
    technician_id: RowId | None = None
    department_id: RowId | None = None
    due_at: datetime | None = None
    site_address: str = Field(default="", max_length=500)
    instructions: str = Field(default="", max_length=4000)
    note: str = Field(default="", max_length=4000)

    @field_validator("due_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone (e.g. 2026-12-01T10:00:00+08:00)")
        return value


class WorkOrderReport(SQLModel):
    """Arrival or completion, by the technician or an agent on their behalf."""

    version: Version  # of the work order
    note: str = Field(default="", max_length=4000)


class WorkOrderPublic(SQLModel):
    id: int
    ticket_id: int
    department_id: int | None
    technician_id: int | None
    state: WorkOrderState
    due_at: datetime | None
    site_address: str
    instructions: str
    result: str
    created_by: str
    created_at: datetime
    arrived_at: datetime | None
    completed_at: datetime | None
    version: int


# ---------------------------------------------------------------- follow-ups


class FollowUpRecord(SQLModel):
    outcome: str = Field(default="", max_length=2000)
    score: int | None = Field(default=None, ge=1, le=5)
    channel: str = Field(default="agent", pattern=r"^(agent|ivr)$")


class FollowUpPublic(SQLModel):
    id: int
    ticket_id: int
    state: FollowUpState
    due_at: datetime
    announced_at: datetime | None
    outcome: str
    score: int | None
    channel: str
    recorded_by: str | None
    recorded_at: datetime | None


# ---------------------------------------------------------------- timeline


class TimelineEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    kind: str
    actor: str
    summary: str
    from_state: str | None = None
    to_state: str | None = None
    link: str | None = None  # e.g. the recording of a call
    data: dict[str, Any] = Field(default_factory=dict)
