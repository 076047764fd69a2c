"""The service desk's settings: the `service_desk:` section of the call-center file.

Validated strictly like the rest of that file (unknown keys refused). Durations
are written in minutes (`accept_within_min: 30`) because that is how desk
managers state SLAs. Every field has a default, so a file without the section
runs the desk with no SLA policy and the CN region.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from config.callcenter import CallCenter, CallCenterError
from tickets.access import DeskAccess
from tickets.models import CustomerTier, TicketPriority

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarSpec(_Strict):
    """Business hours: `hours` per weekday as "HH:MM-HH:MM" spans; holidays; make-up workdays (调休)."""

    timezone: str = "Asia/Shanghai"
    hours: dict[str, list[str]] = Field(
        default_factory=lambda: {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)  # weekend days worked (hours of `workday_hours`)
    workday_hours: list[str] = Field(default_factory=lambda: ["09:00-18:00"])

    @field_validator("hours")
    @classmethod
    def _known_days(cls, hours: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = set(hours) - set(WEEKDAYS)
        if unknown:
            raise ValueError(f"unknown weekday(s) {sorted(unknown)}; use {', '.join(WEEKDAYS)}")
        for spans in hours.values():
            for span in spans:
                parse_span(span)
        return hours


def parse_span(span: str) -> tuple[time, time]:
    try:
        start, end = (time.fromisoformat(part.strip()) for part in span.split("-"))
    except ValueError:
        raise ValueError(f"span {span!r} is not HH:MM-HH:MM") from None
    if end <= start and end != time(0):
        raise ValueError(f"span {span!r} ends before it starts")
    return start, end


class SlaPolicySpec(_Strict):
    """Targets per stage, measured from the report time. A field left out is not tracked.

    A policy applies when every `match` field it sets equals the ticket's; the
    most specific applicable policy (most fields set) wins, ties to the first listed.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    categories: list[str] = Field(default_factory=list)
    priorities: list[TicketPriority] = Field(default_factory=list)
    tiers: list[CustomerTier] = Field(default_factory=list)
    accept_within_min: float | None = Field(default=None, gt=0)
    dispatch_within_min: float | None = Field(default=None, gt=0)
    resolve_within_min: float | None = Field(default=None, gt=0)
    warn_before_min: float = Field(default=15, ge=0)
    business_hours: bool = True  # False: counted around the clock (24x7 contracts)
    exclude_waiting: bool = True  # time the ticket waits on the customer does not count

    @model_validator(mode="after")
    def _some_target(self) -> SlaPolicySpec:
        if not (self.accept_within_min or self.dispatch_within_min or self.resolve_within_min):
            raise ValueError(f"policy {self.name!r} sets no target")
        return self

    def specificity(self) -> int:
        return sum(bool(x) for x in (self.categories, self.priorities, self.tiers))


class NotificationsSpec(_Strict):
    """Texts to the customer (tickets.notices): off unless `sms: true` and Twilio is configured."""

    sms: bool = False
    on_dispatch: bool = True  # who comes and when
    on_resolve: bool = True  # resolved, with the 1-5 survey
    sender_name: str = Field(default="Hotline", min_length=1, max_length=30)  # 【…】 at the start
    default_language: Literal["zh-CN", "en"] = "zh-CN"  # when the customer's record has no lang: tag
    max_attempts: int = Field(default=5, ge=1, le=20)
    retry_after_s: float = Field(default=30, gt=0)  # doubled after each failed attempt
    status_poll_s: float = Field(default=30, gt=0)  # how often delivery status is asked for

    def retry_delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=self.retry_after_s * 2 ** max(0, attempts - 1))

    @property
    def status_poll(self) -> timedelta:
        return timedelta(seconds=self.status_poll_s)


class RefusalReason(_Strict):
    """Why a department or technician refuses a work order (退单原因), labelled in both languages."""

    code: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    en: str = Field(min_length=1, max_length=100)
    zh: str = Field(min_length=1, max_length=100)

    def label(self, language: str) -> str:
        return self.zh if language.startswith("zh") else self.en


DEFAULT_REFUSAL_REASONS = (
    RefusalReason(code="not_ours", en="Not our department's job", zh="非本部门职责"),
    RefusalReason(code="wrong_address", en="Wrong address", zh="地址错误"),
    RefusalReason(code="needs_parts", en="Needs parts first", zh="需先备件"),
    RefusalReason(code="customer_absent", en="Customer not there", zh="客户不在场"),
)


class DeskConfig(_Strict):
    region: str = Field(default="CN", min_length=2, max_length=2)
    # The call center's own area code without the trunk 0 ("10" for Beijing): a caller id
    # sent as a local number (65529988) is also read as 010 6552 9988. None: not read.
    area_code: str | None = Field(default=None, pattern=r"^[1-9]\d{0,3}$")
    open_ticket_window_h: float = Field(default=72, ge=0)  # 0: every call opens a new ticket
    match_ivr_category: bool = True  # open-or-update looks only at tickets of the caller's IVR choice
    ivr_categories: dict[str, str] = Field(default_factory=dict)  # IVR digit/choice -> category
    default_category: str = "general"
    complaint_categories: list[str] = Field(default_factory=lambda: ["complaint"])
    category_departments: dict[str, str] = Field(default_factory=dict)  # category -> department code
    # How a resolve is classified (the resolve form offers these; reports can count them).
    resolution_codes: list[str] = Field(
        default_factory=lambda: ["fixed", "workaround", "no_fault_found", "duplicate", "customer_withdrew"]
    )
    # Refusing a work order (退单) needs one of these codes and a note.
    refusal_reasons: list[RefusalReason] = Field(default_factory=lambda: list(DEFAULT_REFUSAL_REASONS))
    # The n-th refusal of one order sends it to a supervisor's arbitration instead of back to
    # the dispatcher (a refusal of a dispatcher's override always does).
    arbitration_after_refusals: int = Field(default=2, ge=1, le=20)
    # Verified closure: tickets of these categories ("*": all) close only when the follow-up
    # (回访 call, IVR survey, SMS reply) confirms the fix; "not fixed" reopens them to the same
    # department. Categories not listed keep the old rule (an agent may close a resolved ticket).
    confirm_categories: list[str] = Field(default_factory=list)
    follow_up_delay_h: float = Field(default=24, ge=0)
    low_score: int = Field(default=2, ge=1, le=5)  # a score at or below reopens / flags
    close_on_good_follow_up: bool = False
    # A caller who hangs up before any agent answers leaves the ticket their call opened:
    # `cancel` cancels it (as `system`, journalled and audited) if nobody has worked on it,
    # no other call is attached and it is no complaint; `keep` leaves it reported. The call
    # itself stays in the call log and the reports as abandoned either way.
    abandoned_tickets: Literal["cancel", "keep"] = "cancel"
    # Which tickets an agent sees and works: shared | queue | owner (tickets.access says what each means).
    access: DeskAccess = DeskAccess.SHARED
    calendar: CalendarSpec = Field(default_factory=CalendarSpec)
    sla_policies: list[SlaPolicySpec] = Field(default_factory=list)
    notifications: NotificationsSpec = Field(default_factory=NotificationsSpec)

    @field_validator("refusal_reasons")
    @classmethod
    def _distinct_reasons(cls, reasons: list[RefusalReason]) -> list[RefusalReason]:
        codes = [r.code for r in reasons]
        if not codes or len(set(codes)) != len(codes):
            raise ValueError("refusal reasons must be a non-empty list of distinct codes")
        return reasons

    def refusal_reason(self, code: str) -> RefusalReason | None:
        return next((r for r in self.refusal_reasons if r.code == code), None)

    def needs_confirmation(self, category: str) -> bool:
        return "*" in self.confirm_categories or category in self.confirm_categories

    @property
    def open_ticket_window(self) -> timedelta:
        return timedelta(hours=self.open_ticket_window_h)

    @property
    def follow_up_delay(self) -> timedelta:
        return timedelta(hours=self.follow_up_delay_h)


class DeskConfigError(ValueError):
    """The `service_desk` section is invalid; the message names the place."""


def parse_desk_config(raw: Any, origin: str = "service_desk") -> DeskConfig:
    try:
        return DeskConfig.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{origin}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise DeskConfigError(problems) from None


def desk_config(center: CallCenter) -> DeskConfig:
    """The service desk's rules from the call-center file's `service_desk:` section."""
    try:
        return parse_desk_config(center.service_desk, origin="service_desk")
    except DeskConfigError as exc:
        raise CallCenterError(str(exc)) from exc
