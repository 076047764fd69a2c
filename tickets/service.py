"""`ServiceDesk`: the one object the composition root builds for the service desk.

    desk = ServiceDesk(sessions, region="CN", config=desk_config)   # config: tickets.config.DeskConfig
    bus.subscribe("service-desk", desk.handle)                      # CallEvents in
    desk.subscribe(console.on_desk_event)                           # DeskEvents out (after commit)
    desk.sla_worker.install(scheduler)                              # APScheduler 3 interval job
    context = await desk.on_call_offered(event)                     # screen pop + router priority

The parts are reachable for the API routers: `desk.customers`, `desk.tickets`,
`desk.work_orders`, `desk.follow_ups`, `desk.timeline`, `desk.calls`, `desk.notices`,
`desk.incidents`, `desk.ticket_merges`
(customer SMS: `desk.notices.port = ...` and `desk.notices.install(scheduler)`).
Every write goes through the audit log (`audit.log.AuditLog` unless another
sink is given) inside the same transaction as the change it records.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.log import AuditLog
from config.database import utcnow
from routing.events import CallEvent, Event
from tickets.calls import CallDesk
from tickets.categories import Categories
from tickets.config import DeskConfig
from tickets.customers import CustomerDirectory
from tickets.figures import Figures
from tickets.followups import FollowUps
from tickets.incidents import Incidents
from tickets.kb import KnowledgeBase
from tickets.merge import CustomerMerge
from tickets.notices import Notices
from tickets.schemas import CallContext, CustomerCard
from tickets.search import TicketSearch
from tickets.sla_worker import SlaWorker
from tickets.ticket_merge import TicketMerge
from tickets.timeline import Timeline
from tickets.uow import AuditSink, Clock, DeskContext, Listener
from tickets.workflow import TicketWorkflow
from tickets.workorders import WorkOrders


class ServiceDesk:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        region: str | None = None,
        config: DeskConfig | None = None,
        audit: AuditSink | None = None,
        clock: Clock = utcnow,
    ) -> None:
        config = config or DeskConfig()
        if region is not None and region.upper() != config.region:
            config = config.model_copy(update={"region": region.upper()})
        self.ctx = DeskContext(sessions, config, audit or AuditLog(clock=clock), clock)
        self.customers = CustomerDirectory(self.ctx)
        self.tickets = TicketWorkflow(self.ctx)
        self.calls = CallDesk(self.ctx)
        self.work_orders = WorkOrders(self.ctx)
        self.follow_ups = FollowUps(self.ctx)
        self.timeline = Timeline(self.ctx)
        self.figures = Figures(self.ctx)  # responsibility per department and technician (#20)
        self.categories = Categories(self.ctx)  # the chosen list and each one's dispatch rule
        self.kb = KnowledgeBase(self.ctx)
        self.search = TicketSearch(self.ctx)  # lists, views and the index-backed text search
        self.notices = Notices(self.ctx)
        self.merges = CustomerMerge(self.ctx)
        self.ticket_merges = TicketMerge(self.ctx)  # two tickets of one problem
        self.incidents = Incidents(self.ctx)  # mass faults: their callers' tickets as children
        self.ctx.notices = self.notices
        self.sla_worker = SlaWorker(self.ctx)

    @property
    def config(self) -> DeskConfig:
        return self.ctx.config

    def close(self) -> None:
        """Release the SQLite read connection (call beside `engine.dispose()`)."""
        self.ctx.reads.close()
        self.ctx.offers.close()
        self.search.close()

    def subscribe(self, listener: Listener) -> None:
        """Receive DeskEvents (tickets.events) after each commit: websocket pushes, wallboard."""
        self.ctx.listeners.append(listener)

    async def on_call_offered(self, event: CallEvent) -> CallContext:
        """Match the caller, open or update their ticket, return the pop's context. Idempotent."""
        return await self.calls.on_call_offered(event)

    async def handle(self, event: Event) -> None:
        """Event-bus handler: OFFERED opens/updates, ANSWERED records the agent, and so on."""
        await self.calls.handle(event)

    async def handle_batch(self, events: Sequence[Event]) -> None:
        """The same for the events queued meanwhile (the bus's lane behind): one transaction."""
        await self.calls.handle_batch(events)

    async def card(self, customer_id: int) -> CustomerCard:
        return await self.customers.card(customer_id)
