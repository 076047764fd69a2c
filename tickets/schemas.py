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

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    computed_field,
    field_validator,
    model_validator,
)
from sqlmodel import Field as ColumnField
from sqlmodel import SQLModel

from config.database import RowId, Version
from tickets.models import (
    CustomerBase,
    CustomerTier,
    FollowUpState,
    IncidentState,
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


def check_email(value: str | None) -> str | None:
    if value and not _EMAIL.match(value):
        raise ValueError("not an e-mail address")
    return value


def check_tags(tags: list[str] | None) -> list[str] | None:
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

    _email = field_validator("email")(check_email)
    _tags = field_validator("tags")(check_tags)


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

    _email = field_validator("email")(check_email)
    _tags = field_validator("tags")(check_tags)


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


class IncidentNote(BaseModel):
    """What the pop tells the agent of a known incident: its words, in both languages."""

    model_config = ConfigDict(frozen=True)

    id: int
    description: dict[str, str]
    expected: dict[str, str]  # the expected restoration, as read in each language ("" unknown)


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
    incident: IncidentNote | None = None  # the ticket is a child of this open incident

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
    visibility: str = Field(default="internal", pattern=r"^(internal|customer)$")


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
    resolution_code: str = ""
    waiting_since: datetime | None
    waiting_reason: str = ""
    sla_policy: str | None
    accept_due_at: datetime | None
    dispatch_due_at: datetime | None
    resolve_due_at: datetime | None
    sla_status: SlaStatus
    incident_id: int | None = None
    merged_into_id: int | None = None


class MergeIn(SQLModel):
    """Merge this ticket into `into` (the survivor); both versions as the person saw them."""

    version: Version
    into: RowId
    into_version: Version
    note: str = Field(default="", max_length=4000)


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
    appointment_start: datetime | None = None  # the window told to the customer: start … due_at
    due_at: datetime | None = None
    site_address: str = Field(default="", max_length=500)
    instructions: str = Field(default="", max_length=4000)
    note: str = Field(default="", max_length=4000)

    @field_validator("due_at", "appointment_start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone (e.g. 2026-12-01T10:00:00+08:00)")
        return value

    @model_validator(mode="after")
    def _window_in_order(self) -> WorkOrderCreate:
        if self.appointment_start and self.due_at and self.appointment_start > self.due_at:
            raise ValueError("appointment_start must not be after due_at")
        return self


class WorkOrderReport(SQLModel):
    """Arrival or completion, by the technician or an agent on their behalf."""

    version: Version  # of the work order
    note: str = Field(default="", max_length=4000)


class WorkOrderReassign(SQLModel):
    """A dispatcher moves an open order to another technician (it is `assigned` again)."""

    version: Version  # of the work order
    technician_id: RowId
    note: str = Field(default="", max_length=4000)


class WorkOrderRefuse(SQLModel):
    """A department or technician refuses (退单) an order: a reason code and a note, both needed."""

    version: Version  # of the work order
    reason: str = Field(
        min_length=1,
        max_length=40,
        description="one of the center's refusal reason codes (service_desk.refusal_reasons; "
        "the defaults: not_ours, wrong_address, needs_parts, customer_absent)",
    )
    note: str = Field(min_length=1, max_length=2000)

    @field_validator("note")
    @classmethod
    def _not_blank(cls, note: str) -> str:
        if not note.strip():
            raise ValueError("a refusal needs a note saying why")
        return note.strip()


class ArbitrationDecision(SQLModel):
    """A supervisor's final decision on a bounced order: who does it, and why."""

    version: Version  # of the work order
    technician_id: RowId
    note: str = Field(min_length=1, max_length=2000)

    @field_validator("note")
    @classmethod
    def _not_blank(cls, note: str) -> str:
        if not note.strip():
            raise ValueError("an arbitration needs a note")
        return note.strip()


class WorkOrderPublic(SQLModel):
    id: int
    ticket_id: int
    department_id: int | None
    technician_id: int | None
    state: WorkOrderState
    appointment_start: datetime | None = None
    due_at: datetime | None
    site_address: str
    instructions: str
    result: str
    created_by: str
    created_at: datetime
    accepted_at: datetime | None = None
    on_the_way_at: datetime | None = None
    arrived_at: datetime | None
    completed_at: datetime | None
    final: bool = False
    version: int


# ---------------------------------------------------------------- follow-ups


class FollowUpRecord(SQLModel):
    outcome: str = Field(default="", max_length=2000)
    score: int | None = Field(default=None, ge=1, le=5)
    fixed: bool | None = None  # the customer's answer to "is it fixed?" (None: not asked)
    channel: str = Field(default="agent", pattern=r"^(agent|ivr|sms)$")


class FollowUpPublic(SQLModel):
    id: int
    ticket_id: int
    state: FollowUpState
    due_at: datetime
    announced_at: datetime | None
    outcome: str
    score: int | None
    fixed: bool | None = None
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


# ---------------------------------------------------------------- incidents


class IncidentCreate(SQLModel):
    """A supervisor's declaration. Who is affected: the customers whose address contains
    `area`, or who carry the group tag `customer_tag`; both given: those who match both."""

    category: str = Field(min_length=1, max_length=60)
    area: str = Field(default="", max_length=200)
    customer_tag: str = Field(default="", max_length=60, validate_default=True)  # (checked with area)
    description_zh: str = Field(min_length=1, max_length=1000)
    description_en: str = Field(min_length=1, max_length=1000)
    expected_at: datetime | None = None

    @field_validator("area", "description_zh", "description_en")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("description_zh", "description_en")
    @classmethod
    def _said(cls, value: str) -> str:
        if not value:
            raise ValueError("both languages are needed: the IVR and the texts speak each")
        return value

    @field_validator("customer_tag")
    @classmethod
    def _someone(cls, value: str, info: ValidationInfo) -> str:
        """Declared after `area`, so an error names the field that completes "who"."""
        if not value.strip() and not info.data.get("area"):
            raise ValueError("say who is affected: an area, or a customer group (tag)")
        return value.strip()

    @field_validator("expected_at")
    @classmethod
    def _zoned(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs its time zone")
        return value


class IncidentResolveIn(SQLModel):
    version: Version
    note: str = Field(default="", max_length=2000)


class IncidentPublic(BaseModel):
    id: int
    state: IncidentState
    category: str
    area: str
    customer_tag: str
    description_zh: str
    description_en: str
    expected_at: datetime | None
    affected: int
    declared_by: str
    declared_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str
    version: int
    calls: int = 0  # calls on its child tickets
    children: int = 0  # child tickets

    def description(self, language: str) -> str:
        return self.description_en if language.lower().startswith("en") else self.description_zh
