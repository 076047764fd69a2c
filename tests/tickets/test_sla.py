"""SLA timers in virtual time: business hours, warnings, breaches, waiting, restarts, several workers."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from config.database import create_engine, session_factory
from tests.tickets.conftest import AGENT, T0, FakeClock
from tickets.calendar import BusinessCalendar
from tickets.config import CalendarSpec, DeskConfig, SlaPolicySpec, parse_desk_config
from tickets.events import DeskEvent, SlaBreached, SlaWarned
from tickets.models import CustomerTier, SlaStatus, TicketPriority
from tickets.schemas import CustomerCreate, TicketCreate
from tickets.service import ServiceDesk
from tickets.sla import match_policy
from tickets.sla_worker import JOB_ID

SHANGHAI = CalendarSpec(holidays=[date(2026, 12, 7)], workdays=[date(2026, 12, 12)])


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """December 2026, Asia/Shanghai (UTC+8) wall time as UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (local(1, 9), 4, local(1, 13)),  # Tuesday morning
        (local(1, 17), 4, local(2, 12)),  # over the night
        (local(4, 17), 4, local(8, 12)),  # Friday → Monday is a holiday → Tuesday
        (local(11, 17), 4, local(12, 12)),  # Friday → Saturday is a make-up workday (调休)
        (local(5, 10), 1, local(8, 10)),  # reported on Saturday: clock starts Tuesday 09:00
        (local(1, 20), 9, local(2, 18)),  # after hours: a whole next day
    ],
)
def test_business_time_skips_nights_weekends_and_holidays(
    start: datetime, hours: float, expected: datetime
) -> None:
    calendar = BusinessCalendar(SHANGHAI)
    assert calendar.add(start, timedelta(hours=hours)) == expected
    assert calendar.between(start, expected) == timedelta(hours=hours)


POLICIES = [
    SlaPolicySpec(name="default", accept_within_min=30, resolve_within_min=8 * 60),
    SlaPolicySpec(name="vip", tiers=[CustomerTier.VIP], accept_within_min=10, business_hours=False),
    SlaPolicySpec(
        name="vip-urgent-repair",
        categories=["repair"],
        priorities=[TicketPriority.URGENT],
        tiers=[CustomerTier.VIP],
        accept_within_min=5,
        dispatch_within_min=30,
        resolve_within_min=240,
    ),
]


@pytest.mark.parametrize(
    ("category", "priority", "tier", "name"),
    [
        ("general", TicketPriority.NORMAL, None, "default"),
        ("repair", TicketPriority.URGENT, CustomerTier.VIP, "vip-urgent-repair"),
        ("repair", TicketPriority.NORMAL, CustomerTier.VIP, "vip"),
        ("repair", TicketPriority.URGENT, CustomerTier.ORDINARY, "default"),
    ],
)
def test_the_most_specific_matching_policy_wins(
    category: str, priority: TicketPriority, tier: CustomerTier | None, name: str
) -> None:
    policy = match_policy(POLICIES, category, priority, tier)
    assert policy is not None and policy.name == name


def test_a_policy_without_targets_is_refused_with_its_place() -> None:
    with pytest.raises(ValueError, match=r"service_desk\.sla_policies\.0"):
        parse_desk_config({"sla_policies": [{"name": "empty"}]})


@pytest.fixture
def desk_config() -> DeskConfig:
    return DeskConfig(
        calendar=SHANGHAI,
        sla_policies=[
            SlaPolicySpec(
                name="standard",
                accept_within_min=30,
                dispatch_within_min=120,
                resolve_within_min=240,
                warn_before_min=10,
            )
        ],
    )


def _sla_events(events: list[DeskEvent]) -> list[tuple[str, str]]:
    return [(type(e).__name__, e.stage) for e in events if isinstance(e, SlaWarned | SlaBreached)]


async def test_warning_then_breach_in_virtual_time_and_breached_stays_breached(
    desk: ServiceDesk, clock: FakeClock, published: list[DeskEvent]
) -> None:
    ticket = await desk.tickets.create(TicketCreate(subject="停电"), AGENT)  # Tue 09:00
    assert ticket.accept_due_at == T0 + timedelta(minutes=30) and ticket.sla_status is SlaStatus.OK
    clock.advance(minutes=19)
    await desk.sla_worker.tick()
    assert _sla_events(published) == []
    clock.advance(minutes=1)  # 09:20: ten minutes before the accept deadline
    await desk.sla_worker.tick()
    assert _sla_events(published) == [("SlaWarned", "accept")]
    assert (await desk.tickets.get(ticket.id)).sla_status is SlaStatus.WARNING
    clock.advance(minutes=10)
    await desk.sla_worker.tick()
    await desk.sla_worker.tick()  # a second run at the same instant fires nothing more
    assert _sla_events(published)[1:] == [("SlaBreached", "accept")]
    after = await desk.tickets.get(ticket.id)
    accepted = await desk.tickets.accept(ticket.id, version=after.version, actor=AGENT)
    assert accepted.sla_status is SlaStatus.BREACHED  # accepting late does not undo the breach
    timeline = [e.kind for e in await desk.timeline.for_ticket(ticket.id)]
    assert timeline.count("sla_breach") == 1 and timeline.count("sla_warning") == 1


async def test_a_late_transition_still_records_the_breach_the_worker_had_not_seen(
    desk: ServiceDesk, clock: FakeClock, published: list[DeskEvent]
) -> None:
    ticket = await desk.tickets.create(TicketCreate(subject="late"), AGENT)
    clock.advance(minutes=31)  # the worker did not run in between
    accepted = await desk.tickets.accept(ticket.id, version=1, actor=AGENT)
    assert accepted.sla_status is SlaStatus.BREACHED
    assert ("SlaBreached", "accept") in _sla_events(published)


async def test_accepting_in_time_clears_the_warning_and_tracks_the_next_stage(
    desk: ServiceDesk, clock: FakeClock
) -> None:
    ticket = await desk.tickets.create(TicketCreate(subject="in time"), AGENT)
    clock.advance(minutes=25)
    await desk.sla_worker.tick()
    accepted = await desk.tickets.accept(ticket.id, version=2, actor=AGENT)
    assert accepted.sla_status is SlaStatus.OK
    clock.advance(minutes=90)  # 10:55: five minutes before the dispatch deadline (11:00)
    await desk.sla_worker.tick()
    assert (await desk.tickets.get(ticket.id)).sla_status is SlaStatus.WARNING


async def test_deadlines_count_business_hours_only(desk: ServiceDesk, clock: FakeClock) -> None:
    clock.now = local(4, 17, 45)  # Friday 17:45; Monday is a holiday
    ticket = await desk.tickets.create(TicketCreate(subject="weekend"), AGENT)
    assert ticket.accept_due_at == local(8, 9, 15)
    clock.now = local(7, 23)  # the holiday night: not due yet
    assert await desk.sla_worker.tick() == 0
    assert (await desk.tickets.get(ticket.id)).sla_status is SlaStatus.OK


async def test_time_waiting_on_the_customer_is_not_counted(desk: ServiceDesk, clock: FakeClock) -> None:
    ticket = await desk.tickets.create(TicketCreate(subject="waiting"), AGENT)
    accepted = await desk.tickets.accept(ticket.id, version=1, actor=AGENT)
    clock.advance(minutes=60)
    waiting = await desk.tickets.set_waiting(
        ticket.id, True, version=accepted.version, actor=AGENT, reason="客户出差"
    )
    clock.advance(hours=5)  # past every deadline, but waiting
    await desk.sla_worker.tick()
    assert (await desk.tickets.get(ticket.id)).sla_status is SlaStatus.OK
    resumed = await desk.tickets.set_waiting(ticket.id, False, version=waiting.version, actor=AGENT)
    assert resumed.resolve_due_at == T0 + timedelta(minutes=240, hours=5)
    assert resumed.sla_status is SlaStatus.OK


async def test_a_restart_loses_no_timer(
    database_url: str, sessions: async_sessionmaker[AsyncSession], desk_config: DeskConfig
) -> None:
    clock = FakeClock()
    before = ServiceDesk(sessions, config=desk_config, clock=clock)
    ticket = await before.tickets.create(TicketCreate(subject="restart"), AGENT)
    # The process stops; time passes; a new process with its own engine and scheduler starts.
    clock.advance(hours=3)
    engine = create_engine(database_url)
    try:
        after = ServiceDesk(session_factory(engine), config=desk_config, clock=clock)
        fired: list[DeskEvent] = []

        async def listen(event: DeskEvent) -> None:
            fired.append(event)

        after.subscribe(listen)
        await after.sla_worker.tick()
        await after.sla_worker.tick()
        assert _sla_events(fired) == [("SlaBreached", "accept"), ("SlaBreached", "dispatch")]
        assert (await after.tickets.get(ticket.id)).sla_status is SlaStatus.BREACHED
    finally:
        await engine.dispose()


async def test_several_workers_never_fire_one_checkpoint_twice(
    database_url: str, desk_config: DeskConfig, clock: FakeClock, desk: ServiceDesk
) -> None:
    for n in range(20):
        await desk.tickets.create(TicketCreate(subject=f"t{n}"), AGENT)
    clock.advance(minutes=45)
    engines = [create_engine(database_url) for _ in range(3)]
    fired: list[DeskEvent] = []

    async def listen(event: DeskEvent) -> None:
        fired.append(event)

    try:
        workers = []
        for engine in engines:
            worker_desk = ServiceDesk(session_factory(engine), config=desk_config, clock=clock)
            worker_desk.subscribe(listen)
            workers.append(worker_desk.sla_worker)
        await asyncio.gather(*(w.tick() for w in workers))
    finally:
        for engine in engines:
            await engine.dispose()
    breaches = [(e.ticket_id, e.stage) for e in fired if isinstance(e, SlaBreached)]
    assert len(breaches) == 20 and len(set(breaches)) == 20


async def test_the_job_is_installed_once_with_a_misfire_grace_time(desk: ServiceDesk) -> None:
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start(paused=True)
    try:
        desk.sla_worker.install(scheduler, interval_s=10)
        desk.sla_worker.install(scheduler, interval_s=10)  # a restart re-adds it
        jobs = scheduler.get_jobs()
    finally:
        scheduler.shutdown(wait=False)
    assert [j.id for j in jobs] == [JOB_ID]
    assert jobs[0].misfire_grace_time == 40 and jobs[0].coalesce


async def test_vip_policy_applies_once_the_customer_is_known(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    config = DeskConfig(calendar=SHANGHAI, sla_policies=POLICIES)
    desk = ServiceDesk(sessions, config=config, clock=clock)
    vip = await desk.customers.create(CustomerCreate(name="VIP", tier=CustomerTier.VIP), AGENT)
    ticket = await desk.tickets.create(TicketCreate(subject="vip", customer_id=vip.id), AGENT)
    assert ticket.sla_policy == "vip" and ticket.accept_due_at == T0 + timedelta(minutes=10)


async def test_a_breach_escalates_by_flagging_the_ticket_for_supervisors(
    desk: ServiceDesk, clock: FakeClock
) -> None:
    ticket = await desk.tickets.create(TicketCreate(subject="escalate"), AGENT)
    clock.advance(minutes=31)
    await desk.sla_worker.tick()
    after = await desk.tickets.get(ticket.id)
    assert after.flagged and after.flag_reason == "SLA breach: accept"
    assert [t.id for t in (await desk.timeline.search(flagged=True)).items] == [ticket.id]


async def test_reopening_after_the_resolve_deadline_records_that_breach(
    desk: ServiceDesk, clock: FakeClock, published: list[DeskEvent]
) -> None:
    ticket = await desk.tickets.create(TicketCreate(subject="reopen"), AGENT)
    await desk.tickets.accept(ticket.id, version=1, actor=AGENT)
    clock.advance(minutes=20)
    await desk.tickets.resolve(ticket.id, version=2, actor=AGENT)
    clock.advance(hours=6)  # past the resolve deadline while resolved: nothing to breach
    await desk.sla_worker.tick()
    assert _sla_events(published) == []
    reopened = await desk.tickets.reopen(ticket.id, version=3, actor=AGENT)
    assert reopened.sla_status is SlaStatus.BREACHED
    assert _sla_events(published) == [("SlaBreached", "resolve")]
