"""The composition root: the one place where Hotline's parts are built and wired. Nothing else.

`build(settings)` creates the engine, bus, router, services and telephony link
and connects them; `Container.run()` runs the long-lived tasks (bus workers,
ACD timers, wallboard, the PBX link and in demo mode the simulated PBX) in one
TaskGroup, so they start and stop together and a crash in one is not lost.
Nothing is created at import, and nothing on a call's path runs in here: each
package's own wiring (cti.wiring, recordings.wiring) and services do the work.

Bus subscriber order matters and is fixed in `_subscribe`: first the service
desk's intake of an offered call (customer match, open-or-update ticket: the
context the router and the pop need), then the ACD, the console (pops) and the
wallboard; the call log, the rest of the service desk and recordings run on the
bus's lane behind (cti.bus), so no pop waits for bookkeeping. Events of one call
reach each lane in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from agent_ui.accounts import Accounts
from agent_ui.auth import Authenticator, SignInLimits, build_auth
from agent_ui.center import CenterAdmin, stored_version
from agent_ui.console import ConsoleService
from agent_ui.dbprobe import DatabaseProbe
from agent_ui.hub import Hub, PushHub
from agent_ui.presence import Presence
from agent_ui.recovery import StartupRecovery
from agent_ui.shared_throttle import RedisThrottle
from agent_ui.throttle import Limit, LoginThrottle
from agent_ui.wallboard import CHANNEL as SUPERVISORS
from agent_ui.wallboard import WallboardService
from agent_ui.web_acd import ChannelCommands, NoRouterCommands, RouterCommands, WebAcd
from audit.views import AuditViews
from calls.log import CallLog
from calls.views import CallViews
from cluster.commands import RedisRouterCommands, RouterCommandServer, RouterUnreachable
from cluster.fence import Deposed, Fence
from cluster.fence_db import guard_commits
from cluster.leadership import Elector, ElectorThread, default_holder, tagged_url
from cluster.presence_beat import PresenceBeat, PresenceWatch, worker_name
from cluster.redis_hub import REDIS_DOWN, RedisHub, shared_client
from config.callcenter import CallCenter, load_callcenter
from config.database import create_engine, is_sqlite, session_factory
from config.router import router_config
from config.settings import ProcessRole, Settings
from cti.acd import AcdService
from cti.agent_store import AgentSignInStore
from cti.asterisk import AsteriskLink
from cti.bus import EventBus
from cti.multi import MultiLink
from cti.simulator import SimulatedPbx
from cti.telephony import TelephonyError, TelephonyLink
from cti.twilio.call_store import DatabaseCallStore
from cti.twilio.replay_store import DatabaseReplayLedger
from cti.wiring import Telephony, build_sms, build_telephony, pbx_namer, recording_folders
from recordings.sources import HttpRecordingDownloader
from recordings.views import RecordingViews
from recordings.wiring import ASTERISK_MONITOR, Recordings, build_recordings
from routing import Router
from routing.agent_state import AgentState
from routing.commands import RecordSmsReply, RecordSurveyScore, RequestCallback
from routing.decisions import Decision
from routing.errors import RoutingError
from tickets.config import desk_config
from tickets.events import when_follow_up_due
from tickets.intake import CallIntake
from tickets.ivr import IvrDesk
from tickets.service import ServiceDesk
from tickets.sla import SlaBook
from tickets.views import DeskViews

VIEW_LOOKBACK = 500  # a web worker finds the router's last wallboard view among this many messages
SCHEDULER_GRACE_S = 5.0  # how long a stopping scheduler job may take to unwind its session

log = logging.getLogger(__name__)


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
    hub: PushHub  # Hub (--role all), or RedisHub shared by a router and its web workers
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
    accounts: Accounts  # creating accounts, passwords (the CLI uses the same service)
    presence: Presence  # who is really at a console: sign-out and vanished consoles log agents off
    center_admin: CenterAdmin | None = None  # admins' configuration changes, applied while running
    scheduler: AsyncIOScheduler = field(default_factory=lambda: AsyncIOScheduler(timezone="UTC"))
    recovery: StartupRecovery | None = None  # after the link's first login: what happened while we were down
    replay_ledger: DatabaseReplayLedger | None = None  # Twilio: answered webhooks, purged on a schedule
    call_store: DatabaseCallStore | None = None  # Twilio, --role router: the call book for a standby
    redis: Redis | None = None  # --role router|web: what the processes share besides the database
    elector: ElectorThread | None = None  # --role router: stands by until elected (cluster.leadership)
    commands: RedisRouterCommands | None = None  # --role web: the orders' channel to the router
    command_server: RouterCommandServer | None = None  # --role router: applies the web workers' orders
    # What a deposed router does besides stopping its tasks: the CLI exits the process (a restart
    # stands by again); in-process tests leave it None and see run() raise Deposed.
    on_deposed: Callable[[BaseException], None] | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    recovered: asyncio.Event = field(default_factory=asyncio.Event)  # set once the start-up recovery ran
    database_probe: DatabaseProbe | None = None  # /api/health's own connection, made at its first probe

    @property
    def link(self) -> TelephonyLink | None:
        return self.telephony.link

    @property
    def pbx(self) -> SimulatedPbx | None:
        return self.telephony.pbx

    def install_jobs(self) -> None:
        """The scheduled jobs. Those that act for the whole center (recordings retention and
        checkpoints, the SLA worker, customer notices, the replay purge) run where the ACD runs:
        `--role all`, or the one router (the elected leader), so once cluster-wide; a web worker
        has none of them. The configuration follower runs in every process that has one: it only
        applies the stored call center to that process's memory."""
        if self.settings.role != ProcessRole.WEB:
            self.recordings.schedule(self.scheduler)
            self.desk.sla_worker.install(self.scheduler)
            if self.desk.notices.port is not None:
                self.desk.notices.install(self.scheduler)
            if self.replay_ledger is not None:
                self.replay_ledger.install(self.scheduler)
            if self.call_store is not None:
                self.call_store.install(self.scheduler)
        if self.center_admin is not None:  # `hotline config import` while running: applied live
            self.center_admin.install(self.scheduler)

    async def run(self) -> None:
        if self.settings.role == ProcessRole.WEB:
            await self._serve_web()
            return
        if self.elector is not None:  # --role router: one acts, the others stand by
            self.started.set()  # health answers meanwhile (503: the PBX link is the leader's)
            await self.elector.campaign()
            if isinstance(self.hub, RedisHub):  # before the PBX's resync: what was popped already
                await self._restore_pops(self.hub)
        await asyncio.to_thread(self.recordings.store.sweep_staging)  # leftovers of a crash
        self.install_jobs()
        self.scheduler.start()
        try:
            async with asyncio.TaskGroup() as group:
                if self.elector is not None:
                    group.create_task(self._hold_office(self.elector), name="leadership")
                if isinstance(self.hub, RedisHub):  # the router's pushes go to the web workers
                    group.create_task(self.hub.run(), name="redis-hub")
                if self.command_server is not None:  # the leader only: a standby is still campaigning
                    group.create_task(self.command_server.run(), name="router-commands")
                if self.redis is not None and self.settings.role == ProcessRole.ROUTER:
                    watch = PresenceWatch(self.redis, self.presence, prefix=self.settings.redis_prefix)
                    group.create_task(watch.run(), name="presence-watch")  # consoles of dead workers
                group.create_task(self.bus.run(), name="bus")
                group.create_task(self.acd.run(), name="acd-timers")
                group.create_task(self.wallboard.run(), name="wallboard")
                group.create_task(self.calllog.run(), name="calllog-handlings")
                group.create_task(self.presence.run(), name="presence")
                await self.telephony.start(group)
                if isinstance(self.acd, AcdService) and self.acd.sign_ins is not None:
                    group.create_task(self._restore_then_recover(self.acd), name="startup-recovery")
                elif self.recovery is not None and self.link is not None:
                    group.create_task(
                        self.recovery.run_once_connected(self.link, self.recovered), name="startup-recovery"
                    )
                else:
                    self.recovered.set()
                self.started.set()
        except* Deposed as deposed:  # a fence refused an action or a commit before hold() saw it
            self._deposed(deposed.exceptions[0])
            raise
        finally:
            await stop_scheduler(self.scheduler)

    async def _restore_pops(self, hub: RedisHub) -> None:
        """A new leader reads back the pops the one before sent (ConsoleService.restore); Redis not
        answering is logged, never fatal: the calls the resync finds connected are popped again."""
        try:
            active = await self.console.restore(hub.recent)
            log.info("pops restored from Redis: %d agents with a call in progress", active)
        except REDIS_DOWN:
            log.exception("pops not restored from Redis: calls in progress are popped again")

    async def _restore_then_recover(self, acd: AcdService) -> None:
        """Control mode: once the PBX link's resync is done (its first login), sign the agents
        kept in the database back in (cti.agent_store), then run the start-up recovery. A
        failed read is logged, never fatal: agents then sign in again."""
        link = self.link
        if link is not None:
            while True:
                try:
                    await link.wait_connected(timeout=60)
                    break
                except (TimeoutError, TelephonyError):
                    log.warning("restoring agents' sign-ins waits for the PBX link")
        try:
            restored = await acd.restore_sign_ins()
            log.info("%d agents' sign-ins restored from the database", restored)
        except SQLAlchemyError:
            log.exception("agents' sign-ins not restored: they sign in again")
        if self.recovery is not None and link is not None:
            await self.recovery.run_once_connected(link, self.recovered)
        else:
            self.recovered.set()

    async def _hold_office(self, elector: ElectorThread) -> None:
        """Keep the lock; once deposed, stop at once (the fence already refuses every AMI action
        and commit; the TaskGroup cancels the rest) and hand the decision to `on_deposed`."""
        try:
            await elector.hold()
        except Deposed as exc:
            self._deposed(exc)
            raise

    def _deposed(self, exc: BaseException) -> None:
        log.critical("router deposed: %s; stopping", exc)
        if self.on_deposed is not None:
            self.on_deposed(exc)

    async def _serve_web(self) -> None:
        """A web worker runs no PBX link, bus, ACD or center-wide job (the router does): only the
        configuration follower, until the app stops (cancelled)."""
        self.install_jobs()
        self.scheduler.start()
        try:
            async with asyncio.TaskGroup() as group:
                if isinstance(self.hub, RedisHub):  # the router's pushes, for this worker's consoles
                    self.console.epoch = await self.hub.shared_epoch()
                    group.create_task(self.hub.run(), name="redis-hub")
                if self.commands is not None:  # the router's replies to this worker's orders
                    group.create_task(self.commands.run(), name="router-replies")
                group.create_task(self.presence.run(), name="presence")  # its consoles' log-off timers
                if self.redis is not None:  # the router logs them off if this worker dies
                    beat = PresenceBeat(
                        self.redis,
                        self.presence.agents,
                        prefix=self.settings.redis_prefix,
                        worker=worker_name(),
                    )
                    group.create_task(beat.run(), name="presence-beat")
                self.recovered.set()  # nothing of the PBX to recover here
                self.started.set()
                await asyncio.Event().wait()
        finally:
            if isinstance(self.hub, RedisHub):
                await self.hub.close()
            await stop_scheduler(self.scheduler)

    async def aclose(self) -> None:
        if self.elector is not None:  # the lock goes with the session: a standby takes over at once
            await self.elector.aclose()
        self.auth.close()
        self.desk.close()
        if self.desk.notices.port is not None:  # its HTTP pool would outlive the app
            await self.desk.notices.port.close()
        if self.database_probe is not None:
            await self.database_probe.aclose()
        await self.engine.dispose()
        if self.redis is not None:
            await self.redis.aclose()


async def stop_scheduler(scheduler: AsyncIOScheduler, grace_s: float = SCHEDULER_GRACE_S) -> None:
    """Stop the scheduler and wait (bounded) for the jobs it was running to unwind.

    APScheduler 3's AsyncIOExecutor.shutdown cancels its running jobs' tasks but cannot wait
    for them (it is not a coroutine). A job cancelled mid-query (the SLA tick, the config
    follower) then closes its database connection while `aclose` disposes the engine and the
    loop shuts down: on SQLite that race hung the close for 100 s. Its running tasks are only
    reachable through the executor's `_pending_futures`, read here and nowhere else."""
    running = [
        future
        for executor in getattr(scheduler, "_executors", {}).values()
        for future in getattr(executor, "_pending_futures", ())
        if not future.done()
    ]
    scheduler.shutdown(wait=False)
    if running:
        await asyncio.wait(running, timeout=grace_s)


def build(settings: Settings, *, clock: Callable[[], float] = time.time) -> Container:
    # What admins saved in the database is in force; until then the call-center file.
    stored = stored_version(settings.database_url)
    center = stored.center if stored is not None else load_callcenter(settings.callcenter_file)
    holder = default_holder()  # --role router: its sessions are tagged (a successor ends them)
    engine = create_engine(
        tagged_url(settings.database_url, holder)
        if settings.role == ProcessRole.ROUTER
        else settings.database_url
    )
    sessions = session_factory(engine)
    bus = EventBus(writers_behind=1 if is_sqlite(settings.database_url) else None)  # SQLite: one writer
    redis = _shared_redis(settings)
    channel = (
        RedisRouterCommands(redis, prefix=f"{settings.redis_prefix}cmd:")
        if settings.role == ProcessRole.WEB and redis is not None
        else None
    )
    hub = _hub(settings, redis)
    router = Router(router_config(center, settings.mode))
    desk = ServiceDesk(sessions, region=settings.default_region, config=desk_config(center))
    if desk.config.notifications.sms:  # customer texts: optional per call center
        desk.notices.port = build_sms(settings)
    intake = CallIntake(desk, settings.default_region)
    ivr = IvrDesk(desk)
    ledger = call_store = None
    web = settings.role == ProcessRole.WEB  # no PBX link, no ACD here: the router process holds them
    elector = _elector(settings, engine, holder)
    if settings.pbx == "twilio" and not web:  # the link keeps answered webhooks in the database
        ledger = DatabaseReplayLedger(sessions, timedelta(seconds=settings.twilio_replay_ttl_s))
    if settings.pbx == "twilio" and settings.role == ProcessRole.ROUTER:  # a standby takes the book over
        call_store = DatabaseCallStore(sessions)
    telephony = (
        Telephony(link=None)
        if web
        else build_telephony(
            settings,
            center,
            bus=bus,
            router=router,
            clock=clock,
            desk=ivr,
            replay_ledger=ledger,
            call_store=call_store,
            fence=elector.fence.check if elector is not None else None,
        )
    )
    control = settings.mode == "control"
    acd = (
        WebAcd(router, _router_commands(channel), control=control, clock=clock)
        if web
        else AcdService(
            router,
            telephony.link,
            control=control,
            clock=clock,
            enrich=intake.offer,
            members=telephony.members,
            sign_ins=AgentSignInStore(sessions) if control else None,
        )
    )
    console = ConsoleService(hub, acd, {a.id for a in center.agents}, intake.context_of)
    if channel is not None:  # --role web: the greeting and own-call check ask the router
        console.ask_router = channel.agent_hello
    pbx_of = pbx_namer(settings)
    calllog = CallLog(sessions, normalize=intake.normalize_number, pbx_of=pbx_of)
    recordings = build_recordings(
        sessions=sessions,
        root=settings.recordings_dir,
        pbx_folders=recording_folders(settings, ASTERISK_MONITOR),
        checkpoint_key=settings.audit_checkpoint_key.get_secret_value(),
        checkpoint_file=settings.audit_checkpoint_file,
        checkpoint_every_s=settings.audit_checkpoint_every_s,
        settle_s=settings.recordings_settle_s,
        pbx_of=pbx_of,
    )
    recordings.recovery.link_call = calllog.link_recording  # a file the folder scan adopts: on its call row
    views = Views(CallViews(sessions), DeskViews(sessions), RecordingViews(sessions), AuditViews(sessions))
    wallboard = WallboardService(router, hub, views.desk, center, clock)
    if web and isinstance(hub, RedisHub):  # greet supervisors with the router's view, not this empty one
        wallboard.router_view = _router_view(hub)
    throttle = _shared_throttle(redis, settings.redis_prefix)
    auth = build_auth(sessions, desk.ctx.reads, _sign_in_limits(settings), throttle=throttle)
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
        auth=auth,
        accounts=Accounts(sessions, auth.trail, hasher=auth.passwords.hash, changed=auth.store.forget),
        presence=Presence(
            acd,
            grace_s=settings.presence_grace_s,
            clock=clock,
            state_of=_router_state(channel) if channel is not None else None,
        ),
        recovery=None
        if web
        else StartupRecovery(sessions, bus.publish, bus.join, recordings=recordings.recovery),
        replay_ledger=ledger,
        call_store=call_store,
        redis=redis,
        commands=channel,
        command_server=RouterCommandServer(
            redis, acd.command, query=console.router_hello, prefix=f"{settings.redis_prefix}cmd:"
        )
        if redis is not None and settings.role == ProcessRole.ROUTER
        else None,
        elector=elector,
    )
    container.center_admin = CenterAdmin(
        sessions, container.auth.trail, acd, settings.mode, center, _refresh(container),
        version=stored.version if stored is not None else 0,
    )  # fmt: skip
    _subscribe(container, ivr)
    if settings.pbx == "twilio" and not web:
        _wire_twilio(container)
    return container


def _elector(settings: Settings, engine: AsyncEngine, holder: str) -> ElectorThread | None:
    """--role router elects one leader (PostgreSQL only, which settings enforce); its fence
    guards the AMI actions (build_telephony) and every commit of the router's engine. The
    keepalive runs on a thread of its own: a busy router loop does not lapse its lease."""
    if settings.role != ProcessRole.ROUTER:
        return None
    fence = Fence(lease_s=settings.router_lease_s)
    guard_commits(engine, fence)
    elector = Elector(
        settings.database_url, name="router", holder=holder, fence=fence,
        idle_timeout_s=settings.router_idle_session_timeout_s,
    )  # fmt: skip
    return ElectorThread(elector)


def _first_decision(elector: ElectorThread) -> Callable[[Decision], Awaitable[None]]:
    """One log line at the elected router's first routing decision: what a takeover is measured
    to (tests/bench/bench_takeover.py reads it)."""
    seen: list[bool] = []

    async def heard(decision: Decision) -> None:
        if not seen:
            seen.append(True)
            epoch = elector.leadership.epoch if elector.leadership is not None else None
            log.info(
                "leader epoch %s: first routing decision at %.3f: %s",
                epoch, time.time(), type(decision).__name__,
            )  # fmt: skip

    return heard


def _subscribe(c: Container, ivr: IvrDesk) -> None:
    """Who hears what: bus subscribers in their fixed order, command handlers, decision listeners."""
    c.bus.subscribe("service-desk-offer", c.intake.on_offered)
    c.bus.subscribe("acd", c.acd.handle)
    c.bus.subscribe("console", c.console.handle)
    c.bus.subscribe("wallboard", c.wallboard.on_event)
    # persistence: on the lane behind, so no pop or routing decision waits for a transaction
    # and in batches: what queued meanwhile, across calls, in one transaction per subscriber
    c.bus.subscribe_batch("calllog", c.calllog.handle_batch)
    c.bus.subscribe_batch("service-desk", c.intake.on_other_batch)
    c.bus.subscribe_batch("recordings", c.recordings.service.handle_batch)
    c.bus.handle(RequestCallback, c.acd.command)
    c.bus.handle(RecordSurveyScore, ivr.record_score)
    c.bus.handle(RecordSmsReply, ivr.record_sms_reply)
    c.acd.add_listener(c.console.on_decision)
    c.acd.add_listener(c.wallboard.on_decision)
    c.acd.add_listener(c.calllog.on_decision)
    if isinstance(c.acd, AcdService):
        c.bus.on_publish(c.acd.expect)  # an offer's place in arrival order: as it is published
        # a PBX that restarted forgot app_queue's pauses: told again
        links = c.link.links.values() if isinstance(c.link, MultiLink) else [c.link]
        for link in links:
            if isinstance(link, AsteriskLink):
                link.on_pbx_restart(c.acd.tell_members_again)
    if c.elector is not None:
        c.acd.add_listener(_first_decision(c.elector))
    c.desk.subscribe(c.wallboard.on_desk_event)


def _wire_twilio(c: Container) -> None:
    """Twilio's recordings come over HTTPS with the account's credentials; surveys follow resolved tickets."""
    from cti.twilio.link import TwilioLink  # the SDK only when Twilio is configured

    link = c.link
    assert isinstance(link, TwilioLink)
    c.recordings.service.add_fetcher("twilio", HttpRecordingDownloader(link.http, locate=link.media.locate))
    if link.twiml.ivr.survey.enabled:
        c.desk.subscribe(when_follow_up_due(link.request_survey))


def _refresh(c: Container) -> Callable[[CallCenter], None]:
    """After a configuration change: the readers of the call center see the new one."""

    def applied(center: CallCenter) -> None:
        c.callcenter = center
        c.console.set_agents({a.id for a in center.agents})
        c.wallboard.set_center(center)
        c.desk.ctx.config = desk_config(center)
        c.desk.ctx.sla = SlaBook(c.desk.ctx.config)  # SLA policies: new tickets get the new ones
        if c.settings.pbx == "twilio" and c.link is not None:  # web workers have no link
            _twilio_applied(c, center)

    return applied


def _twilio_applied(c: Container, center: CallCenter) -> None:
    """Twilio's IVR, agents' identities and queues' hours follow the change (the router has it)."""
    from cti.twilio.link import TwilioLink

    link = c.link
    assert isinstance(link, TwilioLink)
    link.reconfigure(center, c.router.config.queues)


def _router_commands(channel: RedisRouterCommands | None) -> RouterCommands:
    """A web worker's orders: over Redis to the router, else refused (503) as unreachable."""
    return ChannelCommands(channel) if channel is not None else NoRouterCommands()


def _shared_redis(settings: Settings) -> Redis | None:
    """One Redis client for what a router and its web workers share (no connection until used);
    one process (`--role all`) shares nothing and has none."""
    if settings.role == ProcessRole.ALL or settings.redis_url is None:
        return None
    return shared_client(settings.redis_url)


def _router_view(hub: RedisHub) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    """--role web: the router's last wallboard view on the supervisors' channel (None: none
    among its recent messages, or Redis not answering)."""

    async def last_view() -> dict[str, Any] | None:
        try:
            recent = (await hub.recent([SUPERVISORS], VIEW_LOOKBACK))[SUPERVISORS]
        except REDIS_DOWN:
            return None
        views = [m for m in recent if m.get("type") == "wallboard"]
        return {k: v for k, v in views[-1].items() if k != "seq"} if views else None

    return last_view


def _router_state(channel: RedisRouterCommands) -> Callable[[str], Awaitable[AgentState | None]]:
    """--role web: an agent's state as the router has it (presence's question), None when no
    router answers; this worker's own ACD holds none."""

    async def state_of(agent_id: str) -> AgentState | None:
        try:
            hello = await channel.agent_hello(agent_id)
            return AgentState(str(hello.get("state")))
        except (RouterUnreachable, RoutingError, ValueError):
            return None

    return state_of


def _hub(settings: Settings, redis: Redis | None) -> PushHub:
    """The live push: this process's memory when it is the only one; else Redis Streams, which
    the router only writes (its pops, the wallboard) and each web worker reads for its consoles."""
    if redis is None:
        return Hub()
    return RedisHub(redis, read=settings.role == ProcessRole.WEB, prefix=f"{settings.redis_prefix}hub:")


def _shared_throttle(
    redis: Redis | None, prefix: str
) -> Callable[[Mapping[str, Limit]], LoginThrottle] | None:
    """Several processes: one sign-in count in Redis (None: this process's memory)."""
    if redis is None:
        return None
    return lambda limits: RedisThrottle(redis, limits, prefix=f"{prefix}signin:")


def _sign_in_limits(settings: Settings) -> SignInLimits:
    window = settings.signin_window_s
    return SignInLimits(
        per_login=Limit(settings.signin_attempts_per_login, window),
        per_address=Limit(settings.signin_attempts_per_address, window),
    )
