"""Ticket writes: open, edit, transition, wait, note, flag — each under a version check.

Every write to a ticket row is a compare-and-set: `UPDATE … WHERE id = ? AND
version = ?` bumping the version. Zero rows updated means someone else moved the
ticket first: TicketConflict with both versions, nothing written. Each write
also appends to the ticket's journal (the timeline) and the audit log, in the
same transaction.

The SLA columns are recomputed on every state change: checkpoints due under
the *old* state fire first (a late accept still records the accept breach), then
the next deadline is taken from the new state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Session
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tickets import sla
from tickets.access import check_reassign
from tickets.categories import CategoryRule, rule_for, rule_for_sync
from tickets.errors import NotFound, RuleViolation, TicketConflict
from tickets.events import SlaBreached, SlaWarned, TicketChanged, TicketFlagged, TicketOpened
from tickets.hops import open_hop
from tickets.lifecycle import OPEN_WORK_ORDER_STATES, SYSTEM, Actor, TicketFacts, check_ticket_transition
from tickets.models import (
    OPEN_TICKET_STATES,
    Customer,
    CustomerTier,
    Department,
    FollowUp,
    FollowUpState,
    HopKind,
    HopOutcome,
    Incident,
    IncidentState,
    SlaStatus,
    Technician,
    Ticket,
    TicketPriority,
    TicketState,
    WorkOrder,
    WorkOrderHop,
    WorkOrderState,
)
from tickets.phones import normalize
from tickets.public_rows import PUBLIC_COLUMNS, to_json
from tickets.schemas import TicketCreate, TicketPublic, TicketUpdate
from tickets.uow import DeskContext, Recorder, Tx


async def load_ticket(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None:
        raise NotFound("ticket", ticket_id)
    return ticket


async def write_ticket(tx: Tx, ticket: Ticket, expected: int, values: dict[str, Any]) -> Ticket:
    """Compare-and-set on the version; returns the reloaded row."""
    assert ticket.id is not None
    if ticket.version != expected:
        raise TicketConflict(f"ticket {ticket.id}", expected, ticket.version)
    result = await tx.session.exec(
        update(Ticket)
        .where(col(Ticket.id) == ticket.id, col(Ticket.version) == expected)
        .values(**values, version=expected + 1, updated_at=tx.now)
    )
    if result.rowcount != 1:
        actual = (await tx.session.exec(select(Ticket.version).where(Ticket.id == ticket.id))).first()
        raise TicketConflict(f"ticket {ticket.id}", expected, actual)
    return await load_ticket(tx.session, ticket.id)


def to_public(ticket: Ticket) -> TicketPublic:
    return TicketPublic.model_validate(ticket, from_attributes=True)


# ---------------------------------------------------------------- SLA columns


def sla_view(ctx: DeskContext, ticket: Ticket, state: TicketState) -> sla.SlaView:
    policy = ctx.sla.policy(ticket.sla_policy)
    warn = timedelta(minutes=policy.warn_before_min) if policy else timedelta(0)
    return sla.SlaView(
        state=state,
        deadlines=sla.Deadlines(ticket.accept_due_at, ticket.dispatch_due_at, ticket.resolve_due_at),
        fired=sla.parse_fired(ticket.sla_fired),
        warn_before=warn,
        paused=ticket.waiting_since is not None and (policy is None or policy.exclude_waiting),
    )


def sla_step(tx: Tx, ctx: DeskContext, ticket: Ticket, new_state: TicketState) -> dict[str, Any]:
    """Fire what is due under the current state, then plan for `new_state`. Journals the firings."""
    before = sla.evaluate(sla_view(ctx, ticket, ticket.state), tx.now)
    view = sla_view(ctx, ticket, new_state)
    after = sla.evaluate(
        sla.SlaView(new_state, view.deadlines, before.fired, view.warn_before, view.paused), tx.now
    )
    return {
        **record_firings(tx, ticket, before.fired_now + after.fired_now),
        "sla_fired": sla.format_fired(after.fired),
        "sla_status": after.status if ticket.sla_policy else SlaStatus.NONE,
        "sla_next_at": after.next_at,
    }


def record_firings(tx: Recorder, ticket: Ticket, fired: tuple[sla.Fired, ...]) -> dict[str, Any]:
    """Journal, audit and announce each firing. A breach escalates: the ticket is flagged for
    supervisors (returned as column values), so it stays visible without a live listener."""
    assert ticket.id is not None
    values: dict[str, Any] = {}
    for item in fired:
        kind = "sla_breach" if item.checkpoint is sla.Checkpoint.BREACH else "sla_warning"
        tx.journal(
            ticket.id,
            kind,
            "system",
            f"{item.stage.value} due {item.due_at.isoformat()}",
            stage=item.stage.value,
            due_at=item.due_at.isoformat(),
        )
        if item.checkpoint is sla.Checkpoint.WARN:
            tx.publish(SlaWarned(ticket.id, item.stage.value, item.due_at, tx.now))
            continue
        tx.audit(SYSTEM, "ticket.sla_breach", f"ticket:{ticket.id}", stage=item.stage.value)
        tx.publish(SlaBreached(ticket.id, item.stage.value, item.due_at, tx.now))
        if not ticket.flagged and not values:
            values = {"flagged": True, "flag_reason": f"SLA breach: {item.stage.value}"}
    return values


async def plan_sla(
    session: AsyncSession,
    ctx: DeskContext,
    ticket: Ticket,
    category: str,
    priority: TicketPriority,
    customer_id: int | None,
) -> dict[str, Any]:
    """Policy and deadlines for the ticket's (new) category/priority/customer, from its report time."""
    return await session.run_sync(plan_sla_sync, ctx, ticket, category, priority, customer_id)


def plan_sla_sync(
    session: Session,
    ctx: DeskContext,
    ticket: Ticket,
    category: str,
    priority: TicketPriority,
    customer_id: int | None,
) -> dict[str, Any]:
    """`plan_sla` on a synchronous session."""
    tier: CustomerTier | None = None
    if customer_id is not None:
        customer = session.get(Customer, customer_id)
        tier = customer.tier if customer else None
    return sla_plan(ctx, ticket, category, priority, rule_for_sync(session, category), tier)


def sla_plan(
    ctx: DeskContext,
    ticket: Ticket,
    category: str,
    priority: TicketPriority,
    rule: CategoryRule | None,
    tier: CustomerTier | None,
) -> dict[str, Any]:
    """The plan from what `plan_sla` reads: the category's rule and the customer's tier."""
    chosen = ctx.sla.policy(rule.sla_policy) if rule is not None and rule.sla_policy else None
    policy = chosen or ctx.sla.match(category, priority, tier)
    if policy is None:
        return {"sla_policy": None, "accept_due_at": None, "dispatch_due_at": None, "resolve_due_at": None}
    due = ctx.sla.deadlines(policy, ticket.created_at)
    return {
        "sla_policy": policy.name,
        "accept_due_at": due.accept,
        "dispatch_due_at": due.dispatch,
        "resolve_due_at": due.resolve,
    }


def _with(ticket: Ticket, values: dict[str, Any]) -> Ticket:
    return ticket.model_copy(update=values)


# ---------------------------------------------------------------- complaints and departments


async def routing_for_category(session: AsyncSession, ctx: DeskContext, category: str) -> dict[str, Any]:
    """Complaint flag and responsible department for a category."""
    return await session.run_sync(routing_for_category_sync, ctx, category)


def routing_for_category_sync(session: Session, ctx: DeskContext, category: str) -> dict[str, Any]:
    rule = rule_for_sync(session, category)
    code = ctx.config.category_departments.get(category)
    department_id = None
    if (rule is None or rule.department_id is None) and code is not None:
        department_id = session.execute(_DEPARTMENT, {"code": code}).scalars().first()
    return category_routing(ctx, category, rule, department_id)


def category_routing(
    ctx: DeskContext, category: str, rule: CategoryRule | None, coded_department: int | None
) -> dict[str, Any]:
    """Complaint flag and department from the category's rule, else the department the
    call-center file names for it (`coded_department`, read only when the rule has none)."""
    department_id = rule.department_id if rule is not None else None
    if department_id is None:
        department_id = coded_department
    complaint = category in ctx.config.complaint_categories
    values: dict[str, Any] = {"is_complaint": complaint}
    if department_id is not None:
        values["department_id"] = department_id
    if complaint:
        values.update(flagged=True, flag_reason="complaint")
    return values


_DEPARTMENT = sa_select(col(Department.id)).where(col(Department.code) == bindparam("code"))


# ---------------------------------------------------------------- opening


async def open_ticket(
    tx: Tx,
    ctx: DeskContext,
    *,
    actor: Actor,
    fields: dict[str, Any],
    reported_at: datetime | None = None,
    call_id: str | None = None,
) -> Ticket:
    """Insert a ticket in `reported` with its SLA plan, journal, audit and event."""
    at = reported_at or tx.now
    ticket = await tx.session.run_sync(new_ticket, ctx, fields, at)
    fired = sla_on_insert(ctx, ticket, tx.now)
    tx.session.add(ticket)
    await tx.session.flush()
    record_opened(tx, ticket, fired, actor=actor, at=at, call_id=call_id)
    return ticket


def new_ticket(session: Session, ctx: DeskContext, fields: dict[str, Any], at: datetime) -> Ticket:
    """A ticket in `reported` with its department, complaint flag and SLA plan, not inserted.

    Only reads (the category's rule, the customer's tier), inside `open_ticket`'s transaction."""
    ticket = reported_ticket(fields, at)
    for key, value in routing_for_category_sync(session, ctx, ticket.category).items():
        setattr(ticket, key, value)
    plan = plan_sla_sync(session, ctx, ticket, ticket.category, ticket.priority, ticket.customer_id)
    for key, value in plan.items():
        setattr(ticket, key, value)
    return ticket


def reported_ticket(fields: dict[str, Any], at: datetime) -> Ticket:
    ticket = Ticket.model_validate({**fields, "created_at": at, "updated_at": at})
    ticket.state = TicketState.REPORTED
    return ticket


def sla_on_insert(ctx: DeskContext, ticket: Ticket, now: datetime) -> tuple[sla.Fired, ...]:
    """The SLA state a new ticket is inserted with (no UPDATE after it); what fired already."""
    outcome = sla.evaluate(sla_view(ctx, ticket, ticket.state), now)
    ticket.sla_fired = sla.format_fired(outcome.fired)
    ticket.sla_status = outcome.status if ticket.sla_policy else SlaStatus.NONE
    ticket.sla_next_at = outcome.next_at
    return outcome.fired_now


def record_opened(
    tx: Recorder,
    ticket: Ticket,
    fired: tuple[sla.Fired, ...],
    *,
    actor: Actor,
    at: datetime,
    call_id: str | None,
) -> dict[str, Any]:
    """Journal, audit and announce a ticket just inserted (it has its id). Returns the flag
    columns a breach at insert time set on `ticket` (the caller writes them)."""
    assert ticket.id is not None
    flags = record_firings(tx, ticket, fired)
    for key, value in flags.items():
        setattr(ticket, key, value)
    tx.journal(
        ticket.id,
        "created",
        actor,
        ticket.subject,
        to_state=TicketState.REPORTED,
        at=at,
        category=ticket.category,
        call_id=call_id,
        sla_policy=ticket.sla_policy,
    )
    tx.audit(
        actor,
        "ticket.create",
        f"ticket:{ticket.id}",
        category=ticket.category,
        customer_id=ticket.customer_id,
        call_id=call_id,
    )
    tx.publish(TicketOpened(ticket.id, at, call_id, ticket.customer_id, ticket.category))
    if ticket.is_complaint:
        tx.publish(TicketFlagged(ticket.id, "complaint", tx.now))
    return flags


# ---------------------------------------------------------------- transitions


async def open_work_order_ids(session: AsyncSession, ticket_id: int) -> tuple[int, ...]:
    rows = await session.exec(
        select(WorkOrder.id).where(
            WorkOrder.ticket_id == ticket_id, col(WorkOrder.state).in_(OPEN_WORK_ORDER_STATES)
        )
    )
    return tuple(i for i in rows.all() if i is not None)


async def merged_from(session: AsyncSession, ticket_id: int) -> tuple[int, ...]:
    """The tickets merged into this one (indexed: `ticket.merged_into_id`)."""
    rows = await session.exec(select(Ticket.id).where(Ticket.merged_into_id == ticket_id))
    return tuple(i for i in rows.all() if i is not None)


async def open_incident_of(session: AsyncSession, ticket: Ticket) -> int | None:
    """The ticket's incident while it is open (its children are not dispatched on their own)."""
    if ticket.incident_id is None:
        return None
    state = (await session.exec(select(Incident.state).where(Incident.id == ticket.incident_id))).first()
    return ticket.incident_id if state is IncidentState.OPEN else None


async def is_confirmed(session: AsyncSession, ctx: DeskContext, ticket: Ticket) -> bool:
    """Whether the customer confirmed the current resolve: a follow-up recorded since it said
    "fixed", or (IVR survey, SMS reply: no yes/no question) gave a score above `low_score`."""
    if ticket.resolved_at is None or ticket.id is None:
        return False
    rows = await session.exec(
        select(FollowUp.fixed, FollowUp.score).where(
            FollowUp.ticket_id == ticket.id,
            FollowUp.state == FollowUpState.DONE,
            col(FollowUp.recorded_at) >= ticket.resolved_at,
        )
    )
    return any(confirms(fixed, score, ctx.config.low_score) for fixed, score in rows.all())


def confirms(fixed: bool | None, score: int | None, low_score: int) -> bool:
    if fixed is not None:
        return fixed
    return score is not None and score > low_score


async def ticket_facts(session: AsyncSession, ctx: DeskContext, ticket: Ticket) -> TicketFacts:
    """What the lifecycle's guards need about this ticket, read in one place."""
    assert ticket.id is not None
    needs = ctx.config.needs_confirmation(ticket.category)
    return TicketFacts(
        ticket.id,
        ticket.state,
        ticket.is_complaint,
        await open_work_order_ids(session, ticket.id),
        await open_incident_of(session, ticket),
        needs_confirmation=needs,
        confirmed=needs and ticket.state is TicketState.RESOLVED and await is_confirmed(session, ctx, ticket),
        merged_from=await merged_from(session, ticket.id),
    )


async def apply_transition(
    tx: Tx,
    ctx: DeskContext,
    ticket: Ticket,
    target: TicketState,
    *,
    actor: Actor,
    expected: int,
    note: str = "",
    values: dict[str, Any] | None = None,
    merge_into: int | None = None,
) -> Ticket:
    """Check the table and guards, write under the version, journal, audit, follow-up.

    `merge_into`: the survivor, for the one step to `merged` (tickets.ticket_merge)."""
    assert ticket.id is not None
    if ticket.version != expected:
        raise TicketConflict(f"ticket {ticket.id}", expected, ticket.version)
    facts = await ticket_facts(tx.session, ctx, ticket)
    target = check_ticket_transition(facts, target, actor, merge_into=merge_into)
    changes: dict[str, Any] = {"state": target, **(values or {})}
    if target is TicketState.RESOLVED:
        changes["resolved_at"] = tx.now
    if target in (TicketState.CLOSED, TicketState.MERGED):
        changes["closed_at"] = tx.now
    if target is TicketState.MERGED:
        changes["merged_into_id"] = merge_into
    if target is TicketState.REOPENED:
        changes["resolution_code"] = ""
    if target is TicketState.ACCEPTED and ticket.owner_agent_id is None and actor.role == "agent":
        changes["owner_agent_id"] = actor.id
    changes.update(sla_step(tx, ctx, ticket, target))
    before, ticket_id = ticket.state, ticket.id
    ticket = await write_ticket(tx, ticket, expected, changes)
    tx.journal(ticket_id, "transition", actor, note, from_state=before, to_state=target)
    tx.audit(
        actor,
        f"ticket.{target.value}",
        f"ticket:{ticket.id}",
        from_state=before.value,
        to_state=target.value,
        version=ticket.version,
        note=note,
    )
    tx.publish(TicketChanged(ticket_id, tx.now, actor.id, before, target, ticket.version))
    await _after_transition(tx, ctx, ticket, target, actor)
    if target is TicketState.ACCEPTED:
        ticket = await _auto_dispatch(tx, ctx, ticket)
    return ticket


async def _auto_dispatch(tx: Tx, ctx: DeskContext, ticket: Ticket) -> Ticket:
    """The category's rule may dispatch an accepted ticket at once (as `system`)."""
    ticket_id = ticket.id
    assert ticket_id is not None
    rule = await rule_for(tx.session, ticket.category)
    if rule is None or not rule.auto_dispatch or await open_incident_of(tx.session, ticket) is not None:
        return ticket  # (a child of an open incident: the incident is the one job, no work order)
    department_id = rule.department_id
    if department_id is None and rule.technician_id is not None:
        tech = await tx.session.get(Technician, rule.technician_id)
        department_id = tech.department_id if tech else None
    ticket = await apply_transition(
        tx,
        ctx,
        ticket,
        TicketState.DISPATCHED,
        actor=SYSTEM,
        expected=ticket.version,
        note=f"auto-dispatch: category {ticket.category}",
    )
    order = WorkOrder(
        ticket_id=ticket_id,
        department_id=department_id,
        technician_id=rule.technician_id,
        created_by=SYSTEM.id,
        created_at=tx.now,
    )
    tx.session.add(order)
    await tx.session.flush()
    open_hop(tx, order, HopKind.DISPATCH, SYSTEM)
    tx.journal(
        ticket_id,
        "work_order",
        SYSTEM,
        f"work order {order.id} by the category's rule",
        work_order_id=order.id,
        department_id=department_id,
        technician_id=rule.technician_id,
    )
    tx.audit(SYSTEM, "work_order.create", f"ticket:{ticket_id}", work_order_id=order.id, rule=ticket.category)
    if ctx.notices is not None:
        await ctx.notices.on_dispatched(tx, ticket, order)
    return ticket


async def _after_transition(
    tx: Tx, ctx: DeskContext, ticket: Ticket, target: TicketState, actor: Actor
) -> None:
    assert ticket.id is not None
    if target is TicketState.RESOLVED:
        follow = FollowUp(ticket_id=ticket.id, due_at=tx.now + ctx.config.follow_up_delay, created_at=tx.now)
        tx.session.add(follow)
        tx.journal(ticket.id, "follow_up_scheduled", "system", f"due {follow.due_at.isoformat()}")
        if ctx.notices is not None:
            await ctx.notices.on_resolved(tx, ticket)
    if target in (TicketState.REOPENED, TicketState.CANCELLED, TicketState.MERGED):
        await tx.session.exec(
            update(FollowUp)
            .where(col(FollowUp.ticket_id) == ticket.id, col(FollowUp.state) == FollowUpState.PENDING)
            .values(state=FollowUpState.CANCELLED)
        )
    if target is TicketState.CANCELLED:
        result = await tx.session.exec(
            update(WorkOrder)
            .where(col(WorkOrder.ticket_id) == ticket.id, col(WorkOrder.state).in_(OPEN_WORK_ORDER_STATES))
            .values(state=WorkOrderState.CANCELLED, version=col(WorkOrder.version) + 1)
        )
        if result.rowcount:
            tx.journal(ticket.id, "work_order", actor, f"{result.rowcount} open work order(s) cancelled")
            await tx.session.exec(
                update(WorkOrderHop)
                .where(col(WorkOrderHop.ticket_id) == ticket.id, col(WorkOrderHop.outcome) == HopOutcome.OPEN)
                .values(outcome=HopOutcome.CANCELLED, ended_at=tx.now, ended_by=actor.id)
            )


_TICKETS = Ticket.__table__  # type: ignore[attr-defined]
# Core, not the ORM: no identity map or instance state for a read that only serialises the row
# (half the cost; the column types still convert, e.g. UTC datetimes and enums). On SQLite
# `Reads.first` runs it on the plain sqlite3 connection (compiled once): no Session at all.
_BY_ID = sa_select(_TICKETS).where(_TICKETS.c.id == bindparam("id"))
_PUBLIC_BY_ID = sa_select(*PUBLIC_COLUMNS).where(_TICKETS.c.id == bindparam("id"))


class TicketWorkflow:
    """Tickets for the API: create, read, edit, move along the lifecycle."""

    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx

    async def create(self, data: TicketCreate, actor: Actor) -> TicketPublic:
        fields = data.model_dump(exclude={"caller"})
        check_reassign(actor.id, actor.role, None, data.owner_agent_id)
        if data.caller:
            fields["caller_e164"] = normalize(data.caller, self._ctx.config.region).e164
        async with self._ctx.tx() as tx:
            # Locked until the ticket is written: a merge deleting this customer meanwhile would
            # otherwise turn a checked id into a foreign-key failure (seen by the fuzz test on PG).
            if (
                data.customer_id is not None
                and await tx.session.get(Customer, data.customer_id, with_for_update=True) is None
            ):
                raise NotFound("customer", data.customer_id)
            ticket = await open_ticket(tx, self._ctx, actor=actor, fields=fields)
        return to_public(ticket)

    async def facts(self, ticket_id: int) -> TicketFacts:
        """What the lifecycle's guards see now (the ticket page offers the steps they allow)."""
        async with self._ctx.sessions() as session:
            ticket = await load_ticket(session, ticket_id)
            return await ticket_facts(session, self._ctx, ticket)

    async def get(self, ticket_id: int) -> TicketPublic:
        row = await self._ctx.reads.first(_BY_ID, {"id": ticket_id})
        if row is None:
            raise NotFound("ticket", ticket_id)
        return TicketPublic.model_validate(row)

    async def get_json(self, ticket_id: int) -> bytes:
        """`get` as the JSON of its `TicketPublic`, written from the row (`tickets.public_rows`)."""
        row = await self._ctx.reads.first(_PUBLIC_BY_ID, {"id": ticket_id})
        if row is None:
            raise NotFound("ticket", ticket_id)
        return to_json(row)

    async def update(self, ticket_id: int, data: TicketUpdate, actor: Actor) -> TicketPublic:
        changes = data.model_dump(exclude_unset=True, exclude={"version"})
        async with self._ctx.tx() as tx:
            ticket = await load_ticket(tx.session, ticket_id)
            if "owner_agent_id" in changes:
                check_reassign(actor.id, actor.role, ticket.owner_agent_id, changes["owner_agent_id"])
            # Locked until the ticket is written: a merge deleting this customer meanwhile would
            # otherwise turn a checked id into a foreign-key failure (seen by the fuzz test on PG).
            if (
                data.customer_id is not None
                and await tx.session.get(Customer, data.customer_id, with_for_update=True) is None
            ):
                raise NotFound("customer", data.customer_id)
            values = dict(changes)
            if {"category", "priority", "customer_id"} & changes.keys():
                merged = _with(ticket, changes)
                if merged.category != ticket.category:
                    values.update(await routing_for_category(tx.session, self._ctx, merged.category))
                values.update(
                    await plan_sla(
                        tx.session, self._ctx, ticket, merged.category, merged.priority, merged.customer_id
                    )
                )
                values.update(sla_step(tx, self._ctx, _with(ticket, values), ticket.state))
            ticket = await write_ticket(tx, ticket, data.version, values)
            tx.journal(ticket_id, "edit", actor, "", fields=sorted(changes))
            tx.audit(
                actor, "ticket.update", f"ticket:{ticket_id}", fields=sorted(changes), version=ticket.version
            )
            tx.publish(TicketChanged(ticket_id, tx.now, actor.id, ticket.state, ticket.state, ticket.version))
            if values.get("flag_reason") == "complaint":
                tx.publish(TicketFlagged(ticket_id, "complaint", tx.now))
        return to_public(ticket)

    async def transition(
        self, ticket_id: int, target: TicketState, *, version: int, actor: Actor, note: str = ""
    ) -> TicketPublic:
        async with self._ctx.tx() as tx:
            ticket = await load_ticket(tx.session, ticket_id)
            ticket = await apply_transition(
                tx, self._ctx, ticket, target, actor=actor, expected=version, note=note
            )
        return to_public(ticket)

    async def accept(self, ticket_id: int, *, version: int, actor: Actor, note: str = "") -> TicketPublic:
        return await self.transition(ticket_id, TicketState.ACCEPTED, version=version, actor=actor, note=note)

    async def resolve(
        self, ticket_id: int, *, version: int, actor: Actor, note: str = "", resolution_code: str = ""
    ) -> TicketPublic:
        """Resolve, classified by one of the desk's `resolution_codes` (empty: unclassified)."""
        if resolution_code and resolution_code not in self._ctx.config.resolution_codes:
            raise RuleViolation(f"unknown resolution code {resolution_code!r}")
        async with self._ctx.tx() as tx:
            ticket = await load_ticket(tx.session, ticket_id)
            ticket = await apply_transition(
                tx,
                self._ctx,
                ticket,
                TicketState.RESOLVED,
                actor=actor,
                expected=version,
                note=note,
                values={"resolution_code": resolution_code},
            )
        return to_public(ticket)

    async def close(self, ticket_id: int, *, version: int, actor: Actor, note: str = "") -> TicketPublic:
        return await self.transition(ticket_id, TicketState.CLOSED, version=version, actor=actor, note=note)

    async def reopen(self, ticket_id: int, *, version: int, actor: Actor, note: str = "") -> TicketPublic:
        return await self.transition(ticket_id, TicketState.REOPENED, version=version, actor=actor, note=note)

    async def mark_complaint(
        self, ticket_id: int, reason: str, *, version: int, actor: Actor
    ) -> TicketPublic:
        """Flag an open ticket as a complaint: supervisors see it, and only they may close it."""
        async with self._ctx.tx() as tx:
            ticket = await load_ticket(tx.session, ticket_id)
            if ticket.state not in OPEN_TICKET_STATES:
                raise RuleViolation(f"ticket {ticket_id} is {ticket.state.value}: only an open ticket")
            ticket = await write_ticket(
                tx, ticket, version, {"is_complaint": True, "flagged": True, "flag_reason": "complaint"}
            )
            tx.journal(ticket_id, "complaint", actor, reason)
            tx.audit(actor, "ticket.complaint", f"ticket:{ticket_id}", reason=reason, version=ticket.version)
            tx.publish(TicketFlagged(ticket_id, "complaint", tx.now))
            tx.publish(TicketChanged(ticket_id, tx.now, actor.id, ticket.state, ticket.state, ticket.version))
        return to_public(ticket)

    async def cancel(self, ticket_id: int, *, version: int, actor: Actor, note: str = "") -> TicketPublic:
        return await self.transition(
            ticket_id, TicketState.CANCELLED, version=version, actor=actor, note=note
        )

    async def set_waiting(
        self, ticket_id: int, waiting: bool, *, version: int, actor: Actor, reason: str = ""
    ) -> TicketPublic:
        """Start or end waiting on the customer; ending it shifts the SLA deadlines if the policy says so."""
        async with self._ctx.tx() as tx:
            ticket = await load_ticket(tx.session, ticket_id)
            values: dict[str, Any]
            if waiting == (ticket.waiting_since is not None):
                return to_public(ticket)
            if waiting:
                values = {"waiting_since": tx.now, "waiting_reason": reason}
                values.update(sla_step(tx, self._ctx, _with(ticket, values), ticket.state))
            else:
                values = {"waiting_since": None, "waiting_reason": ""}
                values.update(self._shifted(ticket, tx.now))
                values.update(sla_step(tx, self._ctx, _with(ticket, values), ticket.state))
            ticket = await write_ticket(tx, ticket, version, values)
            kind = "waiting_started" if waiting else "waiting_ended"
            tx.journal(ticket_id, kind, actor, reason)
            tx.audit(actor, f"ticket.{kind}", f"ticket:{ticket_id}", reason=reason, version=ticket.version)
            tx.publish(TicketChanged(ticket_id, tx.now, actor.id, ticket.state, ticket.state, ticket.version))
        return to_public(ticket)

    def _shifted(self, ticket: Ticket, now: datetime) -> dict[str, Any]:
        policy = self._ctx.sla.policy(ticket.sla_policy)
        if policy is None or not policy.exclude_waiting or ticket.waiting_since is None:
            return {}
        moved = sla.shift_for_waiting(
            sla.Deadlines(ticket.accept_due_at, ticket.dispatch_due_at, ticket.resolve_due_at),
            sla.parse_fired(ticket.sla_fired),
            self._ctx.sla.calendar(policy),
            ticket.waiting_since,
            now,
        )
        return {
            "accept_due_at": moved.accept,
            "dispatch_due_at": moved.dispatch,
            "resolve_due_at": moved.resolve,
        }

    async def add_note(
        self, ticket_id: int, text: str, actor: Actor, *, visibility: str = "internal"
    ) -> None:
        """Notes do not change the ticket, so they need no version (two agents may both note).

        `visibility`: `internal` (staff only) or `customer` (may be shown or sent to the customer)."""
        async with self._ctx.tx() as tx:
            await load_ticket(tx.session, ticket_id)
            tx.journal(ticket_id, "note", actor, text, visibility=visibility)
            tx.audit(actor, "ticket.note", f"ticket:{ticket_id}", length=len(text), visibility=visibility)

    async def flag(self, ticket_id: int, reason: str, *, version: int, actor: Actor) -> TicketPublic:
        async with self._ctx.tx() as tx:
            ticket = await load_ticket(tx.session, ticket_id)
            ticket = await write_ticket(tx, ticket, version, {"flagged": bool(reason), "flag_reason": reason})
            tx.journal(ticket_id, "flag" if reason else "unflag", actor, reason)
            tx.audit(
                actor, "ticket.flag" if reason else "ticket.unflag", f"ticket:{ticket_id}", reason=reason
            )
            if reason:
                tx.publish(TicketFlagged(ticket_id, reason, tx.now))
        return to_public(ticket)
