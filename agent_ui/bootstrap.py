"""The composition root: the one place where Hotline's parts are built and wired. Nothing else.

`build(settings)` creates the engine, bus, router, services and telephony link
and connects them; `Container.run()` runs the long-lived tasks (bus workers,
ACD timers, wallboard, the PBX link and in demo mode the simulated PBX) in one
TaskGroup, so they start and stop together and a crash in one is not lost.
Nothing is created at import, and nothing on a call's path runs in here: each
package's own wiring (cti.wiring, recordings.wiring) and services do the work.

Bus subscriber order matters and is fixed in `_subscribe`: first the service
desk's intake of an offered call (customer match, open-or-update ticket: the
context the router and the pop need), then the ACD (routing must not wait for
bookkeeping), then the call log, the rest of the service desk, the console
(pops), recordings and the wallboard. Events of one call reach them in order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.auth import Authenticator, SignInLimits, build_auth
from agent_ui.console import ConsoleService
from agent_ui.hub import Hub
from agent_ui.recovery import StartupRecovery
from agent_ui.throttle import Limit
from agent_ui.wallboard import WallboardService
from audit.views import AuditViews
from calls.log import CallLog
from calls.views import CallViews
from config.callcenter import CallCenter, load_callcenter
from config.database import create_engine, session_factory
from config.router import router_config
from config.settings import Settings
from cti.acd import AcdService
from cti.bus import EventBus
from cti.simulator import SimulatedPbx
from cti.telephony import TelephonyLink
from cti.twilio.replay_store import DatabaseReplayLedger
from cti.wiring import Telephony, build_telephony
from recordings.sources import HttpRecordingDownloader
from recordings.views import RecordingViews
from recordings.wiring import ASTERISK_MONITOR, Recordings, build_recordings
from routing import Router
from routing.commands import RecordSurveyScore, RequestCallback
from tickets.config import desk_config
from tickets.events import when_follow_up_due
from tickets.intake import CallIntake
from tickets.ivr import IvrDesk
from tickets.service import ServiceDesk
from tickets.views import DeskViews


@dataclass(frozen=True, slots=True)
class Views:
    """Each package's read side, for the routes (they never select() another package's tables)."""

    calls: CallViews
    desk: DeskViews
    recordings: RecordingViews
    audit: AuditViews


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
    telephony: Telephony
    recordings: Recordings
    views: Views
    auth: Authenticator  # sign-in, sessions, their websockets
    scheduler: AsyncIOScheduler = field(default_factory=lambda: AsyncIOScheduler(timezone="UTC"))
    recovery: StartupRecovery | None = None  # after the link's first login: what happened while we were down
    replay_ledger: DatabaseReplayLedger | None = None  # Twilio: answered webhooks, purged on a schedule
    started: asyncio.Event = field(default_factory=asyncio.Event)
    recovered: asyncio.Event = field(default_factory=asyncio.Event)  # set once the start-up recovery ran

    @property
    def link(self) -> TelephonyLink | None:
        return self.telephony.link

    @property
    def pbx(self) -> SimulatedPbx | None:
        return self.telephony.pbx

    async def run(self) -> None:
        await asyncio.to_thread(self.recordings.store.sweep_staging)  # leftovers of a crash
        self.recordings.schedule(self.scheduler)
        self.desk.sla_worker.install(self.scheduler)
        if self.replay_ledger is not None:
            self.replay_ledger.install(self.scheduler)
        self.scheduler.start()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.bus.run(), name="bus")
                group.create_task(self.acd.run(), name="acd-timers")
                group.create_task(self.wallboard.run(), name="wallboard")
                await self.telephony.start(group)
                if self.recovery is not None and self.link is not None:
                    group.create_task(
                        self.recovery.run_once_connected(self.link, self.recovered), name="startup-recovery"
                    )
                else:
                    self.recovered.set()
                self.started.set()
        finally:
            self.scheduler.shutdown(wait=False)

    async def aclose(self) -> None:
        self.auth.close()
        self.desk.close()
        await self.engine.dispose()


def build(settings: Settings, *, clock: Callable[[], float] = time.time) -> Container:
    center = load_callcenter(settings.callcenter_file)
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    bus = EventBus()
    hub = Hub()
    router = Router(router_config(center, settings.mode))
    desk = ServiceDesk(sessions, region=settings.default_region, config=desk_config(center))
    intake = CallIntake(desk, settings.default_region)
    ivr = IvrDesk(desk)
    ledger = None
    if settings.pbx == "twilio":  # the link keeps answered webhooks in the database across restarts
        ledger = DatabaseReplayLedger(sessions, timedelta(seconds=settings.twilio_replay_ttl_s))
    telephony = build_telephony(
        settings, center, bus=bus, router=router, clock=clock, desk=ivr, replay_ledger=ledger
    )
    acd = AcdService(
        router, telephony.link, control=settings.mode == "control", clock=clock, enrich=intake.offer
    )
    console = ConsoleService(hub, acd, {a.id for a in center.agents}, intake.context_of)
    calllog = CallLog(sessions, normalize=intake.normalize_number)
    recordings = build_recordings(
        sessions=sessions,
        root=settings.recordings_dir,
        pbx_folders={ASTERISK_MONITOR: settings.pbx_recordings_dir or settings.recordings_dir / "incoming"},
        checkpoint_key=settings.audit_checkpoint_key.get_secret_value(),
        checkpoint_file=settings.audit_checkpoint_file,
        checkpoint_every_s=settings.audit_checkpoint_every_s,
        settle_s=settings.recordings_settle_s,
    )
    views = Views(CallViews(sessions), DeskViews(sessions), RecordingViews(sessions), AuditViews(sessions))
    wallboard = WallboardService(router, hub, views.desk, center, clock)
    container = Container(
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
        wallboard=wallboard,
        telephony=telephony,
        recordings=recordings,
        views=views,
        auth=build_auth(sessions, desk.ctx.reads, _sign_in_limits(settings)),
        recovery=StartupRecovery(sessions, bus.publish, bus.join, recordings=recordings.recovery),
        replay_ledger=ledger,
    )
    _subscribe(container, ivr)
    if settings.pbx == "twilio":
        _wire_twilio(container)
    return container


def _subscribe(c: Container, ivr: IvrDesk) -> None:
    """Who hears what: bus subscribers in their fixed order, command handlers, decision listeners."""
    c.bus.subscribe("service-desk-offer", c.intake.on_offered)
    c.bus.subscribe("acd", c.acd.handle)
    c.bus.subscribe("calllog", c.calllog.handle)
    c.bus.subscribe("service-desk", c.intake.on_other)
    c.bus.subscribe("console", c.console.handle)
    c.bus.subscribe("recordings", c.recordings.service.handle)
    c.bus.subscribe("wallboard", c.wallboard.on_event)
    c.bus.handle(RequestCallback, c.acd.command)
    c.bus.handle(RecordSurveyScore, ivr.record_score)
    c.acd.add_listener(c.console.on_decision)
    c.acd.add_listener(c.wallboard.on_decision)
    c.desk.subscribe(c.wallboard.on_desk_event)


def _wire_twilio(c: Container) -> None:
    """Twilio's recordings come over HTTPS with the account's credentials; surveys follow resolved tickets."""
    from cti.twilio.link import TwilioLink  # the SDK only when Twilio is configured

    link = c.link
    assert isinstance(link, TwilioLink)
    c.recordings.service.add_fetcher("twilio", HttpRecordingDownloader(link.http, locate=link.media.locate))
    if link.twiml.ivr.survey.enabled:
        c.desk.subscribe(when_follow_up_due(link.request_survey))


def _sign_in_limits(settings: Settings) -> SignInLimits:
    window = settings.signin_window_s
    return SignInLimits(
        per_login=Limit(settings.signin_attempts_per_login, window),
        per_address=Limit(settings.signin_attempts_per_address, window),
    )
