"""SLA rules, pure: which policy applies, the deadlines, and what is due at a given instant.

A ticket has up to three deadlines (accept, dispatch, resolve), all measured from
the report time on the policy's calendar and stored in the ticket row. Each
deadline has two checkpoints, `warn` (warn_before ahead) and `breach`. A fired
checkpoint is remembered in `Ticket.sla_fired`, which makes evaluation
idempotent: running it twice for the same instant fires nothing the second time.
A breach is final: `sla_status` stays `breached` whatever happens next.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tickets.calendar import AlwaysOpen, BusinessCalendar, Calendar
from tickets.config import DeskConfig, SlaPolicySpec
from tickets.models import CustomerTier, SlaStatus, TicketPriority, TicketState


class Stage(enum.StrEnum):
    ACCEPT = "accept"
    DISPATCH = "dispatch"
    RESOLVE = "resolve"


class Checkpoint(enum.StrEnum):
    WARN = "warn"
    BREACH = "breach"


# The states in which a stage's deadline still matters.
PENDING_IN: dict[Stage, frozenset[TicketState]] = {
    Stage.ACCEPT: frozenset({TicketState.REPORTED}),
    Stage.DISPATCH: frozenset({TicketState.REPORTED, TicketState.ACCEPTED}),
    Stage.RESOLVE: frozenset(
        {TicketState.REPORTED, TicketState.ACCEPTED, TicketState.DISPATCHED, TicketState.REOPENED}
    ),
}


@dataclass(frozen=True, slots=True)
class Deadlines:
    accept: datetime | None = None
    dispatch: datetime | None = None
    resolve: datetime | None = None

    def get(self, stage: Stage) -> datetime | None:
        value: datetime | None = getattr(self, stage.value)
        return value


@dataclass(frozen=True, slots=True)
class SlaView:
    """The SLA columns of one ticket, as the rules need them."""

    state: TicketState
    deadlines: Deadlines
    fired: frozenset[str]
    warn_before: timedelta
    paused: bool  # waiting, and the policy excludes waiting time


@dataclass(frozen=True, slots=True)
class Fired:
    stage: Stage
    checkpoint: Checkpoint
    due_at: datetime


@dataclass(frozen=True, slots=True)
class SlaOutcome:
    fired_now: tuple[Fired, ...]
    fired: frozenset[str]
    status: SlaStatus
    next_at: datetime | None


class SlaBook:
    """The configured policies and their calendars."""

    def __init__(self, config: DeskConfig) -> None:
        self.policies = list(config.sla_policies)
        self._business = BusinessCalendar(config.calendar)
        self._always = AlwaysOpen()

    def policy(self, name: str | None) -> SlaPolicySpec | None:
        return next((p for p in self.policies if p.name == name), None)

    def calendar(self, policy: SlaPolicySpec) -> Calendar:
        return self._business if policy.business_hours else self._always

    def match(
        self, category: str, priority: TicketPriority, tier: CustomerTier | None
    ) -> SlaPolicySpec | None:
        return match_policy(self.policies, category, priority, tier)

    def deadlines(self, policy: SlaPolicySpec, reported_at: datetime) -> Deadlines:
        cal = self.calendar(policy)

        def due(minutes: float | None) -> datetime | None:
            return None if minutes is None else cal.add(reported_at, timedelta(minutes=minutes))

        return Deadlines(
            accept=due(policy.accept_within_min),
            dispatch=due(policy.dispatch_within_min),
            resolve=due(policy.resolve_within_min),
        )


def match_policy(
    policies: Iterable[SlaPolicySpec], category: str, priority: TicketPriority, tier: CustomerTier | None
) -> SlaPolicySpec | None:
    best: SlaPolicySpec | None = None
    for policy in policies:
        if policy.categories and category not in policy.categories:
            continue
        if policy.priorities and priority not in policy.priorities:
            continue
        if policy.tiers and tier not in policy.tiers:
            continue
        if best is None or policy.specificity() > best.specificity():
            best = policy
    return best


def parse_fired(text: str) -> frozenset[str]:
    return frozenset(part for part in text.split(",") if part)


def format_fired(fired: Iterable[str]) -> str:
    return ",".join(sorted(fired))


def _key(stage: Stage, checkpoint: Checkpoint) -> str:
    return f"{stage.value}:{checkpoint.value}"


def evaluate(view: SlaView, now: datetime) -> SlaOutcome:
    """Fire what is due at `now`; say the status and when to look again."""
    fired = set(view.fired)
    fired_now: list[Fired] = []
    next_times: list[datetime] = []
    for stage in Stage:
        due = view.deadlines.get(stage)
        if due is None or view.state not in PENDING_IN[stage] or view.paused:
            continue
        warn_at = due - view.warn_before
        if _key(stage, Checkpoint.BREACH) not in fired:
            if now >= due:
                fired.update({_key(stage, Checkpoint.BREACH), _key(stage, Checkpoint.WARN)})
                fired_now.append(Fired(stage, Checkpoint.BREACH, due))
                continue
            if _key(stage, Checkpoint.WARN) not in fired and now >= warn_at:
                fired.add(_key(stage, Checkpoint.WARN))
                fired_now.append(Fired(stage, Checkpoint.WARN, due))
            next_times.append(due if _key(stage, Checkpoint.WARN) in fired else warn_at)
    return SlaOutcome(
        fired_now=tuple(fired_now),
        fired=frozenset(fired),
        status=status_of(view.state, view.deadlines, fired),
        next_at=min(next_times, default=None),
    )


def status_of(state: TicketState, deadlines: Deadlines, fired: Iterable[str]) -> SlaStatus:
    fired = set(fired)
    if any(key.endswith(":breach") for key in fired):
        return SlaStatus.BREACHED
    tracked = [stage for stage in Stage if deadlines.get(stage) is not None]
    if not tracked:
        return SlaStatus.NONE
    if any(_key(stage, Checkpoint.WARN) in fired and state in PENDING_IN[stage] for stage in tracked):
        return SlaStatus.WARNING
    return SlaStatus.OK


def shift_for_waiting(
    deadlines: Deadlines, fired: frozenset[str], calendar: Calendar, since: datetime, until: datetime
) -> Deadlines:
    """Deadlines moved later by the open time spent waiting; breached ones stay put."""
    paused = calendar.between(since, until)

    def shift(stage: Stage) -> datetime | None:
        due = deadlines.get(stage)
        if due is None or _key(stage, Checkpoint.BREACH) in fired:
            return due
        return calendar.add(due, paused) if paused else due

    return Deadlines(*(shift(stage) for stage in Stage))


def stages(fired: Sequence[Fired]) -> list[str]:
    return [f"{f.stage.value}:{f.checkpoint.value}" for f in fired]
