"""The SLA timer: one interval job that claims tickets whose next SLA checkpoint is due.

Deadlines live in the ticket rows (`sla_next_at`), not in the scheduler, so a
restart loses nothing: the first run after start-up fires whatever came due
while the process was down. Several workers may run the job: on PostgreSQL the
due rows are claimed with `SELECT … FOR UPDATE SKIP LOCKED` (each worker takes
different rows); on SQLite the claim is an `UPDATE … RETURNING`, which takes the
database's single write lock. Within the claim each ticket is evaluated,
journalled and written under its version in the same transaction, and
`sla_fired` remembers what fired, so no checkpoint fires twice.

Time comes from the injected clock: tests move a fake clock and call `tick()`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from tickets import sla
from tickets.followups import FollowUps
from tickets.models import SlaStatus, Ticket
from tickets.uow import DeskContext, Tx
from tickets.workflow import load_ticket, record_firings, sla_view, write_ticket

log = logging.getLogger(__name__)

JOB_ID = "tickets-sla"
_MAX_BATCHES = 50  # per tick; the rest waits for the next tick rather than starving the loop


class SlaWorker:
    def __init__(self, ctx: DeskContext, *, batch: int = 200) -> None:
        self._ctx = ctx
        self._batch = batch

    async def tick(self) -> int:
        """The scheduler job: SLA checkpoints, then due follow-ups. Returns tickets evaluated."""
        now = self._ctx.clock()
        total = 0
        for _ in range(_MAX_BATCHES):  # a backlog after downtime: batches, each its own transaction
            done = await self.run_due(now)
            total += done
            if done < self._batch:
                break
        await FollowUps(self._ctx).announce_due(now)
        return total

    async def run_due(self, now: datetime) -> int:
        async with self._ctx.tx() as tx:
            ids = await _claim(tx, now, self._batch)
            for ticket_id in ids:
                await self._evaluate(tx, ticket_id)
        return len(ids)

    async def _evaluate(self, tx: Tx, ticket_id: int) -> None:
        ticket = await load_ticket(tx.session, ticket_id)
        outcome = sla.evaluate(sla_view(self._ctx, ticket, ticket.state), tx.now)
        values: dict[str, Any] = {
            **record_firings(tx, ticket, outcome.fired_now),
            "sla_fired": sla.format_fired(outcome.fired),
            "sla_status": outcome.status if ticket.sla_policy else SlaStatus.NONE,
            "sla_next_at": outcome.next_at,
        }
        if outcome.fired_now:
            await write_ticket(tx, ticket, ticket.version, values)
        else:  # nothing fired (the plan moved): reschedule without a new version
            await tx.session.exec(update(Ticket).where(col(Ticket.id) == ticket_id).values(**values))

    def install(self, scheduler: Any, *, interval_s: float = 15.0) -> None:
        """Add the job to an APScheduler 3 AsyncIOScheduler (idempotent across restarts)."""
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=interval_s,
            id=JOB_ID,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(interval_s * 4)),
        )


async def _claim(tx: Tx, now: datetime, limit: int) -> list[int]:
    due = (
        select(Ticket.id).where(col(Ticket.sla_next_at) <= now).order_by(col(Ticket.sla_next_at)).limit(limit)
    )
    if tx.session.get_bind().dialect.name == "postgresql":
        rows = (await tx.session.exec(due.with_for_update(skip_locked=True))).all()
        return [int(r) for r in rows if r is not None]
    claim = (
        update(Ticket)
        .where(col(Ticket.id).in_(due.scalar_subquery()))
        .values(sla_next_at=col(Ticket.sla_next_at))
        .returning(col(Ticket.id))
    )
    return sorted(int(r[0]) for r in (await tx.session.exec(claim)).all())
