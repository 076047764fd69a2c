"""Customer notifications (SMS): on dispatch (who comes, when) and on resolve (with the survey).

Outbox, then delivery, each its own transaction:

    dispatch / resolve ──(same transaction)──► notice row (pending, unique key)
    worker tick: claim due rows (pending → sending) ──► SmsPort.send ──► sent | retry | failed | unknown
    worker tick: sent rows ──► SmsPort.status ──► delivered | undelivered (or ask again later)

Never twice: the row's unique `key` makes a replayed step add nothing; a row is handed to the
provider only by the worker that claimed it (`UPDATE … WHERE state = 'pending'`, SKIP LOCKED on
PostgreSQL); a retry happens only when the provider said it did not take the message (5xx,
429, a refused connection). When the outcome is not known (a timeout after the request went
out, a worker that died mid-send) the row becomes `unknown` and is not sent again: a customer
missing one text is better than one receiving two. Every step is on the ticket's timeline
(kind `notification`) with the attempt and the provider's status.

Optional per call center (`service_desk.notifications`); each message in the customer's
language (their record's `lang:` tag, else the center's default). The port is a Protocol:
the Twilio adapter lives in cti/twilio/sms.py and no vendor word comes in here.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from tickets.customers import language_tag
from tickets.models import (
    Customer,
    CustomerPhone,
    Incident,
    IncidentState,
    Notice,
    NoticeState,
    Technician,
    Ticket,
    WorkOrder,
)
from tickets.uow import DeskContext, Tx

log = logging.getLogger(__name__)

JOB_ID = "tickets-notices"
STALE_SENDING = timedelta(minutes=5)  # a claim older than this died mid-send: outcome unknown
POLL_FOR = timedelta(hours=24)  # how long delivery status is asked for after sending


class SmsOutcome(enum.StrEnum):
    ACCEPTED = "accepted"  # the provider took it (or answered a status query)
    RETRY = "retry"  # the provider did not take it, and may later (5xx, 429, no connection)
    REFUSED = "refused"  # it never will (invalid number, blocked, bad credentials)
    UNKNOWN = "unknown"  # the request may have gone through (timeout after sending)


class SmsReceipt(Protocol):
    """What the provider answered. `outcome` is an `SmsOutcome` value; `status` the provider's
    delivery status (queued, sent, delivered, undelivered, failed); `error` a short reason,
    never credentials."""

    @property
    def outcome(self) -> str: ...

    @property
    def provider_id(self) -> str | None: ...

    @property
    def status(self) -> str: ...

    @property
    def error(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Receipt:
    outcome: str
    provider_id: str | None = None
    status: str = ""
    error: str = ""


class SmsPort(Protocol):
    """Sends one text message and reports its delivery status (cti.twilio.sms.TwilioSms)."""

    async def send(self, to: str, body: str) -> SmsReceipt: ...

    async def status(self, provider_id: str) -> SmsReceipt: ...

    async def close(self) -> None:
        """Release the connection pool (at shutdown)."""
        ...


DELIVERED_STATUSES = frozenset({"delivered", "read"})
UNDELIVERED_STATUSES = frozenset({"undelivered", "failed", "canceled"})

TEXTS: dict[str, dict[str, str]] = {
    "dispatched": {
        "zh-CN": "【{center}】您的服务单 #{ticket} 已派工：{technician}将于{window}上门服务。",
        "en": "{center}: your ticket #{ticket} is dispatched. {technician} will come {window}.",
    },
    "resolved": {
        "zh-CN": "【{center}】您的服务单 #{ticket} 已处理完毕。请为本次服务评分：回复 1-5（5 为非常满意）。",
        "en": "{center}: your ticket #{ticket} is resolved. Rate us: reply 1-5 (5 = very good).",
    },
    "incident": {
        "zh-CN": "【{center}】{description}已恢复，给您带来不便，敬请谅解。您的服务单 #{ticket} 已处理完毕。"
        "请为本次服务评分：回复 1-5（5 为非常满意）。",
        "en": "{center}: {description} - fixed now, sorry for the trouble. "
        "Your ticket #{ticket} is resolved. Rate us: reply 1-5 (5 = very good).",
    },
}
WINDOW = {
    "zh-CN": ("{month}月{day}日 {time}", "尽快"),
    "en": ("on {date} at {time}", "as soon as possible"),
}
SPAN = {"zh-CN": "{start}至{end}", "en": "{start} to {end}"}


def message(kind: str, language: str, **values: str) -> str:
    texts = TEXTS[kind]
    return (texts.get(language) or texts["en"]).format(**values)


def window_text(due_at: datetime | None, language: str, zone: str, start: datetime | None = None) -> str:
    """The appointment as the customer reads it: "12月2日 10:00至12:00", "on Dec 2 at 10:00 to 12:00"."""
    with_time, soon = WINDOW.get(language, WINDOW["en"])
    first = start or due_at
    if first is None:
        return soon
    local = first.astimezone(ZoneInfo(zone))
    text = with_time.format(
        month=local.month, day=local.day, date=f"{local:%b} {local.day}", time=f"{local:%H:%M}"
    )
    if start is not None and due_at is not None and due_at > start:
        end = due_at.astimezone(ZoneInfo(zone))
        return SPAN.get(language, SPAN["en"]).format(start=text, end=f"{end:%H:%M}")
    return text


def is_mobile(e164: str) -> bool:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(number)
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


class Notices:
    """The outbox writer (inside the desk's transactions) and its delivery worker."""

    def __init__(self, ctx: DeskContext) -> None:
        self._ctx = ctx
        self.port: SmsPort | None = None  # set by the composition root when SMS is configured

    @property
    def _spec(self) -> Any:
        return self._ctx.config.notifications

    # ------------------------------------------------------------------ the outbox (in transactions)

    async def on_dispatched(self, tx: Tx, ticket: Ticket, order: WorkOrder) -> None:
        if not (self._spec.sms and self._spec.on_dispatch) or order.id is None:
            return
        tech = await tx.session.get(Technician, order.technician_id) if order.technician_id else None
        target = await self._target(tx, ticket)
        if target is None:
            return
        to, language = target
        body = message(
            "dispatched",
            language,
            center=self._spec.sender_name,
            ticket=str(ticket.id),
            technician=tech.name if tech else ("维修人员" if language == "zh-CN" else "a technician"),
            window=window_text(
                order.due_at, language, self._ctx.config.calendar.timezone, order.appointment_start
            ),
        )
        await self._enqueue(tx, f"dispatched:{order.id}", ticket, "dispatched", to, language, body)

    async def on_resolved(self, tx: Tx, ticket: Ticket) -> None:
        if not (self._spec.sms and self._spec.on_resolve) or ticket.id is None:
            return
        if ticket.incident_id is not None and await self._incident_resolved(tx, ticket.incident_id):
            return  # resolved with its incident: `on_incident_resolved` has told the customer
        target = await self._target(tx, ticket)
        if target is None:
            return
        to, language = target
        body = message("resolved", language, center=self._spec.sender_name, ticket=str(ticket.id))
        # One per resolution: a reopened and again resolved ticket is told again, a replay is not.
        stamp = ticket.resolved_at.isoformat() if ticket.resolved_at else tx.now.isoformat()
        await self._enqueue(tx, f"resolved:{ticket.id}:{stamp}", ticket, "resolved", to, language, body)

    async def on_incident_resolved(self, tx: Tx, ticket: Ticket, incident: Incident) -> None:
        """The incident's one text per number: a customer with two child tickets is told once."""
        if not (self._spec.sms and self._spec.on_resolve) or ticket.id is None:
            return
        target = await self._target(tx, ticket)
        if target is None:
            return
        to, language = target
        description = incident.description_en if language == "en" else incident.description_zh
        body = message(
            "incident",
            language,
            center=self._spec.sender_name,
            ticket=str(ticket.id),
            description=description,
        )
        await self._enqueue(tx, f"incident:{incident.id}:{to}", ticket, "incident", to, language, body)

    @staticmethod
    async def _incident_resolved(tx: Tx, incident_id: int) -> bool:
        state = (await tx.session.exec(select(Incident.state).where(Incident.id == incident_id))).first()
        return state is IncidentState.RESOLVED

    async def _target(self, tx: Tx, ticket: Ticket) -> tuple[str, str] | None:
        """(mobile number, language) to text, or None (journalled) when there is none."""
        customer = await tx.session.get(Customer, ticket.customer_id) if ticket.customer_id else None
        numbers = [ticket.caller_e164] if ticket.caller_e164 else []
        if customer is not None:
            phones = await tx.session.exec(
                select(CustomerPhone.e164)
                .where(CustomerPhone.customer_id == customer.id)
                .order_by(col(CustomerPhone.id))
            )
            numbers += list(phones.all())
        mobile = next((n for n in numbers if is_mobile(n)), None)
        if mobile is None:
            assert ticket.id is not None
            tx.journal(ticket.id, "notification", "system", "no mobile number to text", state="skipped")
            return None
        tagged = language_tag(customer.tags) if customer is not None else None
        language = "en" if tagged and tagged.lower().startswith("en") else self._spec.default_language
        if tagged and tagged.lower().startswith("zh"):
            language = "zh-CN"
        return mobile, language

    async def _enqueue(
        self, tx: Tx, key: str, ticket: Ticket, kind: str, to: str, language: str, body: str
    ) -> None:
        assert ticket.id is not None
        values = {
            "key": key,
            "ticket_id": ticket.id,
            "kind": kind,
            "channel": "sms",
            "to": to,
            "language": language,
            "body": body,
            "state": NoticeState.PENDING.value,
            "attempts": 0,
            "next_at": tx.now,
            "provider_status": "",
            "error": "",
            "created_at": tx.now,
            "updated_at": tx.now,
        }
        dialect = tx.session.get_bind().dialect.name
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(Notice)
        statement = insert.values(**values).on_conflict_do_nothing(index_elements=["key"])
        added = await tx.session.exec(statement.returning(col(Notice.id)))
        if added.first() is not None:  # (rowcount of an upsert differs between drivers)
            tx.journal(ticket.id, "notification", "system", body, notice=kind, state="queued", to=_masked(to))

    # ------------------------------------------------------------------ delivery (the worker)

    async def tick(self) -> int:
        """The scheduler job: mark dead claims unknown, send what is due, ask for statuses."""
        if self.port is None:
            return 0
        now = self._ctx.clock()
        await self._expire_claims(now)
        sent = 0
        for notice_id in await self._claim(now, limit=20):
            await self._send(notice_id)
            sent += 1
        await self._poll(now, limit=50)
        return sent

    async def _claim(self, now: datetime, limit: int) -> list[int]:
        async with self._ctx.tx() as tx:
            due = (
                select(Notice.id)
                .where(Notice.state == NoticeState.PENDING, col(Notice.next_at) <= now)
                .order_by(col(Notice.next_at))
                .limit(limit)
            )
            if tx.session.get_bind().dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            claimed = await tx.session.exec(
                update(Notice)
                .where(col(Notice.id).in_(due.scalar_subquery()), col(Notice.state) == NoticeState.PENDING)
                .values(
                    state=NoticeState.SENDING,
                    attempts=col(Notice.attempts) + 1,
                    next_at=None,
                    updated_at=now,
                )
                .returning(col(Notice.id))
            )
            return sorted(int(r[0]) for r in claimed.all())

    async def _send(self, notice_id: int) -> None:
        assert self.port is not None
        async with self._ctx.sessions() as session:
            row = await session.get(Notice, notice_id)
        if row is None:
            return
        try:
            receipt = await self.port.send(row.to, row.body)
        except Exception as exc:  # an adapter bug must not leave the row claimed forever
            log.exception("SMS port failed on notice %s", notice_id)
            receipt = Receipt(SmsOutcome.UNKNOWN, error=type(exc).__name__)
        await self._record_send(row, receipt)

    async def _record_send(self, row: Notice, receipt: SmsReceipt) -> None:
        spec = self._spec
        async with self._ctx.tx() as tx:
            values: dict[str, Any] = {"updated_at": tx.now, "error": receipt.error[:300]}
            if receipt.outcome == SmsOutcome.ACCEPTED:
                state = _final_state(receipt.status) or NoticeState.SENT
                values.update(
                    state=state,
                    provider_id=receipt.provider_id,
                    provider_status=receipt.status[:20],
                    sent_at=tx.now,
                    next_at=None if state is not NoticeState.SENT else tx.now + spec.status_poll,
                )
            elif receipt.outcome == SmsOutcome.RETRY and row.attempts < spec.max_attempts:
                state = NoticeState.PENDING
                values.update(state=state, next_at=tx.now + spec.retry_delay(row.attempts))
            elif receipt.outcome == SmsOutcome.UNKNOWN:
                state = NoticeState.UNKNOWN
                values.update(state=state)
            else:
                state = NoticeState.FAILED
                values.update(state=state)
            await tx.session.exec(
                update(Notice)
                .where(col(Notice.id) == row.id, col(Notice.state) == NoticeState.SENDING)
                .values(**values)
            )
            shown = "retry" if state is NoticeState.PENDING else state.value
            note = f"SMS {shown} to {_masked(row.to)}, attempt {row.attempts}"
            if receipt.status:
                note += f", {receipt.status}"
            if receipt.error:
                note += f": {receipt.error}"
            tx.journal(
                row.ticket_id,
                "notification",
                "system",
                note,
                notice=row.kind,
                state=shown,
                attempt=row.attempts,
                provider_status=receipt.status,
                to=_masked(row.to),
            )

    async def _expire_claims(self, now: datetime) -> None:
        async with self._ctx.tx() as tx:
            stale = await tx.session.exec(
                update(Notice)
                .where(col(Notice.state) == NoticeState.SENDING, col(Notice.updated_at) < now - STALE_SENDING)
                .values(state=NoticeState.UNKNOWN, updated_at=now, error="worker stopped mid-send")
                .returning(col(Notice.ticket_id), col(Notice.kind))
            )
            for ticket_id, kind in stale.all():
                tx.journal(
                    int(ticket_id),
                    "notification",
                    "system",
                    "outcome unknown: not sent again",
                    notice=kind,
                    state="unknown",
                )

    async def _poll(self, now: datetime, limit: int) -> None:
        assert self.port is not None
        async with self._ctx.sessions() as session:
            rows = (
                await session.exec(
                    select(Notice)
                    .where(Notice.state == NoticeState.SENT, col(Notice.next_at) <= now)
                    .order_by(col(Notice.next_at))
                    .limit(limit)
                )
            ).all()
        for row in rows:
            if row.provider_id is None:
                continue
            receipt = await self.port.status(row.provider_id)
            await self._record_status(row, receipt, now)

    async def _record_status(self, row: Notice, receipt: SmsReceipt, now: datetime) -> None:
        final = _final_state(receipt.status) if receipt.outcome == SmsOutcome.ACCEPTED else None
        async with self._ctx.tx() as tx:
            if final is None:
                expired = row.sent_at is not None and now - row.sent_at > POLL_FOR
                await tx.session.exec(
                    update(Notice)
                    .where(col(Notice.id) == row.id, col(Notice.state) == NoticeState.SENT)
                    .values(
                        next_at=None if expired else now + self._spec.status_poll,
                        provider_status=(receipt.status or row.provider_status)[:20],
                        updated_at=now,
                    )
                )
                return
            changed = await tx.session.exec(
                update(Notice)
                .where(col(Notice.id) == row.id, col(Notice.state) == NoticeState.SENT)
                .values(state=final, next_at=None, provider_status=receipt.status[:20], updated_at=now)
            )
            if changed.rowcount == 1:
                tx.journal(
                    row.ticket_id,
                    "notification",
                    "system",
                    f"SMS {final.value} to {_masked(row.to)} ({receipt.status})",
                    notice=row.kind,
                    state=final.value,
                    provider_status=receipt.status,
                    to=_masked(row.to),
                )

    def install(self, scheduler: Any, *, interval_s: float = 5.0) -> None:
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

    async def for_ticket(self, ticket_id: int) -> list[Notice]:
        async with self._ctx.sessions() as session:
            rows = await session.exec(
                select(Notice).where(Notice.ticket_id == ticket_id).order_by(col(Notice.id))
            )
            return list(rows.all())


def _final_state(status: str) -> NoticeState | None:
    if status in DELIVERED_STATUSES:
        return NoticeState.DELIVERED
    if status in UNDELIVERED_STATUSES:
        return NoticeState.UNDELIVERED
    return None


def _masked(e164: str) -> str:
    """For the timeline: enough to recognise the number, not to copy it (+86138****8000)."""
    return e164[:6] + "****" + e164[-4:] if len(e164) > 10 else e164
