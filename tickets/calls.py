"""Calls meet the service desk: match the caller, open or update a ticket, follow the call.

`on_call_offered` is idempotent per `call_id`: the `ticket_call` row (primary key
call_id) is written in the same transaction as the ticket it opens, so a
re-delivered OFFERED finds it and returns the same context; two workers racing
on one call collide on the primary key and the loser reads the winner's result.

Open or update: the caller's newest open ticket (of the IVR category, when one
was chosen and `match_ivr_category` is on) created within `open_ticket_window_h`
gets the call; otherwise a new ticket is opened in `reported`. The agent can
override from the pop (`attach_call`, `choose_customer`, `new_customer_from_call`).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from routing.events import CallEvent, CallEventKind, Event
from tickets import offer_reads
from tickets.customers import (
    RECENT_TICKETS,
    add_customer,
    caller_customer_ids,
    cards_sync,
    language_tag,
    phone_rows,
)
from tickets.errors import NotFound, RuleViolation, TicketConflict
from tickets.events import CallAttached, DeskEvent
from tickets.incidents import notice_of, open_child_ticket, open_incident_for
from tickets.lifecycle import Actor
from tickets.models import (
    OPEN_TICKET_STATES,
    TIER_RANK,
    Customer,
    CustomerTier,
    Incident,
    IncidentState,
    Ticket,
    TicketCall,
    TicketEvent,
    TicketState,
)
from tickets.phones import lookup_variants
from tickets.schemas import CallContext, CustomerCard, CustomerCreate, IncidentNote, PhoneIn, TicketSummary
from tickets.uow import DeskContext, Pending, Tx, audit_entries
from tickets.workflow import (
    apply_transition,
    category_routing,
    load_ticket,
    new_ticket,
    open_ticket,
    plan_sla,
    record_opened,
    reported_ticket,
    sla_on_insert,
    sla_plan,
    sla_step,
    write_ticket,
)

IVR = Actor("ivr", "system")
SYSTEM = Actor("system", "system")
SUBJECT_NAME_MAX = 80  # of the caller's name in a default subject (subjects hold 300)


class CallDesk:
    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx

    # ------------------------------------------------------------------ offered

    async def on_call_offered(self, event: CallEvent) -> CallContext:
        for _attempt in range(3):
            try:
                return await self._offer_once(event)
            except IntegrityError:  # another worker attached this call first: read its result
                continue
        raise RuleViolation(f"call {event.call_id} could not be attached (kept colliding)")

    async def _offer_once(self, event: CallEvent) -> CallContext:
        """Reads on the desk's read connection, then the write as one unit of work.

        What the write needs to decide (the caller's customers, their open incident and open
        ticket, the new ticket's rule and SLA plan) and what the pop shows (cards, last agent,
        incident) are committed rows read before it, on SQLite without a hop to a thread. The
        write is one synchronous function run in one call (`tickets.offer`), and the pop's
        context is built from what it wrote, not read back. A duplicate offer finds the
        committed link first; two workers racing on one call collide on the link's primary
        key in the write (IntegrityError: the loser reads the winner's link).
        """
        reads = self._ctx.reads
        row = await reads.first(_LINK, {"call": event.call_id})  # type: ignore[arg-type]
        if row is not None:
            link = _Link(row["call_id"], row["ticket_id"], bool(row["opened_ticket"]), row["caller_e164"])
            return await reads.run(self._context_sync, link)
        found = await self._find_fast(event)
        if found is None:
            found = await reads.run(self._find, event)
        now = self._ctx.clock()
        written = await self._ctx.offers.run(functools.partial(self._write_offer, event, found, now))
        await self._ctx.deliver(written.events)
        return _offered_context(event, found, written)

    async def _find_fast(self, event: CallEvent) -> _Found | None:
        """`_find` in a few compiled selects (`tickets.offer_reads`). None when the caller is
        one of an open incident's customers, the ticket found is an incident's child, or the
        number matches more than `MAX_IDS` customers: `_find` reads those through the ORM."""
        ctx, reads = self._ctx, self._ctx.reads
        config = ctx.config
        variants = lookup_variants(event.caller, config.region, config.area_code) if event.caller else []
        e164 = variants[0] if variants else None
        customer_ids = await offer_reads.customer_ids(reads, variants)
        if len(customer_ids) > offer_reads.MAX_IDS or await offer_reads.has_open_incident(
            reads, customer_ids
        ):
            return None
        chosen = self.category_of(event)
        row = None
        if config.open_ticket_window.total_seconds() != 0:
            row = await offer_reads.open_ticket(
                reads,
                customer_ids,
                e164,
                category=chosen if config.match_ivr_category else None,
                since=event.at - config.open_ticket_window,
            )
        if row is not None and row["incident_id"] is not None:
            return None
        ids = list(customer_ids)
        if row is not None and row["customer_id"] is not None:
            ids = [row["customer_id"], *(i for i in ids if i != row["customer_id"])]
        customers = await offer_reads.customers(reads, ids)
        new: dict[str, Any] | None = None
        if row is None:
            one = customers.get(customer_ids[0]) if len(customer_ids) == 1 else None
            fields: dict[str, Any] = {
                "customer_id": customer_ids[0] if len(customer_ids) == 1 else None,
                "caller_e164": e164,
                "category": chosen or config.default_category,
                "queue": event.queue,
                "subject": self._default_subject(event, language_tag(one[4] or []) if one else None),
                "incident_id": None,
            }
            ticket = reported_ticket(fields, event.at)
            rule = await offer_reads.category_rule(reads, ticket.category)
            code = config.category_departments.get(ticket.category)
            coded = None
            if (rule is None or rule.department_id is None) and code is not None:
                coded = await offer_reads.department(reads, code)
            values = category_routing(ctx, ticket.category, rule, coded)
            tier = one[3] if one else None
            values.update(sla_plan(ctx, ticket, ticket.category, ticket.priority, rule, tier))
            for key, value in values.items():
                setattr(ticket, key, value)
            new = ticket.model_dump()
            picked = _Chosen.of(ticket)
        else:
            picked = _Chosen(**row)
        return _Found(
            e164=e164,
            ticket=picked,
            new=new,
            cards=await offer_reads.cards(reads, customers, ids, event.call_id),
            last_agent=await offer_reads.last_agent(reads, e164, event.call_id),
            incident=None,
        )

    def _find(self, session: Session, event: CallEvent) -> _Found:
        """Who is calling, where the call goes and what the pop shows, from committed rows
        (synchronous: `Reads.run`)."""
        config = self._ctx.config
        variants = lookup_variants(event.caller, config.region, config.area_code) if event.caller else []
        e164 = variants[0] if variants else None
        customer_ids = caller_customer_ids(session, event.caller, config.region, config.area_code)
        chosen = self.category_of(event)
        # An affected caller of an open incident: their call goes on their child ticket of it.
        incident = open_incident_for(session, customer_ids)
        ticket: Ticket | None
        if incident is not None:
            assert incident.id is not None
            ticket = open_child_ticket(session, incident.id, customer_ids, e164)
        else:
            ticket = find_open_ticket(
                session,
                customer_ids,
                e164,
                category=chosen if config.match_ivr_category else None,
                since=event.at - config.open_ticket_window,
            )
        if incident is None and config.open_ticket_window.total_seconds() == 0:
            ticket = None
        new: dict[str, Any] | None = None
        if ticket is None:
            language = None
            if len(customer_ids) == 1:
                tags = session.execute(_TAGS, {"customer": customer_ids[0]}).first()
                language = language_tag(tags[0] if tags and tags[0] else [])
            fields: dict[str, Any] = {
                "customer_id": customer_ids[0] if len(customer_ids) == 1 else None,
                "caller_e164": e164,
                "category": (incident.category if incident else None) or chosen or config.default_category,
                "queue": event.queue,
                "subject": self._default_subject(event, language),
                "incident_id": incident.id if incident else None,
            }
            ticket = new_ticket(session, self._ctx, fields, event.at)
            new = ticket.model_dump()
        ids = list(customer_ids)
        if ticket.customer_id is not None:
            ids = [ticket.customer_id, *(i for i in ids if i != ticket.customer_id)]
        return _Found(
            e164=e164,
            ticket=_Chosen.of(ticket),
            new=new,
            cards=cards_sync(session, ids, current_call=event.call_id),
            last_agent=last_agent(session, _Link(event.call_id, 0, False, e164)),
            incident=self._incident_note(session, ticket),
        )

    def _write_offer(self, event: CallEvent, found: _Found, now: datetime, conn: Connection) -> _Written:
        """The offered call's rows in one transaction (`OfferWriter.run`): the ticket if one is
        opened (with its SLA state), the call's link, the timeline entries in one executemany,
        the audit batch with one head bump. Builds everything from its arguments (it may run
        again after a rolled-back attempt)."""
        pending = Pending(now)
        chosen = found.ticket
        if found.new is not None:
            ticket = Ticket(**found.new)
            fired = sla_on_insert(self._ctx, ticket, now)
            key = conn.execute(_INSERT_TICKET, ticket.model_dump(exclude={"id"})).inserted_primary_key
            assert key is not None
            ticket.id = int(key[0])
            flags = record_opened(pending, ticket, fired, actor=SYSTEM, at=event.at, call_id=event.call_id)
            if flags:  # a deadline already past at the report time: flagged for supervisors
                conn.execute(update(Ticket).where(col(Ticket.id) == ticket.id).values(**flags))
            chosen = _Chosen.of(ticket)
        ticket_id, is_new = chosen.id, found.new is not None
        conn.execute(  # a duplicate call_id fails here (IntegrityError), before any audit entry
            _INSERT_LINK,
            {
                "call_id": event.call_id,
                "ticket_id": ticket_id,
                "attached_at": now,
                "opened_ticket": is_new,
                "caller_e164": found.e164,
                "queue": event.queue,
                "ivr_choice": event.ivr_choice,
                "offered_at": event.at,
            },
        )
        # The system did this, for this call (the call id is in the entry): not the IVR, which
        # a plain AMI call never went through.
        pending.journal(
            ticket_id, "call", SYSTEM, "", at=event.at, call_id=event.call_id, caller=found.e164, new=is_new
        )
        pending.audit(
            SYSTEM, "ticket.call_attached", f"ticket:{ticket_id}", call_id=event.call_id, new_ticket=is_new
        )
        pending.publish(CallAttached(ticket_id, event.call_id, now, is_new))
        conn.execute(_INSERT_EVENT, pending.journals)
        self._ctx.audit.append_many_sync(conn, audit_entries(pending.audits))
        return _Written(chosen, is_new, tuple(pending.events))

    @staticmethod
    def _default_subject(event: CallEvent, language: str | None) -> str:
        """'来电：王小明' or 'Call from Anna': in the customer's language (their `lang:` tag), else
        Chinese; the caller's name cut to fit the subject, whatever the PBX sent."""
        who = (event.caller_name or event.caller or "").strip()
        if len(who) > SUBJECT_NAME_MAX:
            who = who[: SUBJECT_NAME_MAX - 1] + "…"
        if language and language.lower().startswith("en"):
            return f"Call from {who or 'an unknown number'}"
        return f"来电：{who or '未知号码'}"

    def category_of(self, event: CallEvent) -> str | None:
        choice = event.ivr_choice or (event.detail if event.kind is CallEventKind.IVR_CHOICE else None)
        return self._ctx.config.ivr_categories.get(choice) if choice else None

    async def _context(self, session: AsyncSession, link: TicketCall) -> CallContext:
        """The context inside a transaction (it sees the transaction's own rows)."""
        return await session.run_sync(self._context_sync, _Link.of(link))

    def _context_sync(self, session: Session, link: _Link) -> CallContext:
        ticket = session.get(Ticket, link.ticket_id, populate_existing=True)
        if ticket is None:
            raise NotFound("ticket", link.ticket_id)
        ids = caller_customer_ids(session, link.caller_e164, self._ctx.config.region)
        if ticket.customer_id is not None:
            ids = [ticket.customer_id, *(i for i in ids if i != ticket.customer_id)]
        cards = cards_sync(session, ids, current_call=link.call_id)
        return CallContext(
            call_id=link.call_id,
            customers=tuple(cards),
            ticket_id=link.ticket_id,
            ticket_is_new=link.opened_ticket,
            tier=_tier(ticket, cards),
            ticket_owner_agent_id=ticket.owner_agent_id,
            last_agent_id=last_agent(session, link),
            caller_e164=link.caller_e164,
            category=ticket.category,
            incident=self._incident_note(session, ticket),
        )

    def _incident_note(self, session: Session, ticket: Ticket | _Chosen) -> IncidentNote | None:
        if ticket.incident_id is None:
            return None
        incident = session.get(Incident, ticket.incident_id)
        if incident is None or incident.state is not IncidentState.OPEN:
            return None
        notice = notice_of(incident, self._ctx.config.calendar.timezone)
        return IncidentNote(
            id=notice.incident_id, description=dict(notice.description), expected=dict(notice.expected)
        )

    async def context(self, call_id: str) -> CallContext:
        link = await self._ctx.reads.run(_link_of, call_id)
        if link is None:
            raise NotFound("call", call_id)
        return await self._ctx.reads.run(self._context_sync, link)

    # ------------------------------------------------------------------ the rest of the call

    async def handle(self, event: Event) -> None:
        """Event-bus handler. Idempotent: every field is filled once, journals only on change."""
        if not isinstance(event, CallEvent):
            return
        if event.kind is CallEventKind.OFFERED:
            await self.on_call_offered(event)
            return
        if event.kind not in _FOLLOWED:
            return
        async with self._ctx.sessions() as session:
            known = await session.get(TicketCall, event.call_id) is not None
        if not known:
            if event.kind is not CallEventKind.ANSWERED:
                return  # a call we never saw offered: nothing to attach to
            await self.on_call_offered(event)  # observe mode may join mid-call
        async with self._ctx.tx() as tx:
            link = await tx.session.get(TicketCall, event.call_id, with_for_update=True)
            assert link is not None
            await _FOLLOWED[event.kind](self, tx, link, event)

    async def handle_batch(self, events: Sequence[Event]) -> None:
        """`handle` for the events queued meanwhile, in order: one read of the calls' links, one
        transaction for all of them (the bus's lane behind; group commit). Idempotent as
        `handle`: the bus hands the events again one by one if the batch fails."""
        followed = [e for e in events if isinstance(e, CallEvent) and e.kind in _FOLLOWED]
        if not followed:
            return
        async with self._ctx.sessions() as session:
            ids = {event.call_id for event in followed}
            known = set(
                (await session.exec(select(TicketCall.call_id).where(col(TicketCall.call_id).in_(ids)))).all()
            )
        for event in followed:
            if event.call_id not in known and event.kind is CallEventKind.ANSWERED:
                await self.on_call_offered(event)  # observe mode may join mid-call
                known.add(event.call_id)
        followed = [event for event in followed if event.call_id in known]
        if not followed:
            return
        async with self._ctx.tx() as tx:
            query = select(TicketCall).where(col(TicketCall.call_id).in_(known)).with_for_update()
            links = {link.call_id: link for link in (await tx.session.exec(query)).all()}
            for event in followed:
                await _FOLLOWED[event.kind](self, tx, links[event.call_id], event)

    async def _answered(self, tx: Tx, link: TicketCall, event: CallEvent) -> None:
        if link.answered_at is not None or link.agent_id is not None or event.agent is None:
            return
        # untimed (answered during an AMI outage, no PBX time): the answer time stays unknown
        answered_at = None if event.untimed else event.at
        link.agent_id, link.answered_at, link.outcome = event.agent, answered_at, "answered"
        tx.journal(link.ticket_id, "call_answered", event.agent, "", at=event.at, call_id=link.call_id)
        # The answering agent becomes the owner of an unowned open ticket. Not a versioned write:
        # the version tells a person "changed since you looked", and the agent may have opened
        # this ticket from the ringing pop a moment ago; their first click must not be refused
        # for the system's bookkeeping. The condition is in the statement, so an owner a person
        # set meanwhile is never overwritten.
        claimed = await tx.session.exec(
            update(Ticket)
            .where(
                col(Ticket.id) == link.ticket_id,
                col(Ticket.owner_agent_id).is_(None),
                col(Ticket.state).in_(OPEN_TICKET_STATES),
            )
            .values(owner_agent_id=event.agent, updated_at=tx.now)
        )
        if claimed.rowcount == 1:
            agent = Actor(event.agent, "agent")
            tx.audit(
                agent, "ticket.assign", f"ticket:{link.ticket_id}", owner=event.agent, call_id=link.call_id
            )

    async def _ivr_choice(self, tx: Tx, link: TicketCall, event: CallEvent) -> None:
        if link.ivr_choice is not None or not event.detail:
            return
        link.ivr_choice = event.detail
        category = self._ctx.config.ivr_categories.get(event.detail)
        ticket = await load_ticket(tx.session, link.ticket_id)
        untouched = link.opened_ticket and ticket.state is TicketState.REPORTED and ticket.incident_id is None
        if category and untouched and ticket.category == self._ctx.config.default_category:
            values: dict[str, Any] = {"category": category}
            values.update(
                await plan_sla(tx.session, self._ctx, ticket, category, ticket.priority, ticket.customer_id)
            )
            values.update(sla_step(tx, self._ctx, ticket.model_copy(update=values), ticket.state))
            await write_ticket(tx, ticket, ticket.version, values)
            tx.journal(link.ticket_id, "edit", IVR, f"IVR: {category}", fields=["category"])
            tx.audit(IVR, "ticket.update", f"ticket:{ticket.id}", fields=["category"], ivr=event.detail)

    async def _recording(self, tx: Tx, link: TicketCall, event: CallEvent) -> None:
        if link.recording is not None or not event.detail:
            return
        link.recording = event.detail
        tx.journal(link.ticket_id, "recording", "system", "", at=event.at, call_id=link.call_id)

    async def _ended(self, tx: Tx, link: TicketCall, event: CallEvent) -> None:
        if link.ended_at is not None:
            return
        link.ended_at = event.at
        if event.kind is CallEventKind.ABANDONED:
            link.outcome = "abandoned"
            tx.journal(link.ticket_id, "call_abandoned", "system", "", at=event.at, call_id=link.call_id)
            await self._cancel_if_abandoned(tx, link)
        elif link.outcome is None:
            link.outcome = "answered" if link.answered_at or link.agent_id else "unanswered"

    async def _cancel_if_abandoned(self, tx: Tx, link: TicketCall) -> None:
        """The caller hung up before any agent answered: without this, every abandoned
        call would leave an empty `reported` ticket for someone to clear by hand."""
        if self._ctx.config.abandoned_tickets != "cancel" or not link.opened_ticket or link.answered_at:
            return
        ticket = await load_ticket(tx.session, link.ticket_id)
        if ticket.state is not TicketState.REPORTED or ticket.is_complaint:
            return  # complaints stay for a supervisor to see, abandoned or not
        other_calls = (
            await tx.session.exec(
                select(func.count())
                .select_from(TicketCall)
                .where(TicketCall.ticket_id == ticket.id, TicketCall.call_id != link.call_id)
            )
        ).one()
        worked_on = (
            await tx.session.exec(
                select(func.count())
                .select_from(TicketEvent)
                .where(
                    TicketEvent.ticket_id == ticket.id,
                    col(TicketEvent.actor).not_in([IVR.id, SYSTEM.id]),
                )
            )
        ).one()
        if other_calls or worked_on:
            return
        await apply_transition(
            tx,
            self._ctx,
            ticket,
            TicketState.CANCELLED,
            actor=SYSTEM,
            expected=ticket.version,
            note="来电放弃 The caller hung up before an agent answered",
        )

    # ------------------------------------------------------------------ agent overrides from the pop

    async def attach_call(self, call_id: str, ticket_id: int | None, actor: Actor) -> CallContext:
        """Move the call to `ticket_id`, or to a new ticket when None.

        If the call had opened a ticket that nobody touched since (still reported,
        version 1, no other call), that ticket is cancelled as opened by mistake.
        """
        async with self._ctx.tx() as tx:
            link = await tx.session.get(TicketCall, call_id, with_for_update=True)
            if link is None:
                raise NotFound("call", call_id)
            old = await load_ticket(tx.session, link.ticket_id)
            if ticket_id == old.id:
                return await self._context(tx.session, link)
            if ticket_id is None:
                fields = {
                    "customer_id": old.customer_id,
                    "caller_e164": old.caller_e164,
                    "category": old.category,
                    "queue": old.queue,
                    "subject": old.subject,
                }
                target = await open_ticket(tx, self._ctx, actor=actor, fields=fields, call_id=call_id)
            else:
                target = await load_ticket(tx.session, ticket_id)
            assert target.id is not None and old.id is not None
            link.ticket_id, link.opened_ticket = target.id, ticket_id is None
            await tx.session.flush()
            tx.journal(target.id, "call", actor, f"moved from ticket {old.id}", call_id=call_id)
            tx.journal(old.id, "call_moved", actor, f"moved to ticket {target.id}", call_id=call_id)
            tx.audit(actor, "ticket.call_moved", f"ticket:{target.id}", call_id=call_id, from_ticket=old.id)
            await self._cancel_if_orphan(tx, old, actor)
            context = await self._context(tx.session, link)
        return context

    async def _cancel_if_orphan(self, tx: Tx, ticket: Ticket, actor: Actor) -> None:
        calls = (
            await tx.session.exec(
                select(func.count()).select_from(TicketCall).where(TicketCall.ticket_id == ticket.id)
            )
        ).one()
        if ticket.state is TicketState.REPORTED and ticket.version == 1 and calls == 0:
            await apply_transition(
                tx,
                self._ctx,
                ticket,
                TicketState.CANCELLED,
                actor=actor,
                expected=ticket.version,
                note="opened for a call that was moved",
            )

    async def choose_customer(self, call_id: str, customer_id: int, actor: Actor) -> CallContext:
        """The caller's number matched several customers (or none): the agent says who it is."""
        return await _unversioned(lambda: self._choose_customer(call_id, customer_id, actor))

    async def _choose_customer(self, call_id: str, customer_id: int, actor: Actor) -> CallContext:
        async with self._ctx.tx() as tx:
            link = await tx.session.get(TicketCall, call_id)
            if link is None:
                raise NotFound("call", call_id)
            if await tx.session.get(Customer, customer_id) is None:
                raise NotFound("customer", customer_id)
            await self._set_customer(tx, link, customer_id, actor)
            context = await self._context(tx.session, link)
        return context

    async def new_customer_from_call(self, call_id: str, data: CustomerCreate, actor: Actor) -> CallContext:
        """One step from an unknown number to a customer: the caller's number is added."""
        return await _unversioned(lambda: self._new_customer_from_call(call_id, data, actor))

    async def _new_customer_from_call(self, call_id: str, data: CustomerCreate, actor: Actor) -> CallContext:
        async with self._ctx.tx() as tx:
            link = await tx.session.get(TicketCall, call_id)
            if link is None:
                raise NotFound("call", call_id)
            phones = list(data.phones)
            if link.caller_e164 and link.caller_e164 not in {p.number for p in phones}:
                phones.insert(0, PhoneIn(number=link.caller_e164, label="caller"))
            rows = phone_rows(phones, self._ctx.config.region)
            customer = await add_customer(tx, data, rows, actor)
            assert customer.id is not None
            await self._set_customer(tx, link, customer.id, actor)
            context = await self._context(tx.session, link)
        return context

    async def _set_customer(self, tx: Tx, link: TicketCall, customer_id: int, actor: Actor) -> None:
        ticket = await load_ticket(tx.session, link.ticket_id)
        if ticket.customer_id == customer_id:
            return
        values: dict[str, Any] = {"customer_id": customer_id}
        values.update(
            await plan_sla(tx.session, self._ctx, ticket, ticket.category, ticket.priority, customer_id)
        )
        values.update(sla_step(tx, self._ctx, ticket.model_copy(update=values), ticket.state))
        await write_ticket(tx, ticket, ticket.version, values)
        tx.journal(
            link.ticket_id, "edit", actor, "customer chosen", fields=["customer_id"], customer_id=customer_id
        )
        tx.audit(
            actor, "ticket.update", f"ticket:{ticket.id}", fields=["customer_id"], customer_id=customer_id
        )


async def _unversioned(work: Callable[[], Awaitable[CallContext]], attempts: int = 3) -> CallContext:
    """Run a pop action that carries no ticket version, reading the ticket again on a conflict.

    The agent picks a customer from the pop while the desk records the answer on
    the same ticket (the owner is set then): the two writes meet on the version.
    The agent edited no stale form, so the pick is applied to the fresh ticket
    instead of being refused with 409; each attempt is its own transaction.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except TicketConflict:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


_FOLLOWED = {
    CallEventKind.ANSWERED: CallDesk._answered,
    CallEventKind.IVR_CHOICE: CallDesk._ivr_choice,
    CallEventKind.RECORDING_READY: CallDesk._recording,
    CallEventKind.ABANDONED: CallDesk._ended,
    CallEventKind.HUNG_UP: CallDesk._ended,
}


@dataclass(frozen=True, slots=True)
class _Link:
    """What the pop's context needs of a call's link (readable outside its session)."""

    call_id: str
    ticket_id: int
    opened_ticket: bool
    caller_e164: str | None

    @classmethod
    def of(cls, link: TicketCall) -> _Link:
        return cls(link.call_id, link.ticket_id, link.opened_ticket, link.caller_e164)


@dataclass(frozen=True, slots=True)
class _Chosen:
    """What the pop's context needs of the ticket that gets the call."""

    id: int
    customer_id: int | None
    owner_agent_id: str | None
    category: str
    incident_id: int | None
    subject: str
    state: TicketState
    created_at: datetime

    @classmethod
    def of(cls, ticket: Ticket) -> _Chosen:
        return cls(
            ticket.id or 0,
            ticket.customer_id,
            ticket.owner_agent_id,
            ticket.category,
            ticket.incident_id,
            ticket.subject,
            ticket.state,
            ticket.created_at,
        )


@dataclass(frozen=True, slots=True)
class _Found:
    """What an offered call's write needs and its pop shows, read before the write."""

    e164: str | None
    ticket: _Chosen  # the open ticket that gets the call, or (id 0) the one to open
    new: dict[str, Any] | None  # the columns of the ticket to open; None: the call joins `ticket`
    cards: list[CustomerCard]  # in the pop's order: the ticket's customer first
    last_agent: str | None
    incident: IncidentNote | None


@dataclass(frozen=True, slots=True)
class _Written:
    ticket: _Chosen
    is_new: bool
    events: tuple[DeskEvent, ...]


def _offered_context(event: CallEvent, found: _Found, written: _Written) -> CallContext:
    """The pop's context from the rows read before the write and the rows it wrote: a new
    ticket counts on its customer's card (open tickets, recent tickets) as a read-back would."""
    ticket, cards = written.ticket, found.cards
    if written.is_new and ticket.customer_id is not None:
        cards = [_with_new_ticket(c, ticket) if c.id == ticket.customer_id else c for c in cards]
    return CallContext(
        call_id=event.call_id,
        customers=tuple(cards),
        ticket_id=ticket.id,
        ticket_is_new=written.is_new,
        tier=_tier(ticket, cards),
        ticket_owner_agent_id=ticket.owner_agent_id,
        last_agent_id=found.last_agent,
        caller_e164=found.e164,
        category=ticket.category,
        incident=found.incident,
    )


def _with_new_ticket(card: CustomerCard, ticket: _Chosen) -> CustomerCard:
    summary = TicketSummary(
        id=ticket.id,
        subject=ticket.subject,
        category=ticket.category,
        state=ticket.state,
        created_at=ticket.created_at,
    )
    recent = sorted((summary, *card.recent_tickets), key=lambda t: (t.created_at, t.id), reverse=True)
    return card.model_copy(
        update={"open_tickets": card.open_tickets + 1, "recent_tickets": tuple(recent[:RECENT_TICKETS])}
    )


_INSERT_TICKET = insert(Ticket)
_INSERT_LINK = insert(TicketCall)
_INSERT_EVENT = insert(TicketEvent)


_LINK = select(
    TicketCall.call_id, TicketCall.ticket_id, TicketCall.opened_ticket, TicketCall.caller_e164
).where(col(TicketCall.call_id) == bindparam("call"))
_TAGS = select(Customer.tags).where(col(Customer.id) == bindparam("customer"))


def _link_of(session: Session, call_id: str) -> _Link | None:
    row = session.execute(_LINK, {"call": call_id}).first()
    return None if row is None else _Link(row[0], row[1], bool(row[2]), row[3])


def _open_ticket_stmt(by_customer: bool, by_number: bool, by_category: bool) -> Select[Any]:
    who: list[Any] = []
    if by_customer:
        who.append(col(Ticket.customer_id).in_(bindparam("customers", expanding=True)))
    if by_number:
        who.append(col(Ticket.caller_e164) == bindparam("e164"))
    stmt = select(Ticket).where(
        or_(*who), col(Ticket.state).in_(OPEN_TICKET_STATES), col(Ticket.created_at) >= bindparam("since")
    )
    if by_category:
        stmt = stmt.where(col(Ticket.category) == bindparam("category"))
    return stmt.order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc()).limit(1)


# Every shape built once (asked on every offered call; building one costs more than running it).
_OPEN_TICKET = {
    shape: _open_ticket_stmt(*shape)
    for shape in itertools.product((False, True), repeat=3)
    if shape[0] or shape[1]
}


def find_open_ticket(
    session: Session, customer_ids: list[int], e164: str | None, *, category: str | None, since: datetime
) -> Ticket | None:
    if not customer_ids and e164 is None:
        return None
    stmt = _OPEN_TICKET[(bool(customer_ids), e164 is not None, category is not None)]
    params = {"customers": customer_ids, "e164": e164, "since": since, "category": category}
    return session.execute(stmt, params).scalars().first()


_LAST_AGENT = (
    select(TicketCall.agent_id)
    .where(
        col(TicketCall.caller_e164) == bindparam("e164"),
        col(TicketCall.agent_id).is_not(None),
        col(TicketCall.call_id) != bindparam("call"),
    )
    .order_by(col(TicketCall.answered_at).desc())
    .limit(1)
)


def last_agent(session: Session, link: _Link) -> str | None:
    """The agent who last answered this caller (sticky routing), other than on this call."""
    if link.caller_e164 is None:
        return None
    return session.execute(_LAST_AGENT, {"e164": link.caller_e164, "call": link.call_id}).scalars().first()


def _tier(ticket: Ticket | _Chosen, cards: list[CustomerCard]) -> CustomerTier | None:
    own = next((c.tier for c in cards if c.id == ticket.customer_id), None)
    if own is not None:
        return own
    return max((c.tier for c in cards), key=TIER_RANK.__getitem__, default=None)
