"""Follow-up (回访) after resolution: due after a delay, shown to agents, scored 1–5.

The follow-up row is written with the `resolved` transition, so it survives
restarts; `SlaWorker` announces due ones once (`announced_at`). Recording an
outcome is a compare-and-set on `state = pending`, so two agents (or an agent
and the IVR survey) cannot both record one. A score at or below `low_score`
reopens a resolved ticket, or flags a ticket that is already closed.

Verified closure (`DeskConfig.confirm_categories`): for those categories "resolved" is the
department's claim, and the follow-up is the customer's answer. "Fixed" (or, from the IVR
survey or an SMS reply, a score above `low_score`) closes the ticket; "not fixed" (or a low
score) reopens it and sends it back to the department that resolved it, as a new order with
a `reopen` hop (`tickets.workorders.redispatch_after_reopen`), counted against them.
An SMS reply to the resolve message is such an answer too (`record_sms_reply`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, or_, select

from tickets.errors import InvalidPhoneNumber, NotFound, RuleViolation
from tickets.events import FollowUpDue, TicketFlagged
from tickets.lifecycle import Actor
from tickets.models import CustomerPhone, FollowUp, FollowUpState, Ticket, TicketState
from tickets.phones import normalize
from tickets.schemas import FollowUpPublic, FollowUpRecord
from tickets.uow import DeskContext, Tx
from tickets.workflow import apply_transition, confirms, load_ticket, write_ticket
from tickets.workorders import redispatch_after_reopen

NOT_FIXED = "follow-up: not fixed"  # the flag a "not fixed" answer raises; a later "fixed" clears it


def _public(row: FollowUp) -> FollowUpPublic:
    return FollowUpPublic.model_validate(row, from_attributes=True)


class FollowUps:
    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx

    async def due(self, now: datetime | None = None, *, limit: int = 100) -> list[FollowUpPublic]:
        """Pending follow-ups whose time has come, oldest first: the agents' to-do list."""
        at = now or self._ctx.clock()
        async with self._ctx.sessions() as session:
            rows = (
                await session.exec(
                    select(FollowUp)
                    .where(FollowUp.state == FollowUpState.PENDING, col(FollowUp.due_at) <= at)
                    .order_by(col(FollowUp.due_at), col(FollowUp.id))
                    .limit(limit)
                )
            ).all()
        return [_public(r) for r in rows]

    async def for_ticket(self, ticket_id: int) -> list[FollowUpPublic]:
        async with self._ctx.sessions() as session:
            rows = (
                await session.exec(
                    select(FollowUp).where(FollowUp.ticket_id == ticket_id).order_by(col(FollowUp.id))
                )
            ).all()
        return [_public(r) for r in rows]

    async def record(self, follow_up_id: int, data: FollowUpRecord, actor: Actor) -> FollowUpPublic:
        async with self._ctx.tx() as tx:
            row = await tx.session.get(FollowUp, follow_up_id)
            if row is None:
                raise NotFound("follow-up", follow_up_id)
            row = await self._record(tx, row, data, actor)
        return _public(row)

    async def record_survey(self, ticket_id: int, score: int, actor: Actor) -> FollowUpPublic:
        """The IVR survey's answer for a ticket's pending follow-up."""
        async with self._ctx.tx() as tx:
            row = (
                await tx.session.exec(
                    select(FollowUp)
                    .where(FollowUp.ticket_id == ticket_id, FollowUp.state == FollowUpState.PENDING)
                    .order_by(col(FollowUp.id).desc())
                )
            ).first()
            if row is None:
                raise NotFound("pending follow-up of ticket", ticket_id)
            row = await self._record(tx, row, FollowUpRecord(score=score, channel="ivr"), actor)
        return _public(row)

    async def record_sms_reply(self, sender: str, text: str, actor: Actor) -> FollowUpPublic | None:
        """A customer's text answering the resolve message ("reply 1-5", or yes/no, 是/否): the
        newest pending follow-up of a ticket from that number, recorded as channel `sms`. None
        when the text is no answer or the number has no pending follow-up (nothing written)."""
        answer = parse_reply(text)
        if answer is None:
            return None
        try:
            e164 = normalize(sender, self._ctx.config.region).e164
        except InvalidPhoneNumber:
            return None
        fixed, score = answer
        async with self._ctx.tx() as tx:
            theirs = select(CustomerPhone.customer_id).where(CustomerPhone.e164 == e164)
            row = (
                await tx.session.exec(
                    select(FollowUp)
                    .join(Ticket, col(Ticket.id) == col(FollowUp.ticket_id))
                    .where(
                        FollowUp.state == FollowUpState.PENDING,
                        or_(col(Ticket.caller_e164) == e164, col(Ticket.customer_id).in_(theirs)),
                    )
                    .order_by(col(FollowUp.id).desc())
                    .limit(1)
                )
            ).first()
            if row is None:
                return None
            record = FollowUpRecord(
                outcome=f"SMS: {text.strip()[:200]}", score=score, fixed=fixed, channel="sms"
            )
            row = await self._record(tx, row, record, actor)
        return _public(row)

    async def _record(self, tx: Tx, row: FollowUp, data: FollowUpRecord, actor: Actor) -> FollowUp:
        result = await tx.session.exec(
            update(FollowUp)
            .where(col(FollowUp.id) == row.id, col(FollowUp.state) == FollowUpState.PENDING)
            .values(
                state=FollowUpState.DONE,
                outcome=data.outcome,
                score=data.score,
                fixed=data.fixed,
                channel=data.channel,
                recorded_by=actor.id,
                recorded_at=tx.now,
            )
        )
        if result.rowcount != 1:
            raise RuleViolation(f"follow-up {row.id} is not pending (already recorded or cancelled)")
        fresh = await tx.session.get(FollowUp, row.id, populate_existing=True)
        assert fresh is not None
        tx.journal(
            fresh.ticket_id,
            "follow_up",
            actor,
            data.outcome,
            score=data.score,
            channel=data.channel,
            fixed=data.fixed,
        )
        tx.audit(
            actor,
            "ticket.follow_up",
            f"ticket:{fresh.ticket_id}",
            follow_up_id=fresh.id,
            score=data.score,
            fixed=data.fixed,
        )
        await self._consequences(tx, fresh, actor)
        return fresh

    async def _consequences(self, tx: Tx, row: FollowUp, actor: Actor) -> None:
        ticket = await load_ticket(tx.session, row.ticket_id)
        config = self._ctx.config
        verified = config.needs_confirmation(ticket.category)
        low = row.score is not None and row.score <= config.low_score
        if low or row.fixed is False:
            reason = f"low satisfaction score {row.score}" if low else NOT_FIXED
            if ticket.state is TicketState.RESOLVED:
                ticket = await apply_transition(
                    tx,
                    self._ctx,
                    ticket,
                    TicketState.REOPENED,
                    actor=actor,
                    expected=ticket.version,
                    note=reason,
                )
                if verified:
                    await redispatch_after_reopen(tx, self._ctx, ticket, actor, reason)
                    ticket = await load_ticket(tx.session, row.ticket_id)
            ticket = await write_ticket(tx, ticket, ticket.version, {"flagged": True, "flag_reason": reason})
            tx.journal(row.ticket_id, "flag", actor, reason)
            tx.audit(actor, "ticket.flag", f"ticket:{row.ticket_id}", reason=reason)
            tx.publish(TicketFlagged(row.ticket_id, reason, tx.now))
        elif verified:
            if (
                confirms(row.fixed, row.score, config.low_score)
                and ticket.state is TicketState.RESOLVED
                and not ticket.is_complaint  # a complaint stays for a supervisor to close (confirmed)
            ):
                ticket = await apply_transition(
                    tx,
                    self._ctx,
                    ticket,
                    TicketState.CLOSED,
                    actor=actor,
                    expected=ticket.version,
                    note=f"confirmed by the customer ({row.channel})",
                )
                if ticket.flagged and ticket.flag_reason == NOT_FIXED:
                    # the customer now says it is fixed: a red "not fixed" on a closed ticket misleads
                    await write_ticket(tx, ticket, ticket.version, {"flagged": False, "flag_reason": ""})
                    tx.journal(row.ticket_id, "unflag", actor, NOT_FIXED)
                    tx.audit(actor, "ticket.unflag", f"ticket:{row.ticket_id}", reason=NOT_FIXED)
        elif (
            config.close_on_good_follow_up
            and ticket.state is TicketState.RESOLVED
            and not ticket.is_complaint
        ):
            await apply_transition(
                tx,
                self._ctx,
                ticket,
                TicketState.CLOSED,
                actor=actor,
                expected=ticket.version,
                note="closed after a good follow-up",
            )

    async def reschedule(
        self, follow_up_id: int, due_at: datetime, actor: Actor, note: str = ""
    ) -> FollowUpPublic:
        """Call back later: a pending follow-up gets a new time (and is announced again then)."""
        async with self._ctx.tx() as tx:
            result = await tx.session.exec(
                update(FollowUp)
                .where(col(FollowUp.id) == follow_up_id, col(FollowUp.state) == FollowUpState.PENDING)
                .values(due_at=due_at, announced_at=None)
            )
            row = await tx.session.get(FollowUp, follow_up_id, populate_existing=True)
            if row is None:
                raise NotFound("follow-up", follow_up_id)
            if result.rowcount != 1:
                raise RuleViolation(
                    f"follow-up {follow_up_id} is not pending (already recorded or cancelled)"
                )
            when = f"rescheduled to {due_at.isoformat(timespec='minutes')}"
            tx.journal(
                row.ticket_id,
                "follow_up",
                actor,
                f"{when}: {note}" if note else when,
                action="rescheduled",
                due_at=due_at.isoformat(),
            )
            tx.audit(actor, "ticket.follow_up_reschedule", f"ticket:{row.ticket_id}", follow_up_id=row.id)
        return _public(row)

    async def called(self, follow_up_id: int, number: str, actor: Actor) -> None:
        """The agent asked the PBX to call the customer for this follow-up (on the timeline)."""
        async with self._ctx.tx() as tx:
            row = await tx.session.get(FollowUp, follow_up_id)
            if row is None:
                raise NotFound("follow-up", follow_up_id)
            masked = number[:6] + "****" + number[-4:] if len(number) > 10 else number
            tx.journal(row.ticket_id, "follow_up", actor, f"calling {masked}", action="call", to=masked)

    async def announce_due(self, now: datetime, *, limit: int = 100) -> list[FollowUpDue]:
        """Mark due follow-ups announced (once, whatever the number of workers) and publish them."""
        async with self._ctx.tx() as tx:
            rows = await _claim(tx, now, limit)
            for follow_id, ticket_id, due_at in rows:
                tx.publish(FollowUpDue(follow_id, ticket_id, due_at))
            announced = [e for e in tx.events if isinstance(e, FollowUpDue)]
        return announced


_YES = frozenset({"y", "yes", "fixed", "ok", "是", "好", "好了", "已解决", "解决了", "修好了"})
_NO = frozenset({"n", "no", "not fixed", "否", "没有", "未解决", "没修好", "还没好"})


def parse_reply(text: str) -> tuple[bool | None, int | None] | None:
    """(fixed, score) of a survey reply: "1".."5" is a score, yes/no words (en, zh) the answer
    to "is it fixed?"; anything else is not an answer (None)."""
    word = text.strip().strip(".!。！").lower()
    if len(word) == 1 and word in "12345":
        return None, int(word)
    if word in _YES:
        return True, None
    if word in _NO:
        return False, None
    return None


async def _claim(tx: Tx, now: datetime, limit: int) -> list[tuple[int, int, datetime]]:
    due = (
        select(FollowUp.id)
        .where(
            FollowUp.state == FollowUpState.PENDING,
            col(FollowUp.announced_at).is_(None),
            col(FollowUp.due_at) <= now,
        )
        .order_by(col(FollowUp.due_at))
        .limit(limit)
    )
    if tx.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claim = (
        update(FollowUp)
        .where(col(FollowUp.id).in_(due.scalar_subquery()), col(FollowUp.announced_at).is_(None))
        .values(announced_at=now)
        .returning(col(FollowUp.id), col(FollowUp.ticket_id), col(FollowUp.due_at))
    )
    rows = (await tx.session.exec(claim)).all()
    return [(int(r[0]), int(r[1]), r[2]) for r in rows]
