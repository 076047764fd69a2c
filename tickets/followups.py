"""Follow-up (回访) after resolution: due after a delay, shown to agents, scored 1–5.

The follow-up row is written with the `resolved` transition, so it survives
restarts; `SlaWorker` announces due ones once (`announced_at`). Recording an
outcome is a compare-and-set on `state = pending`, so two agents (or an agent
and the IVR survey) cannot both record one. A score at or below `low_score`
reopens a resolved ticket, or flags a ticket that is already closed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select

from tickets.errors import NotFound, RuleViolation
from tickets.events import FollowUpDue, TicketFlagged
from tickets.lifecycle import Actor
from tickets.models import FollowUp, FollowUpState, TicketState
from tickets.schemas import FollowUpPublic, FollowUpRecord
from tickets.uow import DeskContext, Tx
from tickets.workflow import apply_transition, load_ticket, write_ticket


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

    async def _record(self, tx: Tx, row: FollowUp, data: FollowUpRecord, actor: Actor) -> FollowUp:
        result = await tx.session.exec(
            update(FollowUp)
            .where(col(FollowUp.id) == row.id, col(FollowUp.state) == FollowUpState.PENDING)
            .values(
                state=FollowUpState.DONE,
                outcome=data.outcome,
                score=data.score,
                channel=data.channel,
                recorded_by=actor.id,
                recorded_at=tx.now,
            )
        )
        if result.rowcount != 1:
            raise RuleViolation(f"follow-up {row.id} is not pending (already recorded or cancelled)")
        fresh = await tx.session.get(FollowUp, row.id, populate_existing=True)
        assert fresh is not None
        tx.journal(fresh.ticket_id, "follow_up", actor, data.outcome, score=data.score, channel=data.channel)
        tx.audit(
            actor, "ticket.follow_up", f"ticket:{fresh.ticket_id}", follow_up_id=fresh.id, score=data.score
        )
        await self._consequences(tx, fresh, actor)
        return fresh

    async def _consequences(self, tx: Tx, row: FollowUp, actor: Actor) -> None:
        ticket = await load_ticket(tx.session, row.ticket_id)
        config = self._ctx.config
        if row.score is not None and row.score <= config.low_score:
            reason = f"low satisfaction score {row.score}"
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
            ticket = await write_ticket(tx, ticket, ticket.version, {"flagged": True, "flag_reason": reason})
            tx.journal(row.ticket_id, "flag", actor, reason)
            tx.audit(actor, "ticket.flag", f"ticket:{row.ticket_id}", reason=reason)
            tx.publish(TicketFlagged(row.ticket_id, reason, tx.now))
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

    async def announce_due(self, now: datetime, *, limit: int = 100) -> list[FollowUpDue]:
        """Mark due follow-ups announced (once, whatever the number of workers) and publish them."""
        async with self._ctx.tx() as tx:
            rows = await _claim(tx, now, limit)
            for follow_id, ticket_id, due_at in rows:
                tx.publish(FollowUpDue(follow_id, ticket_id, due_at))
            announced = [e for e in tx.events if isinstance(e, FollowUpDue)]
        return announced


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
