"""Merging two tickets of one problem: the survivor carries on, the duplicate is closed as `merged`.

Two callers (or one caller twice, outside the open-ticket window) report the same fault and
two tickets are worked on in parallel. Merging moves, in one transaction, the duplicate's
calls and work orders to the survivor and copies its notes onto the survivor's timeline (the
journal is append-only: the duplicate keeps its own history); the duplicate steps to `merged`
with a pointer to the survivor (`merged_into_id`) and its pending follow-ups are cancelled.

What is refused: merging a ticket into itself, into a ticket that is not open, a closed or
cancelled duplicate (the lifecycle's table), tickets of two different incidents, work orders
(open ones, or a dispatched survivor) joining a child of an open incident, and open work orders
onto a survivor that was not accepted yet (accept it first, or merge the other way). The
survivor joins the duplicate's incident when it has none.
Open orders moved onto an accepted survivor dispatch it (a legal step of its own). Both tickets
are locked in id order and version-checked: a concurrent edit of either is a conflict, not a
silent loss. On the audit log once (`ticket.merge`, with what moved) besides each step.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from tickets.errors import IncidentOpen, NotFound, RuleViolation, TicketConflict
from tickets.events import TicketChanged
from tickets.lifecycle import OPEN_WORK_ORDER_STATES, Actor, TicketFacts, check_merge
from tickets.models import Ticket, TicketCall, TicketEvent, TicketState, WorkOrder, WorkOrderHop
from tickets.schemas import MergeIn, TicketPublic
from tickets.uow import DeskContext, Tx
from tickets.workflow import apply_transition, open_incident_of, to_public, write_ticket

DISPATCH_ON_ORDERS = frozenset({TicketState.ACCEPTED, TicketState.REOPENED})


class TicketMerge:
    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx

    async def merge(self, duplicate_id: int, data: MergeIn, actor: Actor) -> TicketPublic:
        """Merge `duplicate_id` into `data.into`; returns the survivor."""
        if duplicate_id == data.into:
            raise RuleViolation("a ticket cannot be merged into itself")
        async with self._ctx.tx() as tx:
            duplicate, survivor = await _locked(tx, duplicate_id, data.into)
            _check_version(duplicate, data.version)
            _check_version(survivor, data.into_version)
            assert duplicate.id is not None and survivor.id is not None
            orders = list(
                (await tx.session.exec(select(WorkOrder).where(WorkOrder.ticket_id == duplicate.id))).all()
            )
            open_orders = [o.id for o in orders if o.state in OPEN_WORK_ORDER_STATES and o.id is not None]
            check_merge(
                TicketFacts(
                    duplicate.id,
                    duplicate.state,
                    duplicate.is_complaint,
                    tuple(open_orders),
                    duplicate.incident_id,
                ),
                TicketFacts(survivor.id, survivor.state, survivor.is_complaint, (), survivor.incident_id),
                actor,
            )
            incident = await open_incident_of(tx.session, survivor) or await open_incident_of(
                tx.session, duplicate
            )
            if incident is not None and (open_orders or survivor.state is TicketState.DISPATCHED):
                raise IncidentOpen(survivor.id, incident)
            if open_orders and survivor.state is TicketState.REPORTED:
                raise RuleViolation(
                    f"ticket {duplicate.id} has open work orders and ticket {survivor.id} is not accepted: "
                    "accept it first, or merge the other way"
                )
            moved = await self._move(tx, duplicate, survivor, [o.id for o in orders if o.id is not None])
            survivor = await self._carry_on(tx, duplicate, survivor, actor, moved, bool(open_orders))
            await apply_transition(
                tx,
                self._ctx,
                duplicate,
                TicketState.MERGED,
                actor=actor,
                expected=duplicate.version,
                note=data.note or f"merged into ticket {survivor.id}",
                merge_into=survivor.id,
            )
            tx.journal(
                duplicate.id,
                "merge",
                actor,
                f"merged into ticket {survivor.id}",
                into=survivor.id,
                **moved,
            )
            tx.audit(actor, "ticket.merge", f"ticket:{survivor.id}", duplicate_id=duplicate.id, **moved)
        return to_public(survivor)

    async def _move(
        self, tx: Tx, duplicate: Ticket, survivor: Ticket, order_ids: list[int]
    ) -> dict[str, Any]:
        """Calls and work orders change ticket; notes are copied (the journal is append-only)."""
        calls = list(
            (
                await tx.session.exec(select(TicketCall.call_id).where(TicketCall.ticket_id == duplicate.id))
            ).all()
        )
        await tx.session.exec(
            update(TicketCall).where(col(TicketCall.ticket_id) == duplicate.id).values(ticket_id=survivor.id)
        )
        await tx.session.exec(
            update(WorkOrder)
            .where(col(WorkOrder.ticket_id) == duplicate.id)
            .values(ticket_id=survivor.id, version=col(WorkOrder.version) + 1)
        )
        await tx.session.exec(  # the orders' hand-overs go with them (bounce figures, cancel)
            update(WorkOrderHop)
            .where(col(WorkOrderHop.ticket_id) == duplicate.id)
            .values(ticket_id=survivor.id)
        )
        notes = (
            await tx.session.exec(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == duplicate.id, TicketEvent.kind == "note")
                .order_by(col(TicketEvent.at), col(TicketEvent.id))
            )
        ).all()
        assert survivor.id is not None
        for note in notes:
            tx.journal(
                survivor.id,
                "note",
                note.actor,
                note.note,
                at=note.at,
                visibility=note.data.get("visibility", "internal"),
                merged_from=duplicate.id,
            )
        return {"calls": calls, "work_orders": order_ids, "notes": len(notes)}

    async def _carry_on(
        self,
        tx: Tx,
        duplicate: Ticket,
        survivor: Ticket,
        actor: Actor,
        moved: dict[str, Any],
        open_orders: bool,
    ) -> Ticket:
        """The survivor's side: its timeline says what came, it takes the incident, and open
        orders dispatch it (accepted or reopened: a legal step, refused for an open incident's child)."""
        survivor_id = survivor.id
        assert survivor_id is not None and duplicate.id is not None
        values: dict[str, Any] = {}
        if survivor.incident_id is None and duplicate.incident_id is not None:
            values["incident_id"] = duplicate.incident_id
        if duplicate.is_complaint and not survivor.is_complaint:
            values.update(is_complaint=True, flagged=True, flag_reason="complaint")
        before = survivor.state
        survivor = await write_ticket(tx, survivor, survivor.version, values)
        tx.journal(
            survivor_id,
            "merge",
            actor,
            f"ticket {duplicate.id} merged into this one: {len(moved['calls'])} call(s), "
            f"{moved['notes']} note(s), {len(moved['work_orders'])} work order(s)",
            merged_from=duplicate.id,
            **moved,
        )
        tx.publish(TicketChanged(survivor_id, tx.now, actor.id, before, survivor.state, survivor.version))
        if (
            open_orders
            and survivor.state in DISPATCH_ON_ORDERS
            and await open_incident_of(tx.session, survivor) is None
        ):
            survivor = await apply_transition(
                tx,
                self._ctx,
                survivor,
                TicketState.DISPATCHED,
                actor=actor,
                expected=survivor.version,
                note=f"work orders of ticket {duplicate.id}",
            )
        return survivor


async def _locked(tx: Tx, duplicate_id: int, survivor_id: int) -> tuple[Ticket, Ticket]:
    """Both rows, locked in id order (two merges of one pair, crosswise, wait instead of deadlocking)."""
    rows = (
        await tx.session.exec(
            select(Ticket)
            .where(col(Ticket.id).in_([duplicate_id, survivor_id]))
            .order_by(col(Ticket.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()
    found = {r.id: r for r in rows}
    for ident in (duplicate_id, survivor_id):
        if ident not in found:
            raise NotFound("ticket", ident)
    return found[duplicate_id], found[survivor_id]


def _check_version(ticket: Ticket, expected: int) -> None:
    if ticket.version != expected:
        raise TicketConflict(f"ticket {ticket.id}", expected, ticket.version)
