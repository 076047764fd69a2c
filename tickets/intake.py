"""Call intake: the service desk's side of an incoming call, ahead of the router.

When a call is offered, the desk matches the caller and opens or updates their
ticket (tickets.calls). The resulting `CallContext` is kept per call, so the
router (priority from the customer's tier, the ticket owner and the last agent
waited for first) and the screen pop use the same answer without asking the
database twice.

On the bus, `on_offered` runs ahead of the ACD (the router needs the context)
and `on_other` after it (the desk's bookkeeping need not delay routing).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from routing.commands import OfferCall
from routing.events import CallEvent, CallEventKind, Event
from tickets.errors import InvalidPhoneNumber
from tickets.models import CustomerTier
from tickets.phones import normalize
from tickets.schemas import CallContext
from tickets.service import ServiceDesk

CONTEXTS = 50_000  # calls whose context is kept (the oldest are forgotten first)
OFFER_ATTEMPTS = 4  # an offered call's intake, tried again after a transient database error
OFFER_RETRY_S = 0.05  # the first pause; doubled each time

log = logging.getLogger(__name__)


class CallIntake:
    def __init__(self, desk: ServiceDesk, region: str) -> None:
        self.desk = desk
        self.region = region
        self._contexts: OrderedDict[str, CallContext] = OrderedDict()

    def context_of(self, call_id: str) -> CallContext | None:
        """What the desk found when the call was offered (None: not offered here, or forgotten)."""
        return self._contexts.get(call_id)

    async def on_offered(self, event: Event) -> None:
        """Bus subscriber ahead of the ACD: the router needs the caller's tier and owners."""
        if not isinstance(event, CallEvent) or event.kind is not CallEventKind.OFFERED:
            return
        if event.call_id not in self._contexts:
            self._contexts[event.call_id] = await self._take(event)
            if len(self._contexts) > CONTEXTS:
                self._contexts.popitem(last=False)

    async def _take(self, event: CallEvent) -> CallContext:
        """The desk's intake of an offered call, tried again after a transient database error.

        Under a storm SQLite's one writer can be busy past the busy timeout ("database is
        locked"), and a PostgreSQL connection can drop; the call's ticket would then be missing
        for good (only an answered call is taken in again later). The intake is idempotent (a
        repeated offer finds the ticket it opened), so it is simply tried again."""
        for attempt in range(OFFER_ATTEMPTS - 1):
            try:
                return await self.desk.on_call_offered(event)
            except OperationalError as exc:
                log.warning("intake of call %s failed (%s); trying again", event.call_id, exc.orig or exc)
                await asyncio.sleep(OFFER_RETRY_S * 2**attempt)
        return await self.desk.on_call_offered(event)  # the last attempt's error is the bus's to count

    async def on_other(self, event: Event) -> None:
        """Bus subscriber after the ACD: every other event goes to the desk's bookkeeping."""
        if not (isinstance(event, CallEvent) and event.kind is CallEventKind.OFFERED):
            await self.desk.handle(event)

    async def on_other_batch(self, events: Sequence[Event]) -> None:
        """The same, the events queued meanwhile together (the bus's `subscribe_batch`)."""
        await self.desk.handle_batch(
            [e for e in events if not (isinstance(e, CallEvent) and e.kind is CallEventKind.OFFERED)]
        )

    async def offer(self, event: CallEvent) -> OfferCall | None:
        """The router's OfferCall for an offered call, with the customer's tier and owners."""
        if event.queue is None:
            return None
        context = self._contexts.get(event.call_id)
        arrived = event.at.timestamp()
        if context is None:
            return OfferCall(
                call_id=event.call_id, queue=event.queue, caller=event.caller, arrived_at=arrived
            )
        return OfferCall(
            call_id=event.call_id,
            queue=event.queue,
            caller=event.caller,
            arrived_at=arrived,
            tier=str(context.tier or CustomerTier.ORDINARY),
            ticket_owner=context.ticket_owner_agent_id,
            last_agent=context.last_agent_id,
        )

    def normalize_number(self, raw: str) -> str | None:
        """The number in E.164 for the call log, or None if it cannot be read."""
        try:
            return normalize(raw, self.region).e164
        except InvalidPhoneNumber:
            return None
