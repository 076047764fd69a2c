"""The composition root: the one place where Hotline's parts are built and wired.

`build(settings)` creates the engine, bus, router, services and telephony link;
`Container.run()` runs the long-lived tasks (bus workers, ACD timers, PBX link,
and in demo mode the simulated PBX) in one TaskGroup, so they start and stop
together and a crash in one is not silently lost. Nothing is created at import.

Bus handler order matters and is fixed here: first the service desk's intake
of an offered call (customer match, open-or-update ticket: the context the
router and the pop need), then the ACD (routing must not wait for bookkeeping),
then the call log, the rest of the service desk, recordings, the console (pops)
and the wallboard. Events of one call go through all of them in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.console import ConsoleService
from agent_ui.hub import Hub
from agent_ui.recovery import StartupRecovery
from agent_ui.wallboard import WallboardService
from calls.log import CallLog
from config.callcenter import CallCenter, CallCenterError, load_callcenter
from config.database import create_engine, session_factory
from config.hours import utc_offsets
from config.settings import Settings
from cti.acd import AcdService
from cti.bus import EventBus
from cti.simulator import SimulatedPbx
from cti.simulator.standalone import simulated_queues
from recordings.wiring import ASTERISK_MONITOR, Recordings, build_recordings
from routing import Router
from routing.commands import OfferCall
from routing.config import AgentConfig, RouterConfig
from routing.errors import ConfigError
from routing.events import CallEvent, CallEventKind, Event
from routing.loading import queue_config
from tickets.config import DeskConfig, DeskConfigError, parse_desk_config
from tickets.errors import InvalidPhoneNumber
from tickets.phones import normalize
from tickets.service import ServiceDesk

log = logging.getLogger(__name__)

_CONTEXTS = 50_000


def router_config(center: CallCenter, mode: str, now: datetime | None = None) -> RouterConfig:
    """The router's configuration from the call-center file. Raises CallCenterError naming the queue."""
    around = now or datetime.now(UTC)
    queues = []
    for q in center.queues:
        data: dict[str, Any] = {
            "name": q.name,
            "strategy": q.strategy,
            "ring_timeout_s": q.ring_timeout_s,
            "wrapup_s": q.wrapup_s,
            **q.routing,
        }
        if q.hours is not None:
            data["hours"] = q.hours.business_hours(around)
        try:
            queues.append(queue_config(data))
        except ConfigError as exc:
            raise CallCenterError(f"queues[{q.name}]: {exc}") from exc
    agents = [
        AgentConfig(id=a.id, name=a.name, queues=a.queues, skills=a.skills, wrapup_s=a.wrapup_s)
        for a in center.agents
    ]
    try:
        return RouterConfig(
            mode=mode,  # type: ignore[arg-type]
            queues=queues,
            agents=agents,
            utc_offsets=utc_offsets(center.timezone, around),
        )
    except ConfigError as exc:
        raise CallCenterError(str(exc)) from exc


def desk_config(center: CallCenter) -> DeskConfig:
    """The service desk's rules from the call-center file's `service_desk:` section."""
    try:
        return parse_desk_config(center.service_desk, origin="service_desk")
    except DeskConfigError as exc:
        raise CallCenterError(str(exc)) from exc


@dataclass
class Container:
    settings: Settings
    callcenter: CallCenter
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bus: EventBus
    hub: Hub
    router: Router
    acd: AcdService
    desk: ServiceDesk
    intake: CallIntake
    calllog: CallLog
    console: ConsoleService
    wallboard: WallboardService  # supervisors' live view
    link: Any | None = None  # cti.asterisk.AsteriskLink / cti.twilio.link.TwilioLink when a PBX is configured
    recordings: Recordings | None = None
    pbx: SimulatedPbx | None = None  # demo: the simulated PBX runs in-process
    replay_ledger: Any | None = None  # Twilio: answered webhooks in the database (purged on a schedule)
    recovery: StartupRecovery | None = None  # after the PBX link is up: what happened while we were down
    started: asyncio.Event = field(default_factory=asyncio.Event)
    recovered: asyncio.Event = field(default_factory=asyncio.Event)

    # ------------------------------------------------------------------ tasks
    async def run(self) -> None:
        scheduler = AsyncIOScheduler(timezone="UTC")
        if self.recordings is not None:
            await asyncio.to_thread(self.recordings.store.sweep_staging)  # leftovers of a crash
            self.recordings.schedule(scheduler)
        self.desk.sla_worker.install(scheduler)
        if self.replay_ledger is not None:
            scheduler.add_job(
                self.replay_ledger.purge, "interval", hours=1, id="twilio.replay_purge", replace_existing=True
            )
        scheduler.start()
        try:
            await self._run_tasks()
        finally:
            scheduler.shutdown(wait=False)

    async def _run_tasks(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.bus.run(), name="bus")
            group.create_task(self.acd.run(), name="acd-timers")
            group.create_task(self.wallboard.run(), name="wallboard")
            if self.pbx is not None:
                group.create_task(self.pbx.run(), name="simulated-pbx")
                await self.pbx.wait_ready()
                if self.link is not None:
                    self.link.port = self.pbx.port
            if self.link is not None:
                group.create_task(self.link.run(), name="pbx-link")
            if self.recovery is not None:
                group.create_task(self._recover(self.recovery), name="startup-recovery")
            self.started.set()

    async def _recover(self, recovery: StartupRecovery) -> None:
        """Once the link's first login (and its resync) is done; a failure is logged, never fatal."""
        assert self.link is not None
        while True:
            try:
                await self.link.wait_connected(timeout=60)
                break
            except TimeoutError:
                log.warning("startup recovery waits for the PBX link")
        try:
            await recovery.run()
        except Exception:
            log.exception("startup recovery failed: calls left open stay open until the next start")
        finally:
            self.recovered.set()

    async def aclose(self) -> None:
        self.desk.close()
        await self.engine.dispose()


class CallIntake:
    """Service-desk side of an incoming call: match the caller, open or update the ticket.

    Keeps the resulting context per call so the router (priority, sticky agent)
    and the screen pop use the same answer without asking the database twice.
    """

    def __init__(self, desk: ServiceDesk, region: str) -> None:
        self.desk = desk
        self.region = region
        self._contexts: OrderedDict[str, Any] = OrderedDict()

    def context_of(self, call_id: str) -> Any | None:
        return self._contexts.get(call_id)

    async def on_offered(self, event: Event) -> None:
        """Bus handler ahead of the ACD: the router needs the caller's tier and owners."""
        if not isinstance(event, CallEvent) or event.kind is not CallEventKind.OFFERED:
            return
        if event.call_id not in self._contexts:
            self._contexts[event.call_id] = await self.desk.on_call_offered(event)
            if len(self._contexts) > _CONTEXTS:
                self._contexts.popitem(last=False)

    async def on_other(self, event: Event) -> None:
        """Bus handler after the ACD: the desk's bookkeeping need not delay routing."""
        if not (isinstance(event, CallEvent) and event.kind is CallEventKind.OFFERED):
            await self.desk.handle(event)

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
            tier=str(context.tier or "ordinary"),
            ticket_owner=context.ticket_owner_agent_id,
            last_agent=context.last_agent_id,
        )

    def normalize_number(self, raw: str) -> str | None:
        try:
            return normalize(raw, self.region).e164
        except InvalidPhoneNumber:
            return None


def build(settings: Settings, *, clock: Any = time.time) -> Container:
    center = load_callcenter(settings.callcenter_file)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    bus = EventBus()
    hub = Hub()
    router = Router(router_config(center, settings.mode))
    telephony_link: Any = None  # cti.asterisk.AsteriskLink | cti.twilio.link.TwilioLink
    replay_ledger: Any = None  # cti.twilio.replay_store.DatabaseReplayLedger with Twilio
    pbx = None
    if settings.pbx == "asterisk":
        from cti.asterisk import AsteriskLink  # only when a PBX is configured

        if settings.demo:
            pbx = SimulatedPbx(
                host="127.0.0.1",
                port=settings.ami_port,
                username=settings.ami_username,
                secret=settings.ami_secret.get_secret_value(),
                recordings_dir=settings.recordings_dir / "incoming",
                queues=simulated_queues(center),
            )
        telephony_link = AsteriskLink(
            host=settings.ami_host,
            port=settings.ami_port,
            username=settings.ami_username,
            secret=settings.ami_secret.get_secret_value(),
            bus=bus,
            agents={a.id: a.pbx_interface() for a in center.agents},
            default_queue=center.queues[0].name,
            transfer_context=settings.ami_transfer_context,
            supervisor_phones={u.login: u.phone for u in center.users if u.phone},
            cdr_file=settings.pbx_cdr_file,
            cdr_timezone=ZoneInfo(settings.pbx_cdr_timezone),
        )
    elif settings.pbx == "twilio":
        from cti.twilio.link import TwilioLink
        from cti.twilio.replay_store import DatabaseReplayLedger

        replay_ledger = DatabaseReplayLedger(sessions, timedelta(seconds=settings.twilio_replay_ttl_s))
        telephony_link = TwilioLink(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            public_base_url=settings.public_base_url or f"http://{settings.web_host}:{settings.web_port}",
            callcenter=center,
            queues=router.config.queues,
            bus=bus,
            clock=clock,
            caller_id=settings.twilio_number,
            api_base_url=settings.twilio_api_base_url,
            ledger=replay_ledger,
        )
    desk = ServiceDesk(sessions, region=settings.default_region, config=desk_config(center))
    intake = CallIntake(desk, settings.default_region)
    acd = AcdService(
        router, telephony_link, control=settings.mode == "control", clock=clock, enrich=intake.offer
    )
    console = ConsoleService(hub, acd, {a.id for a in center.agents}, intake.context_of)
    acd.add_listener(console.on_decision)
    calllog = CallLog(sessions, normalize=intake.normalize_number)
    bus.subscribe("service-desk-offer", intake.on_offered)
    bus.subscribe("acd", acd.handle)
    bus.subscribe("calllog", calllog.handle)
    bus.subscribe("service-desk", intake.on_other)
    bus.subscribe("console", console.handle)
    recordings = build_recordings(
        sessions=sessions,
        root=settings.recordings_dir,
        pbx_folders={ASTERISK_MONITOR: settings.pbx_recordings_dir or settings.recordings_dir / "incoming"},
        checkpoint_key=settings.audit_checkpoint_key.get_secret_value(),
        checkpoint_file=settings.audit_checkpoint_file,
        checkpoint_every_s=settings.audit_checkpoint_every_s,
        settle_s=settings.recordings_settle_s,
    )
    bus.subscribe("recordings", recordings.service.handle)
    wallboard = WallboardService(router, hub, sessions, center, clock)
    acd.add_listener(wallboard.on_decision)
    bus.subscribe("wallboard", wallboard.on_event)
    desk.subscribe(wallboard.on_desk_event)
    if settings.pbx == "twilio":
        _wire_twilio(telephony_link, bus, router, acd, desk, recordings)
    recovery = None
    if telephony_link is not None:
        recovery = StartupRecovery(
            sessions, telephony_link, bus.publish, bus.join, recordings=recordings.recovery
        )
    return Container(
        settings=settings,
        callcenter=center,
        engine=engine,
        sessions=sessions,
        bus=bus,
        hub=hub,
        router=router,
        acd=acd,
        desk=desk,
        intake=intake,
        calllog=calllog,
        console=console,
        link=telephony_link,
        recordings=recordings,
        pbx=pbx,
        wallboard=wallboard,
        replay_ledger=replay_ledger,
        recovery=recovery,
    )


def _wire_twilio(
    link: Any, bus: EventBus, router: Router, acd: AcdService, desk: ServiceDesk, recordings: Recordings
) -> None:
    """The Twilio link's ties: ACD commands and positions, the desk, surveys, recordings.

    Subscribed after the ACD, so a caller's "call me back" key reaches the router
    after their OFFERED did.
    """
    from cti.twilio.desk import TwilioDesk
    from tickets.events import FollowUpDue

    link.bind(
        command=acd.command,
        position=lambda call_id: router.position(call_id, acd.clock()),
        desk=TwilioDesk(desk),
    )
    bus.subscribe("twilio", link.handle)
    recordings.service.add_fetcher("twilio", link.media)  # downloads with the account's credentials
    if link.twiml.ivr.survey.enabled:

        async def survey_when_due(event: object) -> None:
            if isinstance(event, FollowUpDue):
                link.request_survey(event.follow_up_id, event.ticket_id)

        desk.subscribe(survey_when_due)
