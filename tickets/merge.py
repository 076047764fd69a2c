"""Merging duplicate customers: one survivor keeps the phones, tickets and calls of both.

Duplicates come from the days before the import was an upsert, and from agents who made a new
card for a known caller. Merging moves, in one transaction: the duplicate's phone numbers
(a number the survivor already has is dropped, not doubled), its tickets (and with them their
calls: calls hang off tickets), fills the survivor's empty profile fields and joins the tags;
then the duplicate is deleted. Both customers' versions are checked (someone editing either
gets a conflict, not a silent loss); the merge is on the audit log with what moved, and each
moved ticket's timeline says so.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import col, select

from tickets.errors import NotFound, RuleViolation, TicketConflict
from tickets.lifecycle import Actor
from tickets.models import Customer, CustomerPhone, Ticket, TicketCall
from tickets.uow import DeskContext

FILLED = ("company", "address", "email", "notes")


class CustomerMerge:
    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx

    async def merge(
        self,
        survivor_id: int,
        duplicate_id: int,
        actor: Actor,
        *,
        survivor_version: int,
        duplicate_version: int | None = None,
    ) -> dict[str, Any]:
        """Move everything of `duplicate_id` to `survivor_id`; returns what moved."""
        if survivor_id == duplicate_id:
            raise RuleViolation("a customer cannot be merged into itself")
        async with self._ctx.tx() as tx:
            # Locked, in id order, as a ticket written for either customer locks it: a ticket made
            # for the duplicate meanwhile is moved with the others instead of failing the delete
            # on its foreign key (seen by the API fuzz on PostgreSQL).
            first, second = sorted((survivor_id, duplicate_id))
            locked = {
                i: await tx.session.get(Customer, i, populate_existing=True, with_for_update=True)
                for i in (first, second)
            }
            survivor, duplicate = locked[survivor_id], locked[duplicate_id]
            if survivor is None:
                raise NotFound("customer", survivor_id)
            if duplicate is None:
                raise NotFound("customer", duplicate_id)
            if survivor.version != survivor_version:
                raise TicketConflict(f"customer {survivor_id}", survivor_version, survivor.version)
            if duplicate_version is not None and duplicate.version != duplicate_version:
                raise TicketConflict(f"customer {duplicate_id}", duplicate_version, duplicate.version)
            kept = set(
                (
                    await tx.session.exec(
                        select(CustomerPhone.e164).where(CustomerPhone.customer_id == survivor_id)
                    )
                ).all()
            )
            phones = (
                await tx.session.exec(select(CustomerPhone).where(CustomerPhone.customer_id == duplicate_id))
            ).all()
            moved_phones = [p.e164 for p in phones if p.e164 not in kept]
            await tx.session.exec(
                update(CustomerPhone)
                .where(
                    col(CustomerPhone.customer_id) == duplicate_id, col(CustomerPhone.e164).in_(moved_phones)
                )
                .values(customer_id=survivor_id)
            )
            tickets = list(
                (await tx.session.exec(select(Ticket.id).where(Ticket.customer_id == duplicate_id))).all()
            )
            calls = (
                await tx.session.exec(
                    select(func.count()).select_from(TicketCall).where(col(TicketCall.ticket_id).in_(tickets))
                )
            ).one()
            await tx.session.exec(
                update(Ticket).where(col(Ticket.customer_id) == duplicate_id).values(customer_id=survivor_id)
            )
            values: dict[str, Any] = {
                f: getattr(duplicate, f) for f in FILLED if not getattr(survivor, f) and getattr(duplicate, f)
            }
            tags = list(dict.fromkeys([*survivor.tags, *duplicate.tags]))
            await tx.session.exec(
                update(Customer)
                .where(col(Customer.id) == survivor_id, col(Customer.version) == survivor_version)
                .values(**values, tags=tags, version=survivor_version + 1, updated_at=tx.now)
            )
            await tx.session.exec(delete(CustomerPhone).where(col(CustomerPhone.customer_id) == duplicate_id))
            await tx.session.exec(delete(Customer).where(col(Customer.id) == duplicate_id))
            for ticket_id in tickets:
                if ticket_id is not None:
                    tx.journal(
                        ticket_id,
                        "customer_merged",
                        actor,
                        f"customer {duplicate_id} merged into {survivor_id}",
                        from_customer_id=duplicate_id,
                        customer_id=survivor_id,
                    )
            moved = {
                "duplicate_id": duplicate_id,
                "duplicate_name": duplicate.name,
                "phones": moved_phones,
                "dropped_phones": sorted({p.e164 for p in phones} - set(moved_phones)),
                "tickets": [t for t in tickets if t is not None],
                "calls": int(calls),
                "fields": sorted(values),
            }
            tx.audit(actor, "customer.merge", f"customer:{survivor_id}", **moved)
        return moved
