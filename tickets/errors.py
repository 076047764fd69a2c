"""Errors raised by the service desk. Each maps to one HTTP status at the API edge.

    DeskError                    base of everything below
    ├── InvalidPhoneNumber       a number cannot be parsed or is not a valid number (422)
    ├── InvalidField             a value the desk's configuration does not know, e.g. a refusal reason (422)
    ├── NotFound                 a customer/ticket/work order/... id does not exist (404)
    ├── InvalidTransition        a lifecycle step is not in the transition table (409)
    ├── TicketConflict           the caller's version is stale: someone else changed it (409)
    ├── RuleViolation            the step is legal but a business rule refuses it (409)
    │   ├── WorkOrdersOpen       resolving while work orders are still open
    │   ├── ConfirmationRequired closing before the customer confirmed the resolve
    │   ├── RefusalNotAllowed    refusing an order an arbitration made final
    │   └── IncidentOpen         dispatching a ticket whose incident is still open
    ├── AlreadyExists            a unique code is taken, e.g. a department's (409)
    └── Forbidden                the actor's role may not do this (403), e.g. closing a complaint

Nothing here carries a database error: lower-level errors are translated at the
service boundary (`raise TicketConflict(...) from exc`).
"""

from __future__ import annotations

import enum


class DeskError(Exception):
    """Base class of the service desk's errors. `error_id` is stable for API clients."""

    error_id = "desk_error"


class InvalidPhoneNumber(DeskError, ValueError):
    error_id = "invalid_phone_number"

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(raw, reason)
        self.raw = raw
        self.reason = reason
        self.field: str | None = None  # set by whoever knows where the number came from

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{where}invalid phone number {self.raw!r}: {self.reason}"


class InvalidField(DeskError, ValueError):
    """A field's value is well-formed but not one the desk knows (its configuration decides)."""

    error_id = "invalid_input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"invalid input: {self.field}: {self.message}"


class NotFound(DeskError, LookupError):
    error_id = "not_found"

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(kind, ident)
        self.kind = kind
        self.ident = ident

    def __str__(self) -> str:
        return f"{self.kind} {self.ident} not found"


class InvalidTransition(DeskError):
    """`attempted` is not reachable from `current` in the transition table."""

    error_id = "invalid_transition"

    def __init__(self, subject: str, current: enum.Enum, attempted: enum.Enum) -> None:
        super().__init__(subject, current, attempted)
        self.subject = subject
        self.current = current
        self.attempted = attempted

    def __str__(self) -> str:
        return f"{self.subject} cannot go from {self.current.value!r} to {self.attempted.value!r}"


class TicketConflict(DeskError):
    """Optimistic concurrency: the row is at `actual` while the caller edited `expected`."""

    error_id = "version_conflict"

    def __init__(self, subject: str, expected: int, actual: int | None) -> None:
        super().__init__(subject, expected, actual)
        self.subject = subject
        self.expected = expected
        self.actual = actual

    def __str__(self) -> str:
        return (
            f"{self.subject} was changed by someone else: you edited version {self.expected}, "
            f"it is now at version {self.actual}; reload and retry"
        )


class RuleViolation(DeskError):
    error_id = "rule_violation"


class WorkOrdersOpen(RuleViolation):
    error_id = "work_orders_open"

    def __init__(self, ticket_id: int, open_ids: list[int]) -> None:
        super().__init__(ticket_id, open_ids)
        self.ticket_id = ticket_id
        self.open_ids = open_ids

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} still has open work orders {self.open_ids}"


class ConfirmationRequired(RuleViolation):
    error_id = "confirmation_required"

    def __init__(self, ticket_id: int) -> None:
        super().__init__(ticket_id)
        self.ticket_id = ticket_id

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} closes only when the customer confirms the fix (follow-up)"


class RefusalNotAllowed(RuleViolation):
    error_id = "refusal_not_allowed"

    def __init__(self, work_order_id: int, why: str) -> None:
        super().__init__(work_order_id, why)
        self.work_order_id = work_order_id
        self.why = why

    def __str__(self) -> str:
        return f"work order {self.work_order_id} cannot be refused: {self.why}"


class IncidentOpen(RuleViolation):
    error_id = "incident_open"

    def __init__(self, ticket_id: int, incident_id: int) -> None:
        super().__init__(ticket_id, incident_id)
        self.ticket_id, self.incident_id = ticket_id, incident_id

    def __str__(self) -> str:
        return (
            f"ticket {self.ticket_id} is part of open incident {self.incident_id}: "
            "the incident is resolved as one, not dispatched per caller"
        )


class MergedTicketsCarried(RuleViolation):
    """Tickets were merged into this one: cancelling it would leave their callers' reports
    pointing at a ticket nobody works on. It is resolved or closed instead."""

    error_id = "merged_tickets_carried"

    def __init__(self, ticket_id: int, merged_ids: list[int]) -> None:
        super().__init__(ticket_id, merged_ids)
        self.ticket_id = ticket_id
        self.merged_ids = merged_ids

    def __str__(self) -> str:
        return (
            f"ticket {self.ticket_id} carries tickets {self.merged_ids} merged into it: "
            "it is resolved or closed, not cancelled"
        )


class AlreadyExists(DeskError):
    error_id = "already_exists"

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(kind, key)
        self.kind, self.key = kind, key

    def __str__(self) -> str:
        return f"a {self.kind} {self.key!r} exists already"


class Forbidden(DeskError, PermissionError):
    error_id = "forbidden"
